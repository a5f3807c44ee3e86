"""Time the reward-model stage per profile (chapter 4): each BT model (TRL RewardTrainer) and the pairwise
preference model, trained one after another in this process (2 torch threads), then all four side by side
as the chapter trains them (rlhf_lite.parallel: one process per core, one thread each).

    .venv/bin/python bench/bench_reward.py [--profiles ci book]

Trains into a temporary runs folder (pi_0 and the preference data are built there first, and their time
is reported separately); prints a table. Timings live here, not in tests.
"""

import argparse
import os
import shutil
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", nargs="+", default=["ci", "book"])
    args = ap.parse_args()
    os.environ["RLHF_LITE_RUNS"] = tempfile.mkdtemp(prefix="rlhf_bench_rm_")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from rlhf_lite.config import Config
    from rlhf_lite.stages import (REWARD_MODELS, prepare_pi0, prepare_preference_data, prepare_reward_models,
                                  reward_stage_dir, train_reward_stage)

    print(f"{'profile':8s} {'setup s':>8s} " + " ".join(f"{n:>17s}" for n in REWARD_MODELS)
          + f" {'one by one s':>13s} {'side by side s':>15s}")
    for name in args.profiles:
        cfg = Config.preset(name)
        quiet = lambda *a: None  # noqa: E731
        t0 = time.perf_counter()
        prepare_pi0(cfg, progress=False, log=quiet)
        prepare_preference_data(cfg, log=quiet)
        setup = time.perf_counter() - t0
        times, cells = [], []
        for rm in REWARD_MODELS:  # alone, in this process, with torch's default threads
            t0 = time.perf_counter()
            train_reward_stage(cfg, rm, progress=False, log=quiet)
            times.append(time.perf_counter() - t0)
            pairs = prepare_reward_models(cfg, names=[rm], progress=False, log=quiet).metrics[rm]["pairs"]
            cells.append(f"{times[-1]:7.1f}s/{pairs:>6d}p")
        shutil.rmtree(reward_stage_dir(cfg))
        t0 = time.perf_counter()
        prepare_reward_models(cfg, progress=False, log=quiet)  # all four, as the chapter does
        both = time.perf_counter() - t0
        print(f"{name:8s} {setup:8.1f} " + " ".join(f"{c:>17s}" for c in cells)
              + f" {sum(times):13.1f} {both:15.1f}   ({torch.get_num_threads()} threads one by one; "
              f"side by side {sum(times) / both:.2f}x faster)")


if __name__ == "__main__":
    main()
