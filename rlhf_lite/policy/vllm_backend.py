"""The vLLM generation backend: the same :class:`~rlhf_lite.policy.sampling.Generator` interface, on GPUs.

The paper generates its 20K x n responses per iteration with vLLM (Section 3.3). ``VLLMSampler`` builds
one ``vllm.LLM`` per model replica (``sampling.tensor_parallel`` GPUs each) and sends every prompt as
token ids made by the same chat template as the transformers sampler, with its own
``SamplingParams(n, temperature, max_tokens, seed, top_p=1, top_k=0)``: no top-k/top-p, as in the paper,
and a per-prompt seed, so a prompt's samples do not depend on which other prompts share its batch.

Data parallelism (``sampling.data_parallel`` replicas) shards the prompts into contiguous blocks whose
sizes differ by at most one, runs each replica in its own process with its own GPUs (from the job's
CUDA_VISIBLE_DEVICES), and concatenates the results in prompt order. A single replica runs in its own
process too, so the engine's memory is released before the reward model and DPO need the GPU. Online-RLHF's generation script gives every shard ``int(N / world_size)``
prompts and silently drops the remainder (generation/gen_hf2.py); here every prompt is kept (a test checks).

vLLM needs a CUDA GPU and pins its own torch, so it is an optional extra (``pip install -e '.[full]'``).
Everything that does not need a GPU is tested without it: sharding, the requests and their sampling
parameters, and the conversion of vLLM's outputs into the loop's :class:`~rlhf_lite.policy.sampling.Generation`.

Why our own code: vLLM samples; routing prompts to replicas without loss and converting its outputs into
the loop's records is glue that neither vLLM nor TRL provides for offline batch generation.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

from rlhf_lite.policy.sampling import Generation, encode_prompts

INSTALL_HINT = ("sampling.backend 'vllm' needs vLLM, which runs on CUDA GPUs: on a GPU machine, "
                "pip install -e '.[full]' (README, 'Full scale'); or set sampling.backend: hf.")


def shard(items: Sequence, parts: int) -> list[list]:
    """``parts`` contiguous blocks covering every item in order; sizes differ by at most one."""
    if parts < 1:
        raise ValueError(f"shard needs parts >= 1, got {parts}.")
    k, r = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + k + (i < r)
        out.append(list(items[start:end]))
        start = end
    return out


def sampling_kwargs(n: int, temperature: float, max_new_tokens: int, seed: int, stop_token_ids: Sequence[int]) -> dict:
    """Keyword arguments of ``vllm.SamplingParams`` for one prompt: pure sampling at ``temperature``."""
    if n < 1 or max_new_tokens < 1 or temperature <= 0:
        raise ValueError(f"vLLM sampling needs n >= 1, max_new_tokens >= 1 and temperature > 0; "
                         f"got n={n}, max_new_tokens={max_new_tokens}, temperature={temperature}.")
    return {"n": n, "temperature": temperature, "top_p": 1.0, "top_k": 0, "max_tokens": max_new_tokens,
            "seed": seed, "stop_token_ids": sorted(set(stop_token_ids))}


def build_requests(tokenizer, prompts: Sequence, n: int, temperature: float, max_new_tokens: int,
                   seed: int, first_index: int = 0) -> tuple[list[dict], list[dict]]:
    """(prompts as vLLM ``TokensPrompt`` dicts, one ``SamplingParams`` kwargs dict per prompt). Prompt i of
    the whole list (``first_index`` + its place in this shard) gets seed ``seed * 100_003 + i``, so the
    samples do not depend on how many replicas share the work; tokens are ``encode_prompts``'s."""
    eos = tokenizer.eos_token_id
    stops = [eos] if isinstance(eos, int) else list(eos or [])
    reqs = [{"prompt_token_ids": ids} for ids in encode_prompts(tokenizer, prompts)]
    params = [sampling_kwargs(n, temperature, max_new_tokens, seed * 100_003 + first_index + i, stops)
              for i in range(len(prompts))]
    return reqs, params


def to_generations(outputs: Sequence, n: int) -> list[list[Generation]]:
    """vLLM ``RequestOutput`` objects (in prompt order, as ``LLM.generate`` returns them) -> for each prompt,
    n :class:`Generation`. vLLM's ``token_ids`` end with the stop token when ``finish_reason`` is "stop"
    (its ``text`` leaves it out), as the transformers sampler's do."""
    result = []
    for i, req in enumerate(outputs):
        comps = sorted(req.outputs, key=lambda c: c.index)
        if len(comps) != n:
            raise ValueError(f"vLLM returned {len(comps)} completions for prompt {i} (request {req.request_id}), "
                             f"expected n={n}.")
        bad = [c.finish_reason for c in comps if c.finish_reason not in ("stop", "length")]
        if bad:
            raise RuntimeError(f"vLLM did not finish prompt {i} (request {req.request_id}): finish_reason {bad[0]!r}.")
        result.append([Generation(c.text.strip(), tuple(c.token_ids), c.finish_reason == "stop") for c in comps])
    return result


class VLLMSampler:
    """:class:`~rlhf_lite.policy.sampling.Generator` on one vLLM engine (``tensor_parallel`` GPUs)."""

    def __init__(self, model: str | Path, tensor_parallel: int = 1, max_model_len: int | None = None,
                 dtype: str = "bfloat16", gpu_memory_utilization: float = 0.9, progress: bool = True):
        try:
            from vllm import LLM
        except ImportError as e:
            raise ImportError(INSTALL_HINT) from e
        from rlhf_lite.policy.models import load_tokenizer

        self.tokenizer = load_tokenizer(model)
        self.llm = LLM(model=str(model), tensor_parallel_size=tensor_parallel, dtype=dtype,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)
        self.progress = progress

    def generate(self, prompts, n, temperature, max_new_tokens, seed, first_index: int = 0):
        from vllm import SamplingParams

        reqs, params = build_requests(self.tokenizer, prompts, n, temperature, max_new_tokens, seed, first_index)
        outputs = self.llm.generate(reqs, [SamplingParams(**p) for p in params], use_tqdm=self.progress)
        return to_generations(outputs, n)


def visible_gpus(needed: int) -> list[str]:
    """The first ``needed`` GPU ids this job may use: from CUDA_VISIBLE_DEVICES when set (a scheduler's
    allocation such as "4,5,6,7"), else 0 .. device_count - 1."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        ids = [d.strip() for d in visible.split(",") if d.strip()]
    else:
        import torch

        ids = [str(i) for i in range(torch.cuda.device_count() or needed)]  # no GPU here: tests only
    if len(ids) < needed:
        raise ValueError(f"data_parallel x tensor_parallel needs {needed} GPUs, but only {len(ids)} are visible "
                         f"({','.join(ids)}); lower sampling.data_parallel or sampling.tensor_parallel.")
    return ids[:needed]


def run_data_parallel(prompts: Sequence, replicas: int, gpus_per_replica: int, worker: Callable,
                      isolate: bool = False, **kwargs) -> list:
    """Shard ``prompts`` over ``replicas`` processes, replica k seeing the k-th group of
    ``gpus_per_replica`` visible GPUs as CUDA_VISIBLE_DEVICES, and concatenate, in prompt order, what
    ``worker(prompts=shard, first_index=<the shard's start>, **kwargs)`` returns (one row per prompt).
    ``isolate``: a process even for one replica, so that its GPU memory is freed when it ends."""
    shards = shard(prompts, replicas)
    starts = [sum(len(s) for s in shards[:k]) for k in range(replicas)]
    if replicas == 1 and not isolate:
        return list(worker(prompts=shards[0], first_index=0, **kwargs))
    gpus = visible_gpus(replicas * gpus_per_replica)
    ctx = get_context("spawn")  # a fresh process per replica: CUDA must not start before the env is set
    with ProcessPoolExecutor(max_workers=replicas, mp_context=ctx) as pool:
        futures = [pool.submit(_on_devices, gpus[k * gpus_per_replica:(k + 1) * gpus_per_replica],
                               worker, shards[k], starts[k], kwargs) for k in range(replicas) if shards[k]]
        results = [f.result() for f in futures]
    out = [row for part in results for row in part]
    if len(out) != len(prompts):
        raise RuntimeError(f"data-parallel generation returned {len(out)} rows for {len(prompts)} prompts.")
    return out


def _on_devices(devices: list[str], worker: Callable, prompts: list, first_index: int, kwargs: dict):
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
    return list(worker(prompts=prompts, first_index=first_index, **kwargs))


def _vllm_worker(prompts, first_index, model, tensor_parallel, max_model_len, n, temperature, max_new_tokens, seed,
                 progress):
    return VLLMSampler(model, tensor_parallel, max_model_len, progress=progress).generate(
        prompts, n, temperature, max_new_tokens, seed, first_index=first_index)


class DataParallelVLLM:
    """``sampling.data_parallel`` vLLM replicas of ``sampling.tensor_parallel`` GPUs each, each in its own
    process for one call: the policy changes every iteration, and the engine's GPU memory must be free
    again for the reward model and DPO that follow in the same loop."""

    def __init__(self, model: str | Path, settings, progress: bool = True):
        self.model, self.s, self.progress = str(model), settings, progress

    def generate(self, prompts, n, temperature, max_new_tokens, seed):
        return run_data_parallel(list(prompts), self.s.data_parallel, self.s.tensor_parallel, _vllm_worker,
                                 isolate=True, model=self.model, tensor_parallel=self.s.tensor_parallel, max_model_len=None, n=n,
                                 temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                                 progress=self.progress)


def vllm_generator(settings, progress: bool = True):
    """The loop's sampler factory for ``sampling.backend: vllm``: policy folder -> sampler."""
    try:
        import vllm  # noqa: F401
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e

    def make(policy: Path):
        # max_model_len stays the model's own (8192 for LLaMA-3): a cap from sampling.prompt_length, which is
        # a typical length, would make vLLM refuse every longer prompt
        return DataParallelVLLM(policy, settings, progress)

    return make
