"""Every value two builds wrote to results/*.json, compared: the check that a refactor moved no number.

    .venv/bin/python bench/compare_results.py --old DIR --new DIR [--ignore-new-keys headline]

Each chapter's results file is flattened into (key path, value) leaves; a leaf of the old build must be in the new
one with the same value (floats bit for bit: a pure refactor changes no arithmetic), and the new build may add the
keys named by ``--ignore-new-keys`` (issue 40 added each chapter's typed "headline"). Timings and the scorecard,
which hold times and wording rather than measured values, are left out. Prints, per file, the leaves compared and
every difference; exits 1 on any difference. Nothing here is asserted in tests: it reads two finished builds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

SKIP = ("book_timings_", "scorecard.json")


def leaves(obj, path=()):
    """(path, value) of every leaf of a JSON value: dict keys and list indices make the path."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + (str(k),))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, path + (i,))
    else:
        yield path, obj


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def compare(old: Path, new: Path, ignore_new: tuple[str, ...] = ()) -> tuple[int, list[str]]:
    """(leaves compared, differences) over the results files of ``old``, each against the same file of ``new``."""
    compared, diffs = 0, []
    for f in sorted(old.glob("*.json")):
        if f.name.startswith(SKIP):
            continue
        g = new / f.name
        if not g.exists():
            diffs.append(f"{f.name}: missing in the new build")
            continue
        a, b = dict(leaves(json.loads(f.read_text()))), dict(leaves(json.loads(g.read_text())))
        for path, v in a.items():
            compared += 1
            if path not in b:
                diffs.append(f"{f.name}: {'/'.join(map(str, path))} missing in the new build")
            elif not same(v, b[path]):
                diffs.append(f"{f.name}: {'/'.join(map(str, path))}: {v!r} -> {b[path]!r}")
        extra = [p for p in b if p not in a and not (p and p[0] in ignore_new)]
        diffs += [f"{f.name}: {'/'.join(map(str, p))} only in the new build" for p in extra]
    return compared, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, type=Path, help="results/ of the build before")
    ap.add_argument("--new", required=True, type=Path, help="results/ of the build after")
    ap.add_argument("--ignore-new-keys", nargs="*", default=["headline"], help="top-level keys the new build may add")
    args = ap.parse_args()
    n, diffs = compare(args.old, args.new, tuple(args.ignore_new_keys))
    files = [f.name for f in sorted(args.old.glob("*.json")) if not f.name.startswith(SKIP)]
    print(f"{n:,} values in {len(files)} files compared ({', '.join(files)}): {len(diffs)} differences")
    for d in diffs[:200]:
        print("  " + d)
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
