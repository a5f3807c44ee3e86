"""How long each chapter takes in both profiles, on each kind of machine it was measured on: the table the
course guide, every chapter's "Run this chapter" box and the README's paragraph of build times show
(bench/chapter_times.json, read by rlhf_lite.site.pages at build time).

    .venv/bin/python bench/bench_chapters.py --run       # build both profiles with --rerun, then record them
    .venv/bin/python bench/bench_chapters.py             # record the last builds' results/book_timings_*.json

The file keeps one entry per kind of machine (CPU model, cores, AVX-512 or not: machines of our kind differ
about 2x in speed). A run replaces the entry of the machine it ran on, profile by profile, keeps the others,
and rewrites the README's paragraph from the file. Only chapters a build really executed count (a chapter
taken from the build's cache carries the seconds of the run that cached it, and is refused here unless
--allow-cached): every number is a measurement, on the machine it names.

After a fresh ci build it also records what that build measured for each claim (bench/record_ci_reference.py:
bench/ci_reference.json, shown in the course guide), or says why it did not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rlhf_lite.site.book import toc_notebooks  # noqa: E402
from rlhf_lite.io import results_dir, write_json  # noqa: E402
from rlhf_lite.site.times import (PROFILES, TIMES_FILE, load_times, machine_key, readme_times, refuse_cached,  # noqa: E402
                                  update_readme)


def record(times: dict, profile: str, timings: dict, allow_cached: bool = False, source: str = "") -> dict:
    """``times`` with the build ``timings`` (a results/book_timings_<profile>.json) entered under its machine."""
    if not allow_cached:
        refuse_cached(timings, profile)
    m = timings["machine"]
    if "avx512" not in m:
        raise ValueError(f"the {profile} build's timings do not say whether its CPU has AVX-512 (a build from before "
                         f"the flags were recorded); rebuild it.")
    seconds = {c: round(v["seconds"], 1) for c, v in timings["chapters"].items() if v["seconds"] is not None}
    machines = [dict(e) for e in times["machines"]]
    entry = next((e for e in machines if machine_key(e) == machine_key(m)), None)
    if entry is None:
        entry = {"seconds": {}}
        machines.append(entry)
    entry.update({k: m[k] for k in ("cpu", "cores", "avx512", "flags", "memory_gib", "date")})
    entry["seconds"] = {**entry.get("seconds", {}), profile: seconds}
    if source:
        entry["source"] = source
    else:
        entry.pop("source", None)  # measured here, by this script
    return {"machines": machines}


def ci_reference() -> None:
    """Record the last build's claims in bench/ci_reference.json if it was a fresh, complete ci build of a clean
    checkout (the recorder's checks), else say why not: the scorecard is overwritten by every build."""
    import record_ci_reference  # beside this script (it imports nothing from here)

    try:
        ref = record_ci_reference.record(ROOT, results_dir())
    except ValueError as e:
        print(f"bench/ci_reference.json not updated: {e}")
        return
    print(f"recorded the ci build's {len(ref['claims'])} claims (commit {ref['commit']}) in bench/ci_reference.json")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="run `rlhf_lite.site.book --rerun` for both profiles first")
    ap.add_argument("--allow-cached", action="store_true", help="accept chapters a build took from its cache")
    args = ap.parse_args(argv)
    if args.run:
        for p in PROFILES:
            subprocess.run([sys.executable, "-m", "rlhf_lite.site.book", "--profile", p, "--rerun"], cwd=ROOT, check=True)
            if p == "ci":
                ci_reference()  # before the book build overwrites results/scorecard.json
    times, found = load_times(ROOT), []
    for p in PROFILES:
        path = results_dir() / f"book_timings_{p}.json"
        if not path.exists():
            print(f"{path} is missing: the {p} profile is not recorded (build it with "
                  f"`python -m rlhf_lite.site.book --profile {p} --rerun`).")
            continue
        try:
            times = record(times, p, json.loads(path.read_text()), args.allow_cached)
        except ValueError as e:
            sys.exit(f"{path}: {e}")
        found.append(p)
    if not found:
        sys.exit("No build timings to record: run `make book` (and `make book-ci`) first, or pass --run.")
    if not args.run and "ci" in found and not args.allow_cached:
        ci_reference()  # first: it refuses a checkout with uncommitted changes, and the next line makes one
    write_json(ROOT / TIMES_FILE, times)
    stems = [nb.stem for nb in toc_notebooks(ROOT)]
    changed = update_readme(ROOT / "README.md", readme_times(times, stems))
    print(f"recorded the {' and '.join(found)} profile(s) in {TIMES_FILE}" + ("; README updated" if changed else ""))
    print(readme_times(times, stems))


if __name__ == "__main__":
    main()
