"""torch.compile, raced (issue 39, item 4): one DPO epoch and one reward-model epoch of the book's shapes, each
trained by the book's own code with and without transformers' ``torch_compile`` (TrainingArguments), the
compilation counted in the compiled run's time. Each run is a fresh child process, so no compiled graph or
warm cache carries over from one run to the next (inductor's on-disk cache is pointed at a new folder).

    .venv/bin/python bench/bench_compile.py [--profile book] [--pairs 1000] [--only dpo rm]

It needs the profile's pi_0 (built, or reused from runs/ as the chapters left it). Nothing is asserted in
tests: it prints one line per run and the ratio, with the CPU it ran on. Adopt compile where it wins by 1.3x
or more on the whole stage (the issue's bar); bench/README.md records what this race said.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(kind: str, compiled: bool, profile: str, pairs: int) -> float:
    """One epoch of ``kind`` ("dpo" or "rm") in this process; returns its wall time in seconds."""
    from rlhf_lite.config import Config
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.policy import trainers
    from rlhf_lite.stages import prepare_pi0

    cfg = Config.preset(profile)
    pi0 = prepare_pi0(cfg, progress=False, log=lambda *a: None).pi0
    data = offline_pairs(cfg, pairs, seed=0)
    if compiled:  # every TRL config the book builds goes through shared_args: compile them all
        plain = trainers.shared_args
        trainers.shared_args = lambda seed, progress: {**plain(seed, progress), "torch_compile": True}
        from rlhf_lite.policy import dpo
        from rlhf_lite.reward import bradley_terry

        dpo.shared_args = bradley_terry.shared_args = trainers.shared_args  # both import it by name
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if kind == "dpo":
            from rlhf_lite.policy.dpo import train_dpo

            train_dpo(pi0, pi0, data, Path(tmp) / "dpo", dataclasses.replace(cfg.dpo, epochs=1.0), progress=False)
        else:
            from rlhf_lite.reward.bradley_terry import train_reward_model

            train_reward_model(pi0, data, Path(tmp) / "rm", dataclasses.replace(cfg.reward, epochs=1.0), progress=False)
        return time.perf_counter() - t0


def machine() -> str:
    sys.path.insert(0, str(HERE))
    from bench_races import machine as describe

    return describe()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="book")
    ap.add_argument("--pairs", type=int, default=1000, help="pairs in the epoch (the book's round: 1000)")
    ap.add_argument("--only", nargs="*", default=["dpo", "rm"], choices=["dpo", "rm"])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps({"seconds": child(args.child[0], args.child[1] == "1", args.profile, args.pairs)}))
        return
    print(f"[compile] {machine()}", flush=True)
    for kind in args.only:
        times = {}
        for compiled in (False, True):
            with tempfile.TemporaryDirectory() as cache:
                env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
                out = subprocess.run([sys.executable, __file__, "--profile", args.profile, "--pairs", str(args.pairs),
                                      "--child", kind, "1" if compiled else "0"], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"  {kind}, compiled={compiled}: failed\n{out.stderr[-2000:]}", flush=True)
                break
            times[compiled] = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
            print(f"  {kind} epoch, {args.pairs} pairs, {'compiled' if compiled else 'eager'}: {times[compiled]:.1f} s",
                  flush=True)
        if len(times) == 2:
            print(f"  {kind}: eager / compiled = {times[False] / times[True]:.2f}x (compilation included)", flush=True)


if __name__ == "__main__":
    main()
