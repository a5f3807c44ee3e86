"""The book build's cache of executed chapters: reused when nothing a chapter depends on changed, rerun
when its notebook, the package, the recipes or the profile change, and its results restored with it."""

import json
import shutil

import nbformat
import pytest

import rlhf_lite.book as book


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    root = tmp_path / "src"
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    (root / "figures").mkdir()
    (root / "recipes").mkdir()
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/x\n")
    (root / "_config.yml").write_text("title: t\n")
    (root / "references.bib").write_text("")
    (root / "book" / "intro.md").write_text("# intro\n")
    (root / "recipes" / "r.yaml").write_text("a: 1\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, str(root / "notebooks" / "x.ipynb"))
    monkeypatch.setenv("RLHF_LITE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RLHF_LITE_RESULTS", str(tmp_path / "results"))
    calls = []

    def execute(src, dst, profile, **extra):  # what papermill would do: an executed copy, and results
        calls.append((src.name, profile))
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        (tmp_path / "results").mkdir(exist_ok=True)
        (tmp_path / "results" / "x.json").write_text(json.dumps({"run": len(calls)}))
        return 1.0

    monkeypatch.setattr(book, "execute_notebook", execute)
    return root, calls, tmp_path


def test_an_unchanged_chapter_is_not_executed_again_and_its_results_come_back(tiny_book):
    root, calls, tmp = tiny_book
    book.stage(root, tmp / "s1", "ci")
    (tmp / "results" / "x.json").unlink()
    timings = book.stage(root, tmp / "s2", "ci")
    assert len(calls) == 1 and timings == [("notebooks/x.ipynb", 0.0, True)]
    assert json.loads((tmp / "results" / "x.json").read_text()) == {"run": 1}
    assert (tmp / "s2" / "notebooks" / "x.ipynb").exists()


@pytest.mark.parametrize("change", ["notebook", "recipe", "profile", "rerun"])
def test_a_chapter_runs_again_when_what_it_depends_on_changes(tiny_book, change):
    root, calls, tmp = tiny_book
    book.stage(root, tmp / "s1", "ci")
    profile, cache = "ci", True
    if change == "notebook":
        nb = nbformat.read(str(root / "notebooks" / "x.ipynb"), 4)
        nb.cells[0].source = "x = 2"
        nbformat.write(nb, str(root / "notebooks" / "x.ipynb"))
    elif change == "recipe":
        (root / "recipes" / "r.yaml").write_text("a: 2\n")
    elif change == "profile":
        profile = "book"
    else:
        cache = False
    book.stage(root, tmp / "s2", profile, cache=cache)
    assert len(calls) == 2


def test_the_package_code_is_part_of_the_key(tiny_book, monkeypatch):
    root, _, _ = tiny_book
    nb = root / "notebooks" / "x.ipynb"
    before = book.notebook_key(root, nb, "ci")
    import rlhf_lite.io as io

    monkeypatch.setattr(io, "code_fingerprint", lambda: "edited")
    assert book.notebook_key(root, nb, "ci") != before


def test_a_change_to_a_chapter_runs_the_later_ones_again_not_the_earlier(tiny_book):
    """A chapter may read what earlier chapters wrote (results/*.json), so its key holds theirs."""
    root, calls, tmp = tiny_book
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/x\n"
                                   "  - file: notebooks/y\n")
    shutil.copy2(root / "notebooks" / "x.ipynb", root / "notebooks" / "y.ipynb")
    book.stage(root, tmp / "s1", "ci")
    assert [c[0] for c in calls] == ["x.ipynb", "y.ipynb"]

    def edit(name, source):
        nb = nbformat.read(str(root / "notebooks" / name), 4)
        nb.cells[0].source = source
        nbformat.write(nb, str(root / "notebooks" / name))

    edit("y.ipynb", "y = 2")
    book.stage(root, tmp / "s2", "ci")
    assert [c[0] for c in calls[2:]] == ["y.ipynb"]  # x is unchanged and comes from the cache
    edit("x.ipynb", "x = 3")
    book.stage(root, tmp / "s3", "ci")
    assert [c[0] for c in calls[3:]] == ["x.ipynb", "y.ipynb"]  # x changed: y may read what x writes
