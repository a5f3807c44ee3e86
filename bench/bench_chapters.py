"""How long each chapter takes in both profiles: the table the course guide and every chapter's "Run this
chapter" box show (bench/chapter_times.json, read by rlhf_lite.pages at build time).

    .venv/bin/python bench/bench_chapters.py --run       # build both profiles with --rerun, then write the table
    .venv/bin/python bench/bench_chapters.py             # write it from the last builds' results/book_timings_*.json

Only chapters a build really executed count (a chapter taken from the build's cache carries the seconds of
the run that cached it, and is refused here unless --allow-cached): the table is a measurement, made on one
machine, which it names.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rlhf_lite.io import results_dir, write_json  # noqa: E402
from rlhf_lite.pages import PROFILES, TIMES_FILE  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="run `rlhf_lite.book --rerun` for both profiles first")
    ap.add_argument("--allow-cached", action="store_true", help="accept chapters a build took from its cache")
    args = ap.parse_args(argv)
    if args.run:
        for p in PROFILES:
            subprocess.run([sys.executable, "-m", "rlhf_lite.book", "--profile", p, "--rerun"], cwd=ROOT, check=True)
    seconds, machine = {}, None
    for p in PROFILES:
        path = results_dir() / f"book_timings_{p}.json"
        if not path.exists():
            sys.exit(f"{path} is missing: build the {p} profile first (`python -m rlhf_lite.book --profile {p}`), "
                     f"or pass --run.")
        t = json.loads(path.read_text())
        cached = [c for c, v in t["chapters"].items() if v["cached"] or v["seconds"] is None]
        if cached and not args.allow_cached:
            sys.exit(f"{path}: chapters {cached} came from the build cache, not from a run; rebuild with --rerun.")
        seconds[p] = {c: round(v["seconds"], 1) for c, v in t["chapters"].items() if v["seconds"] is not None}
        machine = machine or t["machine"]
        if t["machine"]["cpu"] != machine["cpu"] or t["machine"]["cores"] != machine["cores"]:
            sys.exit(f"{path} was measured on another machine than the other profile; build both on one.")
    write_json(ROOT / TIMES_FILE, {"machine": machine, "seconds": seconds})
    for p in PROFILES:
        print(p, {c: s for c, s in seconds[p].items()}, f"total {sum(seconds[p].values()):.0f} s")


if __name__ == "__main__":
    main()
