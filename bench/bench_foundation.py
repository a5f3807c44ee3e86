"""Time the foundation stages on this machine: SFT of pi_0 and sampling throughput, per profile.

    .venv/bin/python bench/bench_foundation.py [--profiles ci book]

Writes nothing to runs/ (uses a temporary folder); prints a table. Timings live here, not in tests.
"""

import argparse
import os
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", nargs="+", default=["ci", "book"])
    ap.add_argument("--prompts", type=int, default=256)
    args = ap.parse_args()
    os.environ["RLHF_LITE_RUNS"] = tempfile.mkdtemp(prefix="rlhf_bench_")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from rlhf_lite import world
    from rlhf_lite.config import Config
    from rlhf_lite.policy.models import load_policy, num_parameters
    from rlhf_lite.policy.sampling import HFSampler, sample_responses
    from rlhf_lite.stages import prepare_pi0

    print(f"torch threads: {torch.get_num_threads()}")
    print(f"{'profile':8s} {'params':>9s} {'demos':>6s} {'SFT s':>7s} {'samples/s':>10s}")
    for name in args.profiles:
        cfg = Config.preset(name)
        t0 = time.perf_counter()
        art = prepare_pi0(cfg, progress=False, log=lambda *a: None)
        t_sft = time.perf_counter() - t0
        model, tok = load_policy(art.pi0)
        prompts = world.sample_prompts(args.prompts, cfg.world, seed=1)
        t0 = time.perf_counter()
        sample_responses(HFSampler(model, tok, batch_size=cfg.sampling.batch_size, progress=False), prompts,
                         cfg.sampling.n, cfg.sampling.temperatures, cfg.sampling.max_new_tokens, seed=0)
        rate = args.prompts * cfg.sampling.n / (time.perf_counter() - t0)
        print(f"{name:8s} {num_parameters(model):9,d} {cfg.sft.num_demos:6d} {t_sft:7.1f} {rate:10.0f}")


if __name__ == "__main__":
    main()
