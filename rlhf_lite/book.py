"""Build the book: execute every chapter notebook in _toc.yml with papermill, then render HTML.

    python -m rlhf_lite.book --profile book          # what `make book` runs
    python -m rlhf_lite.book --profile ci --only 01  # one chapter, fast

Why not let Jupyter Book execute the notebooks itself: it cannot pass papermill parameters
(the profile), and its cache ignores changes to the imported package. So notebooks are run
here, each into a staging copy of the book, and Jupyter Book only renders (execute: off).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

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


def execute_notebook(src: Path, dst: Path, profile: str, **extra) -> float:
    """Run one notebook with papermill (parameters: profile, plus extra), cwd = its folder."""
    import papermill

    dst.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    papermill.execute_notebook(
        str(src), str(dst), parameters={"profile": profile, **extra}, cwd=str(src.parent),
        kernel_name="python3", progress_bar=False, log_output=False,
    )
    return time.time() - t0


def stage(root: Path, staging: Path, profile: str, only: str | None = None) -> list[tuple[str, float]]:
    """Copy the book's sources to ``staging`` and execute its notebooks there."""
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
    timings = []
    for nb in toc_notebooks(root):
        rel = nb.relative_to(root)
        if only and only not in nb.name:
            shutil.copytree(nb.parent, staging / rel.parent, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.ipynb"))
            shutil.copy2(nb, staging / rel)
            continue
        print(f"[book] executing {rel} (profile={profile}) ...", flush=True)
        secs = execute_notebook(nb, staging / rel, profile)
        print(f"[book]   done in {secs:.0f} s", flush=True)
        timings.append((str(rel), secs))
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
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if not (root / "_toc.yml").exists():
        ap.error(f"{root} has no _toc.yml: run from the book's checkout or pass --root.")
    staging = root / ".book-staging"
    timings = stage(root, staging, args.profile, args.only)
    render(staging, (args.output or root).resolve())
    total = sum(s for _, s in timings)
    print(f"[book] executed {len(timings)} notebook(s) in {total:.0f} s; HTML in {(args.output or root) / '_build' / 'html'}")


if __name__ == "__main__":
    main()
