"""Full mode on a tiny local model and fixtures in the real datasets' formats: the same functions as the
lite chapters, with hub data (data.source), chat SFT data (sft.dataset), a hub-style policy folder, and
an evaluation that knows no r* (the proxy's verdict, length and KL only)."""

import os

import pytest

from rlhf_lite.config import Config
from rlhf_lite.data.sources import SOURCES
from rlhf_lite.io import read_jsonl
from rlhf_lite.policy.sft import chat_sft_records


@pytest.fixture(scope="module")
def full_cfg(root, tmp_path_factory, pi0_artifacts):
    hub = root / "tests" / "fixtures" / "hub"
    paths = {n: str(hub / n) for n in os.listdir(hub) if n in SOURCES}
    return Config.preset("ci", **{
        "policy": str(pi0_artifacts.init),  # stands in for a hub model: a local folder with config and tokenizer
        "sft.dataset": str(hub / "sft-chat"), "sft.num_demos": 0, "sft.epochs": 1.0,
        "data.source": "hub", "data.local_paths": paths, "data.iterations": 2, "data.prompts_per_iteration": 2,
        "eval_prompts": 2, "online.validation_prompts": 2, "online.iterations": 1, "online.eval_n": 2,
        "sampling.n": 4, "reward.epochs": 1.0})


def test_chat_sft_records_split_the_last_assistant_turn_and_skip_what_is_not_chat(root):
    recs = chat_sft_records(root / "tests/fixtures/hub/sft-chat")
    assert len(recs) == 7  # 10 rows: one without an answer, one empty, one in another format
    multi = [r for r in recs if r["completion"][0]["content"] == "Green."][0]
    assert [m["content"] for m in multi["prompt"]] == ["Name a colour.", "Blue.", "Another?"]
    assert len(chat_sft_records(root / "tests/fixtures/hub/sft-chat", limit=3)) == 3
    with pytest.raises(ValueError, match="'messages' list ending in an assistant"):
        chat_sft_records(root / "tests/fixtures/hub/hh-rlhf")


def test_hub_data_holds_out_evaluation_and_validation_prompts_from_every_split(full_cfg):
    from rlhf_lite.data.filters import normalise_text
    from rlhf_lite.data.schema import prompt_text
    from rlhf_lite.stages import eval_prompts, prepare_preference_data, validation_prompts

    data = prepare_preference_data(full_cfg, log=lambda *a: None)
    splits = [r["prompt"] for r in read_jsonl(data.prompt_splits)]
    held = eval_prompts(full_cfg) + validation_prompts(full_cfg)
    assert len(splits) == 4 and len(held) == 4 and all(isinstance(p, list) for p in held)
    key = lambda p: normalise_text(prompt_text(p))  # noqa: E731
    assert not {key(p) for p in splits} & {key(p) for p in held}


def test_the_loop_runs_in_full_mode_and_reports_the_proxy_not_a_truth_it_lacks(full_cfg):
    from rlhf_lite.online.loop import run_online

    run = run_online(full_cfg, seed=0, progress=False, log=lambda *a: None)
    last = run.evals[-1]
    assert "win_rate" not in last and "reward" not in last and last["by_family"] == {}
    assert {"proxy_win_rate", "kl", "length"} <= set(last)
    samples = read_jsonl(run.root / "iter1" / "samples.jsonl")
    assert all(r["true_reward"] is None and isinstance(r["prompt"], list) for r in samples)
    sft_rows = read_jsonl(run.pi0.parent / "data" / "sft_train.jsonl")
    assert all(isinstance(r["prompt"], list) and r["completion"][0]["role"] == "assistant" for r in sft_rows)


def test_the_judge_never_trains_on_held_out_prompts_in_full_mode(full_cfg):
    from datasets import load_from_disk

    from rlhf_lite.data.filters import normalise_text
    from rlhf_lite.data.schema import prompt_text
    from rlhf_lite.stages import held_out_prompts, prepare_preference_data, prepare_reward_models

    key = lambda p: normalise_text(prompt_text(p))  # noqa: E731
    held = {key(p) for w in ("eval", "validation") for p in held_out_prompts(full_cfg, w)}
    mix2 = load_from_disk(str(prepare_preference_data(full_cfg, log=lambda *a: None).mixtures["mix2"])).to_list()
    overlap = sum(key(p["prompt"]) in held for p in mix2)
    assert overlap > 0  # held-out prompts are drawn from the same pool as MIX2's
    trained = prepare_reward_models(full_cfg, ["bt-mix2"], progress=False, log=lambda *a: None).metrics["bt-mix2"]
    assert trained["pairs"] == len(mix2) - overlap
