"""What the book build writes into each chapter's staged copy: the "Run this chapter" box with its measured run
times (``rlhf_lite.site.times``), and the chapter's opening screen without papermill's injected cell. What each chapter
caches under ``runs/`` and what it teaches are in ``book/chapters.yml``, beside the pages that show them. The course
guide's generated pages are ``rlhf_lite.site.course``.

Why our own code: Jupyter Book renders what a notebook holds; inserting a generated cell into the staged
copy (never into the committed notebook) is the one place where measured times can reach the page.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from rlhf_lite.site.times import PROFILES, _measured_on, _on_each

CHAPTERS_FILE = Path("book") / "chapters.yml"
GENERATED = Path("book") / "_generated"
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


def chapter_link(stem: str, chapter: dict) -> str:
    """A link to the chapter from a page in book/, under its title."""
    return f"{{doc}}`{chapter['title']} <../notebooks/{stem}>`"


def run_box(stem: str, rel: str, chapter: dict, times: dict, profile: str = "book") -> str:
    """The markdown of one chapter's "Run this chapter" box: the papermill command for both profiles, the
    measured run time of each, what the chapter caches under runs/, and the profile of the page itself."""
    lines = [":::{admonition} Run this chapter", ":class: tip", "",
             "From the repository's root, after `make env` and `source .venv/bin/activate`:", "", "```bash"]
    lines += [f"papermill {rel} out.ipynb -p profile {p}" for p in PROFILES]
    several = len(times["machines"]) > 1
    lines += ["```", "",
              f"Run time in the `ci` profile, the small one the tests run: {_on_each(times, stem, 'ci')}; in the "
              f"`book` profile, whose results the book quotes: {_on_each(times, stem, 'book')} "
              f"({_measured_on(times)})." + (" Machines of the same kind differ about 2x in speed, so expect "
                                              "your own time anywhere in that range." if several else ""),
              "",
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
