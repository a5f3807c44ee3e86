"""Time the online iterative DPO loop per profile, stage by stage (sample+rank, DPO, evaluation).

    .venv/bin/python bench/bench_online.py [--profiles ci book]

Runs one loop seed and the offline baseline in a temporary runs folder (pi_0, the preference data and
the judge are built there first; their time is reported as setup). Timings live here, not in tests.
"""

import argparse
import os
import tempfile
import time
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", nargs="+", default=["ci", "book"])
    ap.add_argument("--runs", help="a runs folder to reuse (its pi_0, data and judge; the loop is run afresh)")
    args = ap.parse_args()
    os.environ["RLHF_LITE_RUNS"] = args.runs or tempfile.mkdtemp(prefix="rlhf_bench_online_")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rlhf_lite.config import Config
    from rlhf_lite.online.judge import load_judge
    from rlhf_lite.online.loop import run_online
    from rlhf_lite.online.offline import run_offline
    from rlhf_lite.stages import prepare_pi0, prepare_preference_data

    print(f"{'profile':8s} {'setup s':>8s} {'sample+rank s':>14s} {'DPO s':>7s} {'eval s':>7s} {'loop s':>7s} {'offline s':>10s}")
    for name in args.profiles:
        cfg = Config.preset(name)
        quiet = lambda *a: None  # noqa: E731
        t0 = time.perf_counter()
        prepare_pi0(cfg, progress=False, log=quiet)
        prepare_preference_data(cfg, log=quiet)
        load_judge(cfg, progress=False, log=quiet)
        setup = time.perf_counter() - t0

        # the loop logs one line as each stage starts: the time to the next line is that stage's
        import shutil

        from rlhf_lite.io import runs_dir
        from rlhf_lite.online.loop import online_root

        shutil.rmtree(online_root(cfg), ignore_errors=True)  # the loop itself is always timed from scratch
        shutil.rmtree(runs_dir() / "shared", ignore_errors=True)
        stamps = []
        t0 = time.perf_counter()
        run_online(cfg, seed=0, progress=False, log=lambda msg: stamps.append((time.perf_counter(), str(msg))))
        end = time.perf_counter()
        per = defaultdict(float)
        for (t, msg), (t_next, _) in zip(stamps, stamps[1:] + [(end, "")]):
            kind = ("eval" if msg.startswith("[eval]") else "dpo" if "DPO on" in msg
                    else "sample" if any(f"] {stage}:" in msg for stage in ("generate", "annotate", "pair")) else None)
            if kind:
                per[kind] += t_next - t
        t1 = time.perf_counter()
        run_offline(cfg, seed=0, progress=False, log=quiet)
        offline = time.perf_counter() - t1
        print(f"{name:8s} {setup:8.1f} {per['sample']:14.1f} {per['dpo']:7.1f} {per['eval']:7.1f} "
              f"{end - t0:7.1f} {offline:10.1f}")


if __name__ == "__main__":
    main()
