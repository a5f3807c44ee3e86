"""The book build's cache of executed chapters: reused when nothing a chapter depends on changed, rerun
when its notebook, the package, the recipes or the profile change, and its results restored with it."""

import json
import shutil

import nbformat
import pytest

import rlhf_lite.book as book

TIMES = {"machine": {"cpu": "c", "cores": 2, "memory_gib": 24, "date": "2026-11-29"},
         "seconds": {"ci": {"x": 30.0}, "book": {"x": 600.0}}}


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
    (root / "book" / "chapters.yml").write_text("x: {title: X, teaches: t, caches: nothing., assign: all}\n")
    (root / "bench").mkdir()
    (root / "bench" / "chapter_times.json").write_text(json.dumps(TIMES))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# X\n\nWhat the chapter is about."),
                                         nbformat.v4.new_code_cell("x = 1")])
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
    assert len(calls) == 1 and timings == [("notebooks/x.ipynb", 1.0, True)]  # the seconds of the run it reuses
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

    monkeypatch.setattr(io, "code_fingerprint", lambda pages=False: "edited")
    assert book.notebook_key(root, nb, "ci") != before


def test_a_change_to_a_chapter_runs_the_later_ones_again_not_the_earlier(tiny_book):
    """A chapter may read what earlier chapters wrote (results/*.json), so its key holds theirs."""
    root, calls, tmp = tiny_book
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: notebooks/x\n"
                                   "  - file: notebooks/y\n")
    shutil.copy2(root / "notebooks" / "x.ipynb", root / "notebooks" / "y.ipynb")
    with open(root / "book" / "chapters.yml", "a") as f:
        f.write("y: {title: Y, teaches: t, caches: nothing., assign: all}\n")
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


def test_each_staged_chapter_opens_with_its_run_box_and_without_papermills_injected_cell(tiny_book):
    root, calls, tmp = tiny_book
    book.stage(root, tmp / "s1", "ci")
    staged = tmp / "s1" / "notebooks" / "x.ipynb"
    nb = nbformat.read(str(staged), 4)
    nb.cells.insert(1, nbformat.v4.new_code_cell('profile = "ci"', metadata={"tags": ["injected-parameters"]}))
    nbformat.write(nb, str(staged))
    from rlhf_lite.pages import RUN_BOX_TAG, prepare_staged_notebook, run_box

    prepare_staged_notebook(staged, run_box("x", "notebooks/x.ipynb", {"caches": "nothing."}, TIMES))
    cells = nbformat.read(str(staged), 4).cells
    assert cells[0].source.startswith("# X")  # the story first
    boxes = [c for c in cells if RUN_BOX_TAG in c.metadata.get("tags", [])]
    assert len(boxes) == 1 and cells[1] is boxes[0]  # preparing a staged copy again does not add a second box
    box = boxes[0].source
    assert "papermill notebooks/x.ipynb out.ipynb -p profile ci\n" in box
    assert "papermill notebooks/x.ipynb out.ipynb -p profile book\n" in box
    assert "**30 s** in the `ci` profile" in box and "**10 min** in the `book` profile" in box and "nothing." in box
    assert "This page was built in the `book` profile" in box  # run_box's default; the build passes its own
    injected = next(c for c in cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "remove-cell" in injected.metadata["tags"]  # hidden on the page, kept in the notebook
    committed = nbformat.read(str(root / "notebooks" / "x.ipynb"), 4)
    assert len(committed.cells) == 2  # the committed notebook never gets the box


def test_the_course_guides_times_come_from_the_measured_table_and_this_build(tiny_book):
    root, calls, tmp = tiny_book
    book.stage(root, tmp / "s1", "ci")
    table = (tmp / "s1" / "book" / "_generated" / "chapter_times.md").read_text()
    assert "| 30 s | 10 min | 1 s |" in table  # ci and book from the table, this build's own run
    times = json.loads((root / "bench" / "chapter_times.json").read_text())
    times["seconds"]["book"]["x"] = 3900.0
    (root / "bench" / "chapter_times.json").write_text(json.dumps(times))
    book.stage(root, tmp / "s2", "ci")
    assert "| 30 s | 1 h 5 min |" in (tmp / "s2" / "book" / "_generated" / "chapter_times.md").read_text()


def test_a_chapter_missing_from_chapters_yml_is_named(tiny_book):
    root, calls, tmp = tiny_book
    (root / "book" / "chapters.yml").write_text("y: {title: Y, teaches: t, caches: c, assign: a}\n")
    with pytest.raises(ValueError, match=r"missing \['x'\], not in _toc.yml \['y'\]"):
        book.stage(root, tmp / "s1", "ci")
    assert not calls  # refused before running anything


def test_minutes_reads_like_a_person_wrote_it():
    from rlhf_lite.pages import minutes

    assert [minutes(s) for s in (0.2, 40, 89, 200, 3599, 3900, None)] == [
        "1 s", "40 s", "89 s", "3 min", "1 h", "1 h 5 min", "not measured"]


def test_without_a_measured_table_the_pages_say_so_instead_of_guessing(tiny_book):
    root, calls, tmp = tiny_book
    (root / "bench" / "chapter_times.json").unlink()
    book.stage(root, tmp / "s1", "ci")
    table = (tmp / "s1" / "book" / "_generated" / "chapter_times.md").read_text()
    assert "| not measured | not measured | 1 s |" in table and "No measured times yet." in table
    box = nbformat.read(str(tmp / "s1" / "notebooks" / "x.ipynb"), 4).cells[1].source
    assert "**not measured** in the `ci` profile" in box and "no measured times yet" in box
    assert "This page was built in the `ci` profile" in box
