"""Time chapter 3's data stage per profile: writing the lite sources, loading + curating MIX2, Table 5.

    .venv/bin/python bench/bench_data.py [--profiles ci book]

Writes into a temporary folder; prints a table. Timings live here, not in tests.
"""

import argparse
import tempfile
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", nargs="+", default=["ci", "book"])
    args = ap.parse_args()

    from rlhf_lite.config import Config
    from rlhf_lite.data.lite_sources import write_lite_sources
    from rlhf_lite.data.mixtures import MIX2, build_mixture, table5
    from rlhf_lite.world.tokenizer import build_tokenizer

    tok = build_tokenizer()
    print(f"{'profile':8s} {'scale':>5s} {'write s':>8s} {'MIX2 s':>7s} {'pairs/s':>8s} {'Table5 s':>9s}")
    for name in args.profiles:
        cfg = Config.preset(name)
        root = Path(tempfile.mkdtemp(prefix="rlhf_bench_data_"))
        t0 = time.perf_counter()
        paths = write_lite_sources(root, seed=cfg.seed, scale=cfg.data.scale)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        mix = build_mixture(MIX2, paths, log=lambda *a: None)
        t_mix = time.perf_counter() - t0
        t0 = time.perf_counter()
        table5(mix.pairs, tok)
        t_t5 = time.perf_counter() - t0
        print(f"{name:8s} {cfg.data.scale:5.2f} {t_write:8.2f} {t_mix:7.2f} {len(mix.raw) / t_mix:8.0f} {t_t5:9.2f}")


if __name__ == "__main__":
    main()
