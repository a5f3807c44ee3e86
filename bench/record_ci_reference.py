"""Record what a complete `ci` build measured for each headline claim: bench/ci_reference.json, which the course
guide shows beside the `book` profile's numbers, so a student who runs a chapter in the `ci` profile knows what
it should print.

    make book-ci                                        # a build that executes every chapter (a fresh clone)
    .venv/bin/python bench/record_ci_reference.py       # record it from results/, then commit the file
    .venv/bin/python bench/record_ci_reference.py --root ../clone   # record a build made in another checkout

It reads the scorecard the build wrote (results/scorecard.json) and refuses unless that is a `ci` build in
which every chapter of _toc.yml was executed, not taken from the cache (the test that bench_chapters.py
applies to timings, for the same reason: a cached chapter's results are those of an earlier run, of whatever
code that was), unless the scorecard and the timings come from the same build, and unless the checkout's
tracked files are the commit it names. results/*.json are overwritten by every build and not committed; this
file is the one place the `ci` numbers are kept, with the commit and the machine they came from.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rlhf_lite.io import results_dir, write_json  # noqa: E402
from rlhf_lite.site.book import toc_notebooks  # noqa: E402
from rlhf_lite.site.times import refuse_cached  # noqa: E402
from rlhf_lite.site.scorecard import CI_REFERENCE  # noqa: E402

FIELDS = ("effect", "half_width", "n", "method", "text")
REBUILD = "build every chapter again in the `ci` profile (`make book-ci` in a fresh clone, or " \
          "`python -m rlhf_lite.site.book --profile ci --rerun`), then run this script"


def reference(scorecard: dict, timings: dict, stems: list[str], commit: str, recorded: str) -> dict:
    """The file's content from a build's results/scorecard.json and results/book_timings_ci.json (``stems``: the
    chapters of _toc.yml, every one of which the build must have executed)."""
    if scorecard.get("profile") != "ci":
        raise ValueError(f"the scorecard is of the {scorecard.get('profile')!r} profile, not 'ci' (every build "
                         f"overwrites it); {REBUILD}.")
    if timings.get("profile", "ci") != "ci":
        raise ValueError(f"the timings are of the {timings['profile']!r} profile, not 'ci'; {REBUILD}.")
    if missing := [s for s in stems if s not in timings["chapters"]]:
        raise ValueError(f"the ci build did not run chapters {missing} (a build with --only?); {REBUILD}.")
    refuse_cached({"chapters": {s: timings["chapters"][s] for s in stems}}, "ci")
    claims = []
    for row in scorecard["claims"]:
        m = row["measured"] or {}
        claims.append({"key": row["key"], "claim": row["claim"], "chapter": row["chapter"],
                       **{k: m.get(k) for k in FIELDS}, "verdict": row["verdict"]})
    return {"recorded": recorded, "commit": commit, "machine": timings["machine"], "claims": claims}


def same_build(scorecard: Path, timings_path: Path, timings: dict) -> None:
    """Refuse a scorecard that the build of ``timings`` did not write: the build writes the scorecard after
    executing its chapters and the timings after rendering, so the scorecard's time lies within the build's."""
    end, took = timings_path.stat().st_mtime, timings.get("total_s", 0.0)
    if not end - took - 5 <= scorecard.stat().st_mtime <= end + 1:
        raise ValueError(f"{scorecard} and {timings_path} were not written by one build (a build of the other "
                         f"profile, or one with --only, came between); {REBUILD}.")


def head_commit(root: Path, built_at: float) -> str:
    """The short hash of HEAD, refusing a checkout whose tracked files differ from it or a HEAD committed after
    the build began (the build ran other code than the commit would name)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.rstrip()

    if changed := git("status", "--porcelain", "--untracked-files=no"):
        raise ValueError(f"{root} has uncommitted changes to tracked files, so no commit names what the build ran:\n"
                         f"{changed}\nRecord from a clean clone: `git clone <this repo> ref && cd ref && make book-ci`, "
                         f"then run this script there.")
    if int(git("log", "-1", "--format=%ct")) > built_at:
        raise ValueError(f"HEAD of {root} was committed after the ci build began, so the build ran older code; {REBUILD}.")
    return git("rev-parse", "--short", "HEAD")


def record(root: Path, results: Path) -> dict:
    """Check the build whose results are in ``results`` and write ``root``/bench/ci_reference.json from it."""
    card, tpath = results / "scorecard.json", results / "book_timings_ci.json"
    for path in (card, tpath):
        if not path.exists():
            raise ValueError(f"{path} is missing: there is no ci build to record here; {REBUILD}.")
    timings = json.loads(tpath.read_text())
    same_build(card, tpath, timings)
    built_at = tpath.stat().st_mtime - timings.get("total_s", 0.0)
    ref = reference(json.loads(card.read_text()), timings, [nb.stem for nb in toc_notebooks(root)],
                    head_commit(root, built_at), time.strftime("%Y-%m-%d"))
    write_json(root / CI_REFERENCE, ref)
    return ref


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, help="the checkout that built (default: this one); its results/ are read "
                                              "and its bench/ci_reference.json written")
    args = ap.parse_args(argv)
    root = (args.root or ROOT).resolve()
    results = root / "results" if args.root else results_dir()
    try:
        ref = record(root, results)
    except ValueError as e:
        sys.exit(f"record_ci_reference: not recorded: {e}")
    print(f"recorded {len(ref['claims'])} claims of the ci build of commit {ref['commit']} "
          f"({ref['machine']['cpu']}) in {root / CI_REFERENCE}")


if __name__ == "__main__":
    main()
