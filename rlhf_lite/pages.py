"""What the book build writes into its pages from measurements: each chapter's "Run this chapter" box, the
course guide's table of run times, and the chapter's opening screen without papermill's injected cell.

Run times come from ``bench/chapter_times.json``, a table of per-chapter seconds in both profiles measured
on a 2-core machine by complete builds (``bench/bench_chapters.py`` writes it from the timings each build
leaves in ``results/``), and from this build's own timings; nothing is typed into the prose. What each
chapter caches under ``runs/`` and what it teaches are in ``book/chapters.yml``, beside the pages that
show them.

Why our own code: Jupyter Book renders what a notebook holds; inserting a generated cell into the staged
copy (never into the committed notebook) is the one place where measured times can reach the page.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

CHAPTERS_FILE = Path("book") / "chapters.yml"
TIMES_FILE = Path("bench") / "chapter_times.json"
GENERATED = Path("book") / "_generated"
PROFILES = ("ci", "book")
RUN_BOX_TAG = "run-this-chapter"


def load_chapters(root: Path, stems: list[str]) -> dict[str, dict]:
    """``book/chapters.yml``: for every chapter, what it teaches and what it caches under runs/. Refuses a
    file that misses a chapter of the table of contents or names one that is not there."""
    path = root / CHAPTERS_FILE
    data = yaml.safe_load(path.read_text()) or {}
    missing, unknown = sorted(set(stems) - set(data)), sorted(set(data) - set(stems))
    if missing or unknown:
        raise ValueError(f"{path}: every chapter of _toc.yml needs an entry, and only those; missing {missing}, "
                         f"not in _toc.yml {unknown}.")
    for stem, entry in data.items():
        lacking = [k for k in ("title", "teaches", "caches", "assign") if not entry.get(k)]
        if lacking:
            raise ValueError(f"{path}: chapter {stem} lacks {lacking}; give each a line of text.")
    return data


def load_times(root: Path, log=print) -> dict:
    """The measured table: {"machine": {...}, "seconds": {profile: {chapter: seconds}}}. Without one (a new
    book, or a deleted file) the pages say "not measured" rather than guess."""
    path = root / TIMES_FILE
    if not path.exists():
        log(f"[book] {path} is missing, so the pages show no run times: after a full build of each profile, "
            f"`python bench/bench_chapters.py` writes it.")
        return {"machine": None, "seconds": {}}
    return json.loads(path.read_text())


def _measured_on(times: dict) -> str:
    m = times["machine"]
    return f"{m['cores']} cores, measured {m['date']}" if m else "no measured times yet"


def minutes(seconds: float | None) -> str:
    """A run time as a reader wants it: "40 s", "3 min", "1 h 5 min"; "not measured" when there is none."""
    if seconds is None:
        return "not measured"
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    m = round(seconds / 60)
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h" + (f" {m % 60} min" if m % 60 else "")


def _seconds(times: dict, stem: str) -> dict:
    """{profile: the chapter's measured seconds, or None}."""
    return {p: times["seconds"].get(p, {}).get(stem) for p in PROFILES}


def chapter_link(stem: str, chapter: dict) -> str:
    """A link to the chapter from a page in book/, under its title."""
    return f"{{doc}}`{chapter['title']} <../notebooks/{stem}>`"


def run_box(stem: str, rel: str, chapter: dict, times: dict, profile: str = "book") -> str:
    """The markdown of one chapter's "Run this chapter" box: the papermill command for both profiles, the
    measured run time of each, what the chapter caches under runs/, and the profile of the page itself."""
    secs = _seconds(times, stem)
    lines = [":::{admonition} Run this chapter", ":class: tip", "",
             "From the repository's root, after `make env` and `source .venv/bin/activate`:", "", "```bash"]
    lines += [f"papermill {rel} out.ipynb -p profile {p}" for p in PROFILES]
    lines += ["```", "",
              f"It takes **{minutes(secs['ci'])}** in the `ci` profile, the small one the tests run, and "
              f"**{minutes(secs['book'])}** in the `book` profile, whose results the book quotes ({_measured_on(times)}). "
              f"This page was built in the `{profile}` profile. It caches under `runs/`: {chapter['caches']} "
              f"A rerun reuses what is still valid.", ":::"]
    return "\n".join(lines)


def prepare_staged_notebook(path: Path, box: str) -> None:
    """Insert ``box`` after the chapter's opening markdown cell and hide papermill's injected parameters
    cell in the rendered page (myst-nb's ``remove-cell`` tag; the cell stays in the executed notebook)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    nb.cells = [c for c in nb.cells if RUN_BOX_TAG not in c.metadata.get("tags", [])]  # a cached copy had one
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    cell = nbformat.v4.new_markdown_cell(box)
    cell.metadata["tags"] = [RUN_BOX_TAG]
    nb.cells.insert(first + 1, cell)
    nbformat.write(nb, str(path))


def times_table(chapters: dict, times: dict, this_build: dict | None = None) -> str:
    """The course guide's table: each chapter, what it teaches, its measured time in both profiles, and (when
    given) this build's own time for its profile."""
    profile = (this_build or {}).get("profile")
    head = ["Chapter", "What it teaches", "`ci`", "`book`"] + ([f"this build (`{profile}`)"] if profile else [])
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = {p: 0.0 for p in PROFILES}
    for stem, ch in chapters.items():
        secs = _seconds(times, stem)
        for p in PROFILES:
            total[p] += secs[p] or 0.0
        row = [chapter_link(stem, ch), ch["teaches"]] + [minutes(secs[p]) for p in PROFILES]
        if profile:
            row.append(minutes((this_build.get("chapters", {}).get(stem) or {}).get("seconds")))
        rows.append("| " + " | ".join(row) + " |")
    rows.append("| all chapters | | " + " | ".join(minutes(total[p] or None) for p in PROFILES) + (" | |" if profile else " |"))
    m = times["machine"]
    rows += ["", f"Measured by complete builds on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), "
                 f"{m['date']}, with `bench/bench_chapters.py`." if m else "No measured times yet."]
    return "\n".join(rows) + "\n"


def write_generated(staging: Path, chapters: dict, times: dict, this_build: dict | None = None) -> Path:
    """Write the generated includes into the staged book (``book/_generated/``); returns the folder."""
    out = staging / GENERATED
    out.mkdir(parents=True, exist_ok=True)
    (out / "chapter_times.md").write_text(times_table(chapters, times, this_build))
    (out / "exercises.md").write_text("".join(
        f"- {chapter_link(stem, ch)}: {ch['assign']}\n" for stem, ch in chapters.items()))
    return out
