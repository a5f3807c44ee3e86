"""Every value two builds wrote to results/*.json, compared: the check that a refactor moved no number.

    .venv/bin/python bench/compare_results.py --old DIR --new DIR [--ignore-new-keys headline] \
        [--moved 06_iterative_dpo.json:overoptimisation=08_what_the_judge_teaches.json:overoptimisation ...]

Each chapter's results file is flattened into (key path, value) leaves; a leaf of the old build must be in the new
one with the same value (floats bit for bit: a pure refactor changes no arithmetic), and the new build may add the
keys named by ``--ignore-new-keys`` (issue 40 added each chapter's typed "headline"). Timings and the scorecard,
which hold times and wording rather than measured values, are left out. ``--moved`` follows a top-level key (or a
whole file, with ``*`` as the key) that the refactor moved to another file or name: a chapter split in two, a chapter
renumbered. A KEY may be a path with "/" (a key inside a key). Prints, per file, the leaves compared and
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


def parse_moves(moves) -> dict:
    """``OLD_FILE:KEY=NEW_FILE:KEY`` strings as {(old file, key): (new file, key)}; ``*`` for a whole file."""
    out = {}
    for m in moves:
        try:
            a, b = m.split("=")
            (fa, ka), (fb, kb) = a.split(":", 1), b.split(":", 1)
        except ValueError:
            raise SystemExit(f"--moved {m!r}: write OLD_FILE:KEY=NEW_FILE:KEY (KEY * for a whole file)")
        out[(fa, ka)] = (fb, kb)
    return out


def moved(name: str, path: tuple, moves: dict) -> tuple[str, tuple]:
    """Where the leaf ``path`` of the old file ``name`` is in the new build: the longest key path of ``moves`` (written
    with "/", e.g. "paired_differences/reasoning: ...") that begins it, or the file's own move ("*"), or itself."""
    for k in range(len(path), 0, -1):
        prefix = "/".join(map(str, path[:k]))
        if (name, prefix) in moves:
            new_name, new_key = moves[(name, prefix)]
            return new_name, tuple(new_key.split("/")) + path[k:]
    if (name, "*") in moves:
        return moves[(name, "*")][0], path
    return name, path


def compare(old: Path, new: Path, ignore_new: tuple[str, ...] = (), moves: dict | None = None) -> tuple[int, list[str]]:
    """(leaves compared, differences) over the results files of ``old``, each against the same file of ``new`` or
    where ``moves`` says its key went."""
    moves = moves or {}
    compared, diffs = 0, []
    cache: dict = {}

    def new_leaves(name):
        if name not in cache:
            g = new / name
            cache[name] = dict(leaves(json.loads(g.read_text()))) if g.exists() else None
        return cache[name]

    seen: set = set()
    for f in sorted(old.glob("*.json")):
        if f.name.startswith(SKIP):
            continue
        for path, v in leaves(json.loads(f.read_text())):
            compared += 1
            name, target = moved(f.name, path, moves)
            b = new_leaves(name)
            shown = f"{f.name}: {'/'.join(map(str, path))}" + (f" (as {name}: {'/'.join(map(str, target))})"
                                                               if (name, target) != (f.name, path) else "")
            if b is None:
                diffs.append(f"{shown}: {name} missing in the new build")
            elif target not in b:
                diffs.append(f"{shown} missing in the new build")
            elif not same(v, b[target]):
                diffs.append(f"{shown}: {v!r} -> {b[target]!r}")
            seen.add((name, target))
    for g in sorted(new.glob("*.json")):
        if g.name.startswith(SKIP) or new_leaves(g.name) is None:
            continue
        extra = [p for p in new_leaves(g.name) if (g.name, p) not in seen and not (p and p[0] in ignore_new)]
        diffs += [f"{g.name}: {'/'.join(map(str, p))} only in the new build" for p in extra]
    return compared, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, type=Path, help="results/ of the build before")
    ap.add_argument("--new", required=True, type=Path, help="results/ of the build after")
    ap.add_argument("--ignore-new-keys", nargs="*", default=["headline"], help="top-level keys the new build may add")
    ap.add_argument("--moved", nargs="*", default=[], help="OLD_FILE:KEY=NEW_FILE:KEY, a key the refactor moved")
    ap.add_argument("--moves-file", type=Path, help="the same, one per line (e.g. bench/issue40_moves.txt)")
    args = ap.parse_args()
    moved_lines = args.moves_file.read_text().splitlines() if args.moves_file else []
    moves = parse_moves(args.moved + [m for m in moved_lines if m.strip()])
    n, diffs = compare(args.old, args.new, tuple(args.ignore_new_keys), moves)
    files = [f.name for f in sorted(args.old.glob("*.json")) if not f.name.startswith(SKIP)]
    print(f"{n:,} values in {len(files)} files compared ({', '.join(files)}): {len(diffs)} differences")
    for d in diffs[:200]:
        print("  " + d)
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
