"""Build the book: execute every chapter notebook in _toc.yml with papermill, then render HTML.

    python -m rlhf_lite.site.book --profile book          # what `make book` runs
    python -m rlhf_lite.site.book --profile ci --only 01  # one chapter, fast

Why not let Jupyter Book execute the notebooks itself: it cannot pass papermill parameters
(the profile), and its cache ignores changes to the imported package. So notebooks are run
here, each into a staging copy of the book, and Jupyter Book only renders (execute: off).

Executed notebooks are cached too (``runs/book/``), keyed by everything their outputs depend on: the
notebook, the package's code, the recipes and figure scripts, the pinned stack, the profile and the
threads per job. A rebuild with nothing changed renders without executing; change any of those and the
chapter runs again (``--rerun`` forces it). Each build writes its timings to
results/book_timings_<profile>.json. Into the staged copies (never the committed notebooks) the build puts
each chapter's "Run this chapter" box and the course guide's table of measured times (rlhf_lite.site.pages), and its
table of what a `ci` run should print (rlhf_lite.site.scorecard, from bench/ci_reference.json).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

# what a time was measured on (in devices: the reward stage records it beside a model's seconds too)
from rlhf_lite.devices import machine

BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("book", "figures")


def toc_files(root: Path) -> list[str]:
    """Every document named in _toc.yml, in reading order (paths without suffix, as written)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(node):
        for key in ("chapters", "sections", "parts"):
            for child in node.get(key, []) or []:
                if "file" in child:
                    out.append(child["file"])
                walk(child)

    walk(toc)
    return out


def toc_notebooks(root: Path) -> list[Path]:
    nbs = []
    for f in toc_files(root):
        p = root / f
        candidates = [p] if p.suffix else [p.with_suffix(".ipynb"), p.with_suffix(".md")]
        found = [c for c in candidates if c.exists()]
        if not found:
            raise FileNotFoundError(f"_toc.yml names {f!r} but none of {[str(c) for c in candidates]} exists.")
        if found[0].suffix == ".ipynb":
            nbs.append(found[0])
    return nbs


# Run in the kernel before a chapter's first cell: every figure it shows then carries the size of its smallest text
# (rlhf_lite.plots.record_text_sizes), which tests/test_browser.py checks on the page. Here, not in each chapter,
# so no chapter can leave it out and the page shows no line of it.
RECORD_TEXT = """--InteractiveShellApp.exec_lines=['__import__("rlhf_lite.plots").plots.record_text_sizes()']"""


def execute_notebook(src: Path, dst: Path, profile: str, **extra) -> float:
    """Run one notebook with papermill (parameters: profile, plus extra), cwd = its folder."""
    import papermill

    dst.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    papermill.execute_notebook(
        str(src), str(dst), parameters={"profile": profile, **extra}, cwd=str(src.parent),
        kernel_name="python3", progress_bar=False, log_output=False, extra_arguments=[RECORD_TEXT],
    )
    return time.time() - t0


def notebook_key(root: Path, nb: Path, profile: str, before: str = "") -> str:
    """A hash of everything an executed chapter depends on (see the module docstring). ``before`` is the key
    of the chapter before it: a chapter may read what earlier ones wrote (results/*.json), so a change to
    any earlier chapter runs the later ones again."""
    import importlib.metadata as md
    import platform

    from rlhf_lite.io import code_fingerprint, file_hash, fingerprint
    from rlhf_lite.parallel import job_threads

    files = [nb, root / "pyproject.toml", root / "constraints.txt", *sorted((root / "recipes").rglob("*.yaml")),
             *sorted((root / "figures").glob("*.py"))]
    return fingerprint({
        "files": {str(f.relative_to(root)): file_hash(f) for f in files if f.exists()},
        "before": before, "code": code_fingerprint(pages=True), "profile": profile, "threads": job_threads(),
        "python": platform.python_version(),
        "stack": {p: md.version(p) for p in ("torch", "transformers", "trl", "datasets", "peft", "numpy")},
    })


def stage(root: Path, staging: Path, profile: str, only: str | None = None, cache: bool = True) -> list[tuple[str, float]]:
    """Copy the book's sources to ``staging`` and execute its notebooks there (or take them from the cache of
    executed notebooks, with the results each wrote, when ``cache`` and nothing they depend on changed)."""
    from rlhf_lite.io import copy_atomic, results_dir, runs_dir
    from rlhf_lite.site.course import load_ci_reference
    from rlhf_lite.site.course_plan import check_plan, write_generated
    from rlhf_lite.site.pages import load_chapters, prepare_staged_notebook, run_box
    from rlhf_lite.site.times import load_times
    from rlhf_lite.site.scorecard import write_ci_reference, write_scorecard

    notebooks = toc_notebooks(root)
    chapters, times = load_chapters(root, [nb.stem for nb in notebooks]), load_times(root)  # fail before running
    check_plan(chapters)  # the course guide's timed day names chapters the book has, before any chapter runs
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for f in BOOK_FILES:
        shutil.copy2(root / f, staging / f)
    for d in BOOK_DIRS:
        if (root / d).exists():
            shutil.copytree(root / d, staging / d)
    for script in sorted((staging / "figures").glob("*.py")):  # concept diagrams are drawn, not committed
        subprocess.run([sys.executable, script.name], cwd=script.parent, check=True, capture_output=True)
    timings, key = [], ""
    for nb in notebooks:
        rel = nb.relative_to(root)
        box = run_box(nb.stem, str(rel), chapters[nb.stem], times, profile)
        key = notebook_key(root, nb, profile, key)
        if only and only not in nb.name:
            shutil.copytree(nb.parent, staging / rel.parent, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.ipynb"))
            shutil.copy2(nb, staging / rel)
            prepare_staged_notebook(staging / rel, box)
            continue
        cached = runs_dir() / "book" / f"{profile}-{nb.stem}-{key}"
        result = results_dir() / f"{nb.stem}.json"
        if cache and (cached / "done").exists():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached / nb.name, staging / rel)  # a new mtime: Sphinx must re-read it
            if (cached / "results.json").exists():
                copy_atomic(cached / "results.json", result)
            print(f"[book] {rel}: unchanged since its last run, taken from {cached}", flush=True)
            secs = float((cached / "seconds").read_text()) if (cached / "seconds").exists() else None
            timings.append((str(rel), secs, True))
            prepare_staged_notebook(staging / rel, box)
            continue
        print(f"[book] executing {rel} (profile={profile}) ...", flush=True)
        started = time.time()
        secs = execute_notebook(nb, staging / rel, profile)
        print(f"[book]   done in {secs:.0f} s", flush=True)
        timings.append((str(rel), secs, False))
        if cache:
            cached.mkdir(parents=True, exist_ok=True)
            shutil.copy2(staging / rel, cached / nb.name)
            if result.exists() and result.stat().st_mtime >= started - 1:  # written by this run, not an old one
                shutil.copy2(result, cached / "results.json")
            (cached / "seconds").write_text(f"{secs:.1f}")
            (cached / "done").touch()
        prepare_staged_notebook(staging / rel, box)
    write_generated(staging, chapters, times, {"profile": profile, "machine": machine(), "chapters": {
        Path(r).stem: {"seconds": secs} for r, secs, _ in timings}}, load_ci_reference(root))
    rows = write_scorecard(staging, results_dir(), chapters, profile, [Path(r).stem for r, _, _ in timings])
    print("[book] scorecard: " + ", ".join(f"{r['key']} {r['verdict']}" for r in rows), flush=True)
    write_ci_reference(staging, root, rows, chapters, profile)  # the course guide: what a ci run should print
    return timings


def render(staging: Path, output: Path) -> None:
    """jupyter-book build with warnings as errors; HTML lands in output/_build/html."""
    # jupyter_book.cli.main has no __main__ guard; call its click entry point directly.
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", str(staging), "--path-output", str(output), "-W", "--keep-going"]
    print("[book] rendering: jupyter-book", " ".join(cmd[3:]), flush=True)
    subprocess.run(cmd, check=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="book", choices=["ci", "book"])
    ap.add_argument("--only", help="execute only notebooks whose name contains this (others are copied unexecuted)")
    ap.add_argument("--root", type=Path, default=Path.cwd())
    ap.add_argument("--output", type=Path, help="where _build/html goes (default: the root)")
    ap.add_argument("--rerun", action="store_true", help="execute every chapter even if its cached run is current")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if not (root / "_toc.yml").exists():
        ap.error(f"{root} has no _toc.yml: run from the book's checkout or pass --root.")
    staging = root / ".book-staging"
    # (importing rlhf_lite has set THREAD_ENV, the OpenMP spin, for every kernel and worker this starts)
    t0 = time.time()
    timings = stage(root, staging, args.profile, args.only, cache=not args.rerun)
    t1 = time.time()
    render(staging, (args.output or root).resolve())
    t2 = time.time()
    from rlhf_lite.io import results_dir, write_json

    write_json(results_dir() / f"book_timings_{args.profile}.json", {
        "profile": args.profile, "execute_s": t1 - t0, "render_s": t2 - t1, "total_s": t2 - t0,
        # a cached chapter's seconds are those of the run that made the cached copy
        "chapters": {Path(r).stem: {"seconds": secs, "cached": hit} for r, secs, hit in timings},
        "machine": machine(),
    })
    ran = [secs for _, secs, hit in timings if not hit]
    print(f"[book] executed {len(ran)} notebook(s) in {sum(ran):.0f} s ({len(timings) - len(ran)} unchanged), rendered in "
          f"{t2 - t1:.0f} s; HTML in {(args.output or root) / '_build' / 'html'}")




if __name__ == "__main__":
    main()
