"""Two commits built side by side on one machine: the chapters' seconds and the scorecard, before and after.

    .venv/bin/python bench/bench_before_after.py --old 729c031 [--new HEAD] [--ci] [--write]

For each commit in turn (old first, then new; nothing else should run meanwhile), a fresh clone in a temporary
folder runs ``make book`` as a new user would (the virtual environment, every chapter in the book profile, the
HTML), timed from the clone to the rendered book; with ``--ci`` it then runs ``bash .ci/run`` in a clean clone of
its own, as CI does, timed. ``--old`` or ``--new`` may name a folder instead of a commit: a fresh clone already
built that way (its ``make book`` wall time read from ``results/make_book_wall_s.txt`` and its ``.ci/run`` time
from ``results/ci_run_s.txt``; with ``--ci`` and no such file, ``.ci/run`` is timed for that folder's commit), so the
two builds can run in different sessions.

It prints, and with ``--write`` puts into bench/README.md (between the ``before-after`` markers) and
bench/before_after.json: the CPU; each chapter's seconds before and after and their ratio (from each build's
results/book_timings_book.json); the whole build's wall time; and every scorecard claim's effect, half-width and
verdict before and after (results/scorecard.json), a changed verdict marked. Nothing here is asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- before-after: written by bench/bench_before_after.py -->", "<!-- /before-after -->"


def run_timed(cmd: list[str], cwd: Path, log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "w") as f:
        subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - t0


def fresh_clone(sha: str, dest: Path) -> None:
    """A clean clone of this repository at commit ``sha`` in ``dest``, as a new user or CI gets it."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "checkout", "-q", sha], cwd=dest, check=True)


def build(commit: str, work: Path) -> Path:
    """A fresh clone of ``commit`` built with ``make book``, timed from the clone to the HTML."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    clone = work / sha[:12]
    t0 = time.perf_counter()
    fresh_clone(sha, clone)
    print(f"[{sha[:12]}] make book in {clone}", flush=True)
    run_timed(["make", "book"], clone, work / f"{sha[:12]}-book.log")
    wall = time.perf_counter() - t0
    (clone / "results" / "make_book_wall_s.txt").write_text(f"{wall:.1f}\n")
    return clone


def time_ci(built: Path, work: Path) -> None:
    """``bash .ci/run`` in a clean clone of the commit ``built`` holds, as CI runs it; the time kept in ``built``."""
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=built, capture_output=True, text=True, check=True).stdout.strip()
    ci_clone = work / f"{sha[:12]}-ci"
    t0 = time.perf_counter()
    fresh_clone(sha, ci_clone)
    print(f"[{sha[:12]}] bash .ci/run in {ci_clone}", flush=True)
    run_timed(["bash", ".ci/run"], ci_clone, work / f"{sha[:12]}-ci.log")
    (built / "results" / "ci_run_s.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")


def read(clone: Path) -> dict:
    """What a built clone measured: its chapters' seconds, its machine and its scorecard."""
    timings = json.loads((clone / "results" / "book_timings_book.json").read_text())
    cached = [c for c, v in timings["chapters"].items() if v["cached"]]
    if cached:
        raise ValueError(f"{clone}: chapters {cached} came from the build's cache, not from a run; build a fresh clone.")
    card = json.loads((clone / "results" / "scorecard.json").read_text())
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    extra = {k: float((clone / "results" / f).read_text()) for k, f in (("wall_s", "make_book_wall_s.txt"),
                                                                        ("ci_s", "ci_run_s.txt"))
             if (clone / "results" / f).exists()}
    return {**extra, "commit": commit, "machine": timings["machine"], "execute_s": timings["execute_s"],
            "chapters": {c: v["seconds"] for c, v in timings["chapters"].items()},
            "claims": [{"key": c["key"], "claim": c["claim"], "verdict": c["verdict"],
                        "effect": (c.get("measured") or {}).get("effect"),
                        "half_width": (c.get("measured") or {}).get("half_width")} for c in card["claims"]]}


def minutes(s: float | None) -> str:
    return "" if s is None else f"{s / 60:.1f} min"


def table(old: dict, new: dict) -> str:
    m = new["machine"]
    if (old["machine"]["cpu"], old["machine"]["avx512"]) != (m["cpu"], m["avx512"]):
        raise ValueError(f"the two builds ran on different machines ({old['machine']['cpu']} and {m['cpu']}): "
                         f"side by side means one machine.")
    lines = [f"{m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB, AVX-512 {'yes' if m['avx512'] else 'no'}), "
             f"{old['machine']['date']} and {m['date']}; old {old['commit'][:7]}, new {new['commit'][:7]}, each a "
             f"fresh clone, one after the other.", "",
             "| chapter | before | after | after / before |", "|---|---|---|---|"]
    for c in new["chapters"]:
        a, b = old["chapters"].get(c), new["chapters"][c]
        lines.append(f"| {c} | {a:,.0f} s | {b:,.0f} s | {b / a:.2f}x |" if a else f"| {c} | | {b:,.0f} s | |")
    lines.append(f"| **all chapters** | {old['execute_s']:,.0f} s | {new['execute_s']:,.0f} s | "
                 f"**{new['execute_s'] / old['execute_s']:.2f}x** |")
    if "wall_s" in old and "wall_s" in new:
        lines.append(f"| fresh clone to HTML (`make book`) | {minutes(old['wall_s'])} | {minutes(new['wall_s'])} | "
                     f"{new['wall_s'] / old['wall_s']:.2f}x |")
    if "ci_s" in old and "ci_s" in new:
        lines.append(f"| fresh clone, `bash .ci/run` | {minutes(old['ci_s'])} | {minutes(new['ci_s'])} | "
                     f"{new['ci_s'] / old['ci_s']:.2f}x |")
    lines += ["", "| claim | before | after | verdict before | verdict after |", "|---|---|---|---|---|"]
    before = {c["key"]: c for c in old["claims"]}
    for c in new["claims"]:
        b = before.get(c["key"], {})
        fmt = lambda x: "" if x.get("effect") is None else f"{x['effect']:+.3f}" + (  # noqa: E731
            "" if x.get("half_width") is None else f" ± {x['half_width']:.3f}")
        mark = "" if b.get("verdict") == c["verdict"] else " **(changed)**"
        lines.append(f"| {c['claim'][:90]} | {fmt(b)} | {fmt(c)} | {b.get('verdict', '')} | {c['verdict']}{mark} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the commit before (built first), or a folder already built")
    ap.add_argument("--new", default="HEAD", help="the commit after, or a folder already built")
    ap.add_argument("--ci", action="store_true", help="also time `bash .ci/run` in a fresh clone of each")
    ap.add_argument("--write", action="store_true", help="write bench/before_after.json and bench/README.md's block")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rlhf_before_after_"))
    built = []
    for x in (args.old, args.new):  # one after the other: the old book (and its CI), then the new
        folder = Path(x) if Path(x).is_dir() else build(x, work)
        if args.ci and not (folder / "results" / "ci_run_s.txt").exists():
            time_ci(folder, work)
        built.append(read(folder))
    old, new = built
    text = table(old, new)
    print(text)
    if args.write:
        (ROOT / "bench" / "before_after.json").write_text(json.dumps({"old": old, "new": new}, indent=1) + "\n")
        readme = ROOT / "bench" / "README.md"
        s = readme.read_text()
        if START not in s:
            s += f"\n## Before and after, side by side\n\n{START}\n{END}\n"
        head, rest = s.split(START, 1)
        readme.write_text(head + START + "\n" + text + "\n" + END + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
