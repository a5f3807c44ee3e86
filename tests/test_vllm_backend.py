"""The vLLM backend without a GPU: sharding, requests, sampling parameters, and vLLM's outputs converted
into the loop's records (a fixture recorded with vLLM 0.33.0's own classes; vllm.LLM itself needs a GPU)."""

import json
import os
import sys

import pytest

from rlhf_lite.config import Config
from rlhf_lite.policy.sampling import encode_prompts
from rlhf_lite.policy.vllm_backend import INSTALL_HINT, build_requests, run_data_parallel, shard, to_generations
from rlhf_lite.world.tokenizer import build_tokenizer

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "vllm", "request_outputs.json")


class Obj:
    """Attribute access over a recorded dict, as vLLM's RequestOutput / CompletionOutput give it."""

    def __init__(self, d):
        self.__dict__.update({k: [Obj(x) for x in v] if k == "outputs" else v for k, v in d.items()})


def recorded():
    with open(FIXTURE) as f:
        return json.load(f)


PROMPTS = recorded()["prompts"]  # the lite prompts the fixture was recorded for


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 20_001])
@pytest.mark.parametrize("parts", [1, 3, 8])
def test_shards_keep_every_prompt_in_order(n, parts):
    items = list(range(n))
    blocks = shard(items, parts)
    assert len(blocks) == parts and [x for b in blocks for x in b] == items
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def test_requests_use_the_same_tokens_as_the_transformers_sampler_and_the_recorded_params():
    tok = build_tokenizer()
    reqs, params = build_requests(tok, PROMPTS, 2, 0.7, 6, seed=3)
    assert [r["prompt_token_ids"] for r in reqs] == encode_prompts(tok, PROMPTS)
    # these parameters went through vLLM 0.33.0's SamplingParams, which validates and normalises its input
    # (top_k -1 and 0 both mean "off"; a seed of -1 becomes None), and came back unchanged
    assert params == recorded()["sampling_params"]
    assert len({p["seed"] for p in params}) == len(PROMPTS)
    # a shard starting at prompt 1 gives prompt 1 the seed it has in the whole list
    _, part = build_requests(tok, PROMPTS[1:], 2, 0.7, 6, seed=3, first_index=1)
    assert part == params[1:]
    with pytest.raises(ValueError, match="temperature > 0"):
        build_requests(tok, PROMPTS, 2, 0.0, 6, seed=3)


def test_recorded_outputs_become_the_loops_generations():
    tok = build_tokenizer()
    gens = to_generations([Obj(r) for r in recorded()["request_outputs"]], n=2)
    # completions come back sorted by their index (the second request's were recorded in reverse)
    texts = [[g.text for g in row] for row in gens]
    assert [row[1].startswith("sorry") for row in texts] == [True, True, True]
    for row in gens:
        for g in row:
            # as HFSampler: the ids end with EOS exactly when the model stopped, and decode to the text
            assert g.finished == (g.token_ids[-1] == tok.eos_token_id)
            assert tok.decode(list(g.token_ids), skip_special_tokens=True).strip() == g.text
    assert [g.finished for g in gens[1]] == [True, False]  # finish_reason "length": cut at max_tokens


def test_wrong_counts_and_unfinished_requests_are_refused():
    outs = [Obj(r) for r in recorded()["request_outputs"]]
    with pytest.raises(ValueError, match="expected n=3"):
        to_generations(outs, n=3)
    outs[0].outputs[0].finish_reason = "abort"
    with pytest.raises(RuntimeError, match="'abort'"):
        to_generations(outs, n=2)


def fake_replica(prompts, first_index, tag):
    """Stands in for one vLLM replica: returns what it saw, per prompt."""
    return [(p, first_index + i, os.environ.get("CUDA_VISIBLE_DEVICES"), tag) for i, p in enumerate(prompts)]


def test_data_parallel_replicas_get_their_own_gpus_and_every_prompt_comes_back_in_order():
    prompts = [f"p{i}" for i in range(10)]
    rows = run_data_parallel(prompts, replicas=3, gpus_per_replica=2, worker=fake_replica, tag="x")
    assert [r[0] for r in rows] == prompts and [r[1] for r in rows] == list(range(10))
    assert [r[2] for r in rows] == ["0,1"] * 4 + ["2,3"] * 3 + ["4,5"] * 3


def test_replicas_use_the_gpus_the_job_was_given(monkeypatch):
    from rlhf_lite.policy.vllm_backend import visible_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")  # e.g. a scheduler's allocation
    rows = run_data_parallel(list("abcd"), replicas=2, gpus_per_replica=2, worker=fake_replica, tag="x")
    assert [r[2] for r in rows] == ["4,5", "4,5", "6,7", "6,7"]
    with pytest.raises(ValueError, match="needs 6 GPUs, but only 4 are visible"):
        visible_gpus(6)


def test_choosing_vllm_without_it_says_how_to_install(monkeypatch):
    from rlhf_lite.online.loop import make_generator

    monkeypatch.setitem(sys.modules, "vllm", None)  # as on a machine without vLLM, whatever this one has
    with pytest.raises(ImportError, match=r"pip install -e '\.\[full\]'"):
        make_generator(Config.preset("ci", **{"sampling.backend": "vllm"}))
    assert "GPU" in INSTALL_HINT
    with pytest.raises(ValueError, match="'hf' or 'vllm'"):
        make_generator(Config.preset("ci", **{"sampling.backend": "tgi"}))
