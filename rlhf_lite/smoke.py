"""The GPU smoke test: what a user with one GPU runs once after installing the full extra (README, "Full scale").

    rlhf-lite gpu-smoke                # or: bash tools/gpu_smoke.sh

Three steps, each in a fresh process of its own (so the memory vLLM reserves is gone before training starts,
and one step's crash does not hide the others), under ``runs/gpu-smoke/``:

1. ``env``: the GPU, and the versions of torch, transformers, TRL, PEFT, bitsandbytes and vLLM;
2. ``loop``: the ci profile's Algorithm 2 end to end, generating with the vLLM backend;
3. ``qlora-dpo``: the ci-qlora recipe (4-bit NF4 base + LoRA, bitsandbytes on CUDA): pi_0 by QLoRA SFT, then
   one QLoRA DPO round with peak memory measured by ``torch.cuda.max_memory_allocated`` and set beside the
   memory planner's prediction (rlhf_lite.scale.memory) for that stage.

A short report is printed and written to ``runs/gpu-smoke/report.json``; the exit code is 1 if a step failed.
Nothing here has run on a GPU in this book's CI (it has none): the parts that do not need one (the steps'
recipes, the vLLM head-size check, the memory verdict, the step runner and the report) are tested on the CPU.

Why our own code: a smoke test of this book's own pipeline is nothing a library could hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rlhf_lite.config import Config, load_recipe, with_overrides
from rlhf_lite.io import runs_dir, write_json

STEPS = ("env", "loop", "qlora-dpo")
RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "lite"
# vLLM's FlashAttention kernels take head sizes from 32 up (multiples of 32 in some releases); the ci model's is
# 16 (64 / 4), so the smoke widens it to 128 / 2 = 64. A smoke test of the code path, not of the book's numbers.
VLLM_MODEL = {"model.hidden_size": 128, "model.num_attention_heads": 2}
SMALL = {"online.iterations": 2, "data.prompts_per_iteration": 64, "eval_prompts": 64, "online.eval_n": 2,
         "online.validation_prompts": 32}
VLLM_HEAD_SIZES = (32, 64, 96, 128, 160, 192, 224, 256)


def step_config(step: str) -> Config:
    """The recipe each step runs."""
    if step == "loop":
        return with_overrides(Config.preset("ci"), {**SMALL, **VLLM_MODEL, "sampling.backend": "vllm"})
    if step == "qlora-dpo":
        return with_overrides(load_recipe(RECIPES / "ci-qlora.yaml"), SMALL)
    raise ValueError(f"step {step!r} has no recipe; steps: {', '.join(STEPS)}.")


def head_size(cfg: Config) -> int:
    return cfg.model.hidden_size // cfg.model.num_attention_heads


def memory_verdict(predicted_gb: float, overhead_gb: float, peak_bytes: int) -> dict:
    """The planner's tensors (its prediction without the fixed overhead for the CUDA context and allocator slack,
    which max_memory_allocated does not see) against the measured peak of allocated memory."""
    tensors_gb, measured_gb = predicted_gb - overhead_gb, peak_bytes / 1e9
    ratio = measured_gb / tensors_gb if tensors_gb > 0 else float("inf")
    return {"predicted_gb": round(predicted_gb, 3), "predicted_tensors_gb": round(tensors_gb, 3),
            "measured_gb": round(measured_gb, 3), "measured_over_predicted": round(ratio, 2),
            "verdict": "the planner holds (measured <= predicted)" if measured_gb <= predicted_gb else
            f"the planner under-predicts by {measured_gb - predicted_gb:.3f} GB: report it with this file"}


def run_step(step: str) -> dict:
    """One step in this process; returns its JSON-able result (raises on failure)."""
    import torch

    if step == "env":
        import importlib.metadata as md

        def version(p):
            try:
                return md.version(p)
            except md.PackageNotFoundError:
                return None

        return {"cuda": torch.cuda.is_available(), "device": torch.cuda.get_device_name(0) if torch.cuda.is_available()
                else None, "gpu_gb": round(torch.cuda.get_device_properties(0).total_memory / 1e9, 1)
                if torch.cuda.is_available() else None,
                **{p: version(p) for p in ("torch", "transformers", "trl", "peft", "bitsandbytes", "vllm", "deepspeed")}}
    if not torch.cuda.is_available():
        raise RuntimeError(f"step {step} needs a CUDA GPU, and torch sees none (torch.cuda.is_available() is False).")
    cfg = step_config(step)
    if step == "loop":
        if head_size(cfg) not in VLLM_HEAD_SIZES:
            raise ValueError(f"head size {head_size(cfg)} is not one vLLM's attention kernels take {VLLM_HEAD_SIZES}.")
        from rlhf_lite.online.loop import run_online

        run = run_online(cfg, seed=0)
        return {"win_rate_by_iteration": [e["win_rate"][0] for e in run.evals], "output": str(run.output)}
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.policy.dpo import train_dpo
    from rlhf_lite.scale.memory import plan_config
    from rlhf_lite.stages import prepare_pi0

    pi0 = prepare_pi0(cfg).pi0
    gpu_gb = torch.cuda.get_device_properties(0).total_memory / 1e9
    (plan,) = [r for r in plan_config(cfg, gpu_gb) if getattr(r, "stage", None) == "DPO"]
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    metrics = train_dpo(pi0, pi0, offline_pairs(cfg, 256, seed=0), runs_dir() / "gpu-smoke" / "qlora-dpo", cfg.dpo,
                        seed=0, progress=True, lora=cfg.lora)
    return {"train_loss": metrics.get("train_loss"), "setup": plan.note,
            **memory_verdict(plan.total, plan.overhead, torch.cuda.max_memory_allocated())}


def main(steps=STEPS, log=print) -> dict:
    """Every step in its own process (``python -m rlhf_lite.smoke STEP``); the report, written and returned."""
    report, out = {}, runs_dir() / "gpu-smoke"
    out.mkdir(parents=True, exist_ok=True)
    for step in steps:
        started = time.time()
        log(f"[gpu-smoke] {step} ...")
        proc = subprocess.run([sys.executable, "-m", "rlhf_lite.smoke", step], capture_output=True, text=True,
                              env=dict(os.environ, RLHF_LITE_RUNS=str(out / "runs")))
        (out / f"{step}.log").write_text(proc.stdout + proc.stderr)
        lines = [x for x in proc.stdout.splitlines() if x.startswith('{"result"')]
        ok = proc.returncode == 0 and bool(lines)
        report[step] = {"ok": ok, "seconds": round(time.time() - started, 1),
                        **(json.loads(lines[-1])["result"] if ok else
                           {"error": (proc.stderr.strip().splitlines() or ["(no output)"])[-1], "log": str(out / f"{step}.log")})}
        log(f"[gpu-smoke] {step}: {'ok' if ok else 'FAILED'} " + json.dumps(report[step]))
    write_json(out / "report.json", report)
    log(f"[gpu-smoke] report: {out / 'report.json'}")
    return report


if __name__ == "__main__":
    print(json.dumps({"result": run_step(sys.argv[1])}, default=str))
