"""The book build's cache of executed chapters: reused when nothing a chapter depends on changed, rerun
when its notebook, the package, the recipes or the profile change, and its results restored with it."""

import json
import re
import shutil

import nbformat
import pytest
import yaml

import rlhf_lite.site.book as book

TIMES = {"machines": [{"cpu": "c", "cores": 2, "avx512": True, "memory_gib": 24, "date": "2026-11-29",
                       "seconds": {"ci": {"x": 30.0}, "book": {"x": 600.0}}}]}


def _tiny_day():
    from rlhf_lite.site.course_plan import Session

    return (Session("run it live", stem="x", run="ci", reading=40, talk=15), Session("Break", reading=15),
            Session("each group runs an exercise in `{profile}`", stem="x", run="exercises", reading=45, talk=30))


TINY_DAY = _tiny_day()


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
    import rlhf_lite.site.course_plan as course_plan

    monkeypatch.setattr(course_plan, "DAY_PLAN", TINY_DAY)  # the real plan names the real chapters
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
    from rlhf_lite.site.pages import RUN_BOX_TAG, prepare_staged_notebook, run_box

    prepare_staged_notebook(staged, run_box("x", "notebooks/x.ipynb", {"caches": "nothing."}, TIMES))
    cells = nbformat.read(str(staged), 4).cells
    assert cells[0].source.startswith("# X")  # the story first
    boxes = [c for c in cells if RUN_BOX_TAG in c.metadata.get("tags", [])]
    assert len(boxes) == 1 and cells[1] is boxes[0]  # preparing a staged copy again does not add a second box
    box = boxes[0].source
    assert "papermill notebooks/x.ipynb out.ipynb -p profile ci\n" in box
    assert "papermill notebooks/x.ipynb out.ipynb -p profile book\n" in box
    assert "profile, the small one the tests run: **30 s** on c (2 cores, with AVX-512)" in box
    assert "**10 min** on c (2 cores, with AVX-512) (complete builds, 2026-11-29)" in box and "nothing." in box
    assert "differ about 2x" not in box  # one machine measured: no range to speak of
    assert "This page was built in the `book` profile" in box  # run_box's default; the build passes its own
    injected = next(c for c in cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "remove-cell" in injected.metadata["tags"]  # hidden on the page, kept in the notebook
    committed = nbformat.read(str(root / "notebooks" / "x.ipynb"), 4)
    assert len(committed.cells) == 2  # the committed notebook never gets the box


def test_the_course_guides_times_come_from_the_measured_table_and_this_build(tiny_book):
    from rlhf_lite.site.times import machine_label

    root, calls, tmp = tiny_book
    book.stage(root, tmp / "s1", "ci")
    table = (tmp / "s1" / "book" / "_generated" / "chapter_times.md").read_text()
    # ci and book from the table, this build's own run; its 1 s lies below the recorded 30 s: the ci range takes it in
    assert "| 1 to 30 s | 10 min | 1 s |" in table
    assert "For 1 chapter it lay outside the recorded builds' range, so the `ci` range beside it takes it" in table
    # the table says what each column is: the profile, a range over machines, and this build's CPU
    assert ("| `ci` profile: fastest to slowest build | `book` profile: fastest to slowest build | This build: "
            f"`ci` profile, {machine_label(book.machine())} |") in table
    assert "**Each time was measured on one machine**, c (2 cores, with AVX-512). Machines of our kind differ" in table
    assert ("On c (2 cores, with AVX-512), the chapters it timed in both profiles took 20 times as long in `book` "
            "as in `ci`.") in table
    times = json.loads((root / "bench" / "chapter_times.json").read_text())
    times["machines"][0]["seconds"]["book"]["x"] = 3900.0
    (root / "bench" / "chapter_times.json").write_text(json.dumps(times))
    book.stage(root, tmp / "s2", "ci")
    assert "| 1 to 30 s | 1 h 5 min |" in (tmp / "s2" / "book" / "_generated" / "chapter_times.md").read_text()
    # a second kind of machine, slower: every page shows the range, and names both machines
    times["machines"].append({"cpu": "AMD EPYC 7B13 64-Core Processor", "cores": 2, "avx512": False,
                              "memory_gib": 24, "date": "2026-12-01", "seconds": {"book": {"x": 7200.0}}})
    (root / "bench" / "chapter_times.json").write_text(json.dumps(times))
    book.stage(root, tmp / "s3", "ci")
    table = (tmp / "s3" / "book" / "_generated" / "chapter_times.md").read_text()
    assert "| 1 to 30 s | 1 h 5 min to 2 h |" in table
    assert ("the slowest of the machines that measured the chapter (2 machines with 2 cores, named in the second "
            "table), not one machine's time. On the chapters they all measured, the slowest took 1.8 times as long as "
            "the fastest: machines of our kind differ that much in speed, much of it from whether the CPU has "
            "AVX-512") in table
    assert "| AMD EPYC 7B13 (2 cores, without AVX-512) | 24 GiB | 2026-12-01. | not measured | 2 h | 2 h |" in table
    box = nbformat.read(str(tmp / "s3" / "notebooks" / "x.ipynb"), 4).cells[1].source
    assert ("**1 h 5 min** on c (2 cores, with AVX-512) and **2 h** on AMD EPYC 7B13 (2 cores, without AVX-512) "
            "(complete builds, 2026-11-29 to 2026-12-01). Machines of the same kind differ about 2x") in box


def test_a_chapter_missing_from_chapters_yml_is_named(tiny_book):
    root, calls, tmp = tiny_book
    (root / "book" / "chapters.yml").write_text("y: {title: Y, teaches: t, caches: c, assign: a}\n")
    with pytest.raises(ValueError, match=r"missing \['x'\], not in _toc.yml \['y'\]"):
        book.stage(root, tmp / "s1", "ci")
    assert not calls  # refused before running anything


def test_minutes_reads_like_a_person_wrote_it():
    from rlhf_lite.site.times import minutes

    assert [minutes(s) for s in (0.2, 40, 89, 200, 3599, 3900, None)] == [
        "1 s", "40 s", "89 s", "3 min", "1 h", "1 h 5 min", "not measured"]


def test_without_a_measured_table_the_pages_say_so_instead_of_guessing(tiny_book):
    root, calls, tmp = tiny_book
    (root / "bench" / "chapter_times.json").unlink()
    book.stage(root, tmp / "s1", "ci")
    table = (tmp / "s1" / "book" / "_generated" / "chapter_times.md").read_text()
    assert "| not measured | not measured | 1 s |" in table and "No measured times yet." in table
    assert "**No machine has been timed yet**" in table and "2x" not in table
    box = nbformat.read(str(tmp / "s1" / "notebooks" / "x.ipynb"), 4).cells[1].source
    assert "run: **not measured**; in the `book`" in box and "no measured times yet" in box
    assert "This page was built in the `ci` profile" in box


def test_the_readme_paragraph_of_build_times_is_the_measured_file():
    """The README's times are written from bench/chapter_times.json (bench/bench_chapters.py), never typed:
    an edit to either without the other fails here."""
    from pathlib import Path

    from rlhf_lite.site.times import load_times, readme_block, readme_times

    root = Path(__file__).resolve().parents[1]
    times = load_times(root)
    assert times["machines"], "bench/chapter_times.json holds no machine"
    assert readme_block(root / "README.md") == readme_times(times, [nb.stem for nb in book.toc_notebooks(root)])


def test_timings_from_a_new_machine_join_the_file_and_replace_only_their_own(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_chapters", Path(__file__).resolve().parents[1] / "bench"
                                                  / "bench_chapters.py")
    bc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bc)
    mine = {"cpu": "AMD EPYC", "cores": 2, "avx512": True, "flags": ["avx2", "avx512f"], "memory_gib": 24,
            "date": "2026-12-03"}
    build = {"chapters": {"x": {"seconds": 61.04, "cached": False}}, "machine": mine}
    times = bc.record(TIMES, "book", build)
    assert [m["cpu"] for m in times["machines"]] == ["c", "AMD EPYC"]
    assert times["machines"][1]["seconds"] == {"book": {"x": 61.0}}
    again = bc.record(times, "ci", {"chapters": {"x": {"seconds": 5.0, "cached": False}}, "machine": mine})
    assert again["machines"][1]["seconds"] == {"book": {"x": 61.0}, "ci": {"x": 5.0}}  # profile by profile
    assert again["machines"][0] == TIMES["machines"][0]  # another machine's entry is kept as it was
    other = dict(mine, avx512=False)  # same model name, no AVX-512: another kind of machine
    assert len(bc.record(again, "book", {**build, "machine": other})["machines"]) == 3
    with pytest.raises(ValueError, match="from its cache"):
        bc.record(TIMES, "book", {"chapters": {"x": {"seconds": 1.0, "cached": True}}, "machine": mine})
    with pytest.raises(ValueError, match="AVX-512"):
        bc.record(TIMES, "book", {**build, "machine": {k: v for k, v in mine.items() if k != "avx512"}})


def test_the_build_records_the_cpu_flags_that_decide_its_speed():
    info = ("processor\t: 0\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n\n"
            "processor\t: 1\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n")
    m = book.machine(info)
    assert m["cpu"] == "AMD EPYC 9B14" and m["avx512"] is True and m["flags"] == ["avx", "avx2", "fma", "avx512f",
                                                                                 "avx512bw"]
    m = book.machine(info.replace(" avx512f avx512bw", ""))
    assert m["avx512"] is False and m["flags"] == ["avx", "avx2", "fma"]


def test_an_old_one_machine_file_is_read_as_one_entry(tmp_path):
    from rlhf_lite.site.times import TIMES_FILE, load_times, machine_label

    (tmp_path / TIMES_FILE).parent.mkdir()
    (tmp_path / TIMES_FILE).write_text(json.dumps({"machine": {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2,
                                                               "memory_gib": 24, "date": "2026-11-30"},
                                                   "seconds": {"book": {"x": 1.0}}}))
    (m,) = load_times(tmp_path)["machines"]
    assert m["seconds"] == {"book": {"x": 1.0}} and machine_label(m) == "Intel Xeon (2 cores, AVX-512 not recorded)"


def test_the_readme_sets_machines_side_by_side_on_the_chapters_they_all_measured():
    """A machine timed before a chapter existed must not look as fast as one that ran it: the machines are
    ordered, and the complete one also quoted, on the chapters every machine measured."""
    from rlhf_lite.site.times import readme_times

    old = {"cpu": "Intel(R) Xeon(R) Processor", "cores": 2, "avx512": None, "date": "2026-11-30",
           "seconds": {"book": {"a": 600.0}}}
    new = {"cpu": "AMD EPYC", "cores": 2, "avx512": True, "date": "2026-12-03",
           "seconds": {"book": {"a": 900.0, "b": 1500.0}}}
    text = readme_times({"machines": [new, old]}, ["a", "b"])
    assert text.index("Intel Xeon") < text.index("AMD EPYC")
    assert "10 min on Intel Xeon (2 cores, AVX-512 not recorded), 2026-11-30, without b;" in text
    assert "40 min on AMD EPYC (2 cores, with AVX-512), 2026-12-03 (15 min without b, to set beside the others)" in text


# The course guide's exercises to assign (book/chapters.yml, `assign`) name each exercise as "Exercise N (...)".
# Where the notebook gives the exercise a bold title ("1. **Fewer samples.** ..."), the parenthesis quotes it in
# bold; where it has none, every key word of the parenthesis must be a word of the exercise's text.
EXERCISE_REF = re.compile(r"\b[Ee]xercises? (\d+)( \(([^)]*)\))?")
STOP = {"with", "that", "this", "from", "when", "than", "what", "which", "into", "each", "their", "there"}


def notebook_exercises(source: str) -> dict[int, tuple[str | None, str]]:
    """{number: (bold title or None, text)} of the numbered list under a chapter's "## Exercises" heading, read
    from the notebook's percent-format source (notebooks/<stem>.py); the list ends at the solutions."""
    lines = source.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "# ## Exercises"), None)
    if start is None:
        return {}
    items, current = {}, None
    for ln in lines[start + 1:]:
        if ln.startswith("# %%") or ln.startswith("# ##") or ":::{admonition}" in ln:
            break
        if m := re.match(r"# (\d+)\. (.*)", ln):
            current = int(m.group(1))
            items[current] = m.group(2)
        elif current is not None and ln.startswith("#  "):
            items[current] += " " + ln[1:].strip()
    out = {}
    for n, text in items.items():
        title = re.match(r"\*\*(.+?)\*\*", text)
        out[n] = (title.group(1).strip().rstrip(".") if title else None, text)
    return out


def _words(text: str) -> set[str]:
    """Lower-case words of at least four letters, markdown and maths marks dropped, a plural 's' folded."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"[*`$\\]", "", text.lower()))
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w for w in words if len(w) >= 4 and w not in STOP}


def assign_problems(assign: str, exercises: dict[int, tuple[str | None, str]]) -> list[str]:
    """What is wrong with one chapter's `assign` against its notebook's exercises (empty: nothing)."""
    problems = []
    for m in EXERCISE_REF.finditer(assign):
        n, said = int(m.group(1)), m.group(3)
        if said is None:
            problems.append(f"exercise {n} is named without a parenthesis that says which one it is")
        elif n not in exercises:
            problems.append(f"exercise {n} ({said}) does not exist; the chapter has {sorted(exercises)}")
        elif said.startswith("**"):
            title = exercises[n][0]
            if said.strip("*").rstrip(".") != title:
                problems.append(f"exercise {n} is quoted as {said!r}, but its title is {title!r}")
        elif missing := _words(said) - _words(exercises[n][1]):
            problems.append(f"exercise {n} ({said}): {sorted(missing)} are not words of the exercise: "
                            f"{exercises[n][1][:120]!r}")
    if not EXERCISE_REF.search(assign):
        problems.append("names no exercise")
    return problems


def test_the_course_guide_names_exercises_the_chapters_have():
    """Each chapter's `assign` refers to exercises that exist in that chapter, by their titles or their words:
    renaming a quoted title or removing an exercise fails here."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    chapters = yaml.safe_load((root / "book" / "chapters.yml").read_text())
    found = {}
    for stem, ch in chapters.items():
        exercises = notebook_exercises((root / "notebooks" / f"{stem}.py").read_text())
        assert exercises, f"notebooks/{stem}.py has no numbered list under '## Exercises'"
        if problems := assign_problems(ch["assign"], exercises):
            found[stem] = problems
    assert not found, found


def test_the_exercise_check_fails_on_a_wrong_or_renamed_reference():
    source = ("# %% [markdown]\n# ## Exercises\n#\n# 1. **Fewer samples.** Rerun the gold recipe with `n = 4`\n"
              "#    instead of 8.\n# 2. Give offline DPO ten times as many pairs. How much more of the gap\n"
              "#    does it close?\n#\n# :::{admonition} Solutions\n# 3. not an exercise\n")
    ex = notebook_exercises(source)
    assert ex == {1: ("Fewer samples", "**Fewer samples.** Rerun the gold recipe with `n = 4` instead of 8."),
                  2: (None, "Give offline DPO ten times as many pairs. How much more of the gap does it close?")}
    assert assign_problems("Exercise 1 (**Fewer samples**) and exercise 2 (ten times as many offline pairs).", ex) == []
    assert "its title is 'Fewer samples'" in assign_problems("Exercise 1 (**Fewer prompts**).", ex)[0]
    assert "does not exist" in assign_problems("Exercise 3 (**Fewer samples**).", ex)[0]
    # the guide's old description of the theory chapter's exercise 1
    assert "['best', 'data', 'response']" in assign_problems("Exercise 2 (give the offline data the best responses).", ex)[0]
    assert "without a parenthesis" in assign_problems("Exercise 1 and exercise 2 (ten times as many pairs).", ex)[0]


# What a ci run should print: bench/record_ci_reference.py records a complete ci build's scorecard, and the course
# guide sets it beside this build's numbers.
def _recorder():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("record_ci_reference", Path(__file__).resolve().parents[1] / "bench"
                                                  / "record_ci_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _card(profile="ci", effect=0.0354, half_width=0.1588):
    measured = {"effect": effect, "half_width": half_width, "method": "paired by seed, t", "n": "2 seeds",
                "exact": False, "text": "true win rate, gold judge minus offline DPO", "conditions": []}
    return {"profile": profile, "claims": [
        {"key": "online_beats_offline_gold", "claim": "Online iterative DPO beats offline DPO (the lite twins); ranked by r* itself",
         "chapter": "x", "where": "Table 2", "kind": "empirical", "verdict": "no measurable difference",
         "measured": measured},
        {"key": "kl_bound", "claim": "KL of best-of-n is at most log n - (n-1)/n", "chapter": "x", "where": "3.2",
         "kind": "theory", "verdict": "holds", "measured": {**measured, "effect": 2e-10, "half_width": None,
                                                            "method": "exact", "n": "exact", "exact": True}}]}


MINE = {"cpu": "AMD EPYC 9B14", "cores": 2, "avx512": True, "flags": ["avx2", "avx512f"], "memory_gib": 24,
        "date": "2026-12-03"}


def _timings(cached=False, chapters=("x",)):
    return {"profile": "ci", "total_s": 10.0, "machine": MINE,
            "chapters": {c: {"seconds": 5.0, "cached": cached} for c in chapters}}


def test_the_ci_reference_refuses_a_book_scorecard_a_cached_chapter_and_a_partial_build():
    rec = _recorder()
    with pytest.raises(ValueError, match="of the 'book' profile, not 'ci'"):
        rec.reference(_card("book"), _timings(), ["x"], "abc1234", "2026-12-03")
    with pytest.raises(ValueError, match=r"took chapters \['x'\] from its cache"):
        rec.reference(_card(), _timings(cached=True), ["x"], "abc1234", "2026-12-03")
    with pytest.raises(ValueError, match=r"did not run chapters \['y'\]"):
        rec.reference(_card(), _timings(), ["x", "y"], "abc1234", "2026-12-03")


def test_the_ci_reference_holds_what_the_scorecard_measured_with_commit_and_machine():
    ref = _recorder().reference(_card(), _timings(), ["x"], "abc1234", "2026-12-04")
    assert ref["commit"] == "abc1234" and ref["recorded"] == "2026-12-04" and ref["machine"] == MINE
    gold, kl = ref["claims"]
    assert gold == {"key": "online_beats_offline_gold", "claim": _card()["claims"][0]["claim"], "chapter": "x", "effect": 0.0354,
                    "half_width": 0.1588, "n": "2 seeds", "method": "paired by seed, t",
                    "verdict": "no measurable difference", "text": "true win rate, gold judge minus offline DPO"}
    assert kl["half_width"] is None and kl["method"] == "exact" and kl["verdict"] == "holds"


def test_the_recorder_reads_one_clean_ci_build_and_writes_the_file(tmp_path):
    """End to end on a git checkout: refuses a scorecard another build wrote and uncommitted changes; records
    the short hash of HEAD."""
    import os
    import subprocess
    import time

    rec = _recorder()
    root = tmp_path / "book"
    (root / "notebooks").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: notebooks/x\n")
    nbformat.write(nbformat.v4.new_notebook(), str(root / "notebooks" / "x.ipynb"))

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "x")
    results = root / "results"
    results.mkdir()
    (results / "scorecard.json").write_text(json.dumps(_card()))
    (results / "book_timings_ci.json").write_text(json.dumps(_timings()))
    later = time.time() + 100  # the build after the commit: its scorecard written within it
    os.utime(results / "book_timings_ci.json", (later, later))
    os.utime(results / "scorecard.json", (later - 400, later - 400))
    with pytest.raises(ValueError, match="not written by one build"):
        rec.record(root, results)
    os.utime(results / "scorecard.json", (later - 5, later - 5))
    (root / "_toc.yml").write_text("format: jb-book\nroot: notebooks/x\n# edited\n")
    with pytest.raises(ValueError, match="uncommitted changes"):
        rec.record(root, results)
    git("checkout", "_toc.yml")
    ref = rec.record(root, results)
    assert ref["commit"] == git("rev-parse", "--short", "HEAD")
    assert json.loads((root / "bench" / "ci_reference.json").read_text()) == ref
    with pytest.raises(SystemExit, match="not recorded: .*scorecard.json is missing"):
        (results / "scorecard.json").unlink()
        rec.main(["--root", str(root)])


def test_the_course_guide_sets_the_recorded_ci_numbers_beside_this_builds(tiny_book):
    from rlhf_lite.site.scorecard import ci_reference_markdown, score

    root, calls, tmp = tiny_book
    ref = _recorder().reference(_card(), _timings(), ["x"], "abc1234", "2026-12-04")
    book_rows = _card("book", effect=0.0412, half_width=0.0213)["claims"]
    book_rows[0]["verdict"] = "holds"
    page = ci_reference_markdown(ref, book_rows, {"x": {"title": "X"}}, "book")
    assert ("| {doc}`x <../notebooks/x>` | Online iterative DPO beats offline DPO; ranked by r* itself | "
            "+0.035 ± 0.159 (2 seeds): **no measurable difference** | +0.041 ± 0.021 (2 seeds): **holds** |") in page
    assert "| KL of best-of-n is at most log n - (n-1)/n | +2.0e-10 (exact): **holds** |" in page
    assert "build of commit `abc1234` measured it, recorded 2026-12-04 on AMD EPYC 9B14 (2 cores, with AVX-512)," in page
    assert "intervals are wider" in page and "byte-identical between builds on one machine" in page
    # the build writes it into the course guide's include, from the checkout's bench/ci_reference.json
    (root / "bench" / "ci_reference.json").write_text(json.dumps(ref))
    book.stage(root, tmp / "s1", "book")
    staged = (tmp / "s1" / "book" / "_generated" / "ci_reference.md").read_text()
    assert "+0.035 ± 0.159 (2 seeds): **no measurable difference**" in staged
    assert "This build (`book`)" in staged
    assert "**no measurable difference** | not measured: **not measurable here** |" in staged  # the tiny book's
    assert "**holds** | no such claim in this build |" in staged  # a claim the code no longer has
    assert len(score({})) > 2 and "Not in the recorded reference" in staged  # nor the real ones the file lacks


def test_without_a_recorded_ci_reference_the_course_guide_says_how_to_record_it(tiny_book):
    root, calls, tmp = tiny_book
    book.stage(root, tmp / "s1", "ci")
    page = (tmp / "s1" / "book" / "_generated" / "ci_reference.md").read_text()
    assert "`bench/ci_reference.json` is missing" in page and "bench/record_ci_reference.py" in page
    assert "make book-ci" in page and "|" not in page


def _seconds(text: str) -> float:
    """"1 h 5 min" -> 3900; "40 s" -> 40 (what ``minutes`` prints, read back)."""
    units = {"h": 3600, "min": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+) (h|min|s)\b", text))


def _range_seconds(text: str) -> tuple[float, float]:
    """"17 to 32 min" -> (1020, 1920); "40 s to 2 min"; "1 h 5 min to 2 h"; "10 min" -> (600, 600)."""
    if " to " not in text:
        return _seconds(text), _seconds(text)
    lo, hi = text.split(" to ")
    if re.fullmatch(r"\d+", lo.strip()):  # "17 to 32 min": the unit is said once
        lo = f"{lo} {hi.split()[-1]}"
    return _seconds(lo), _seconds(hi)


@pytest.mark.parametrize("mine", [1.0, 300.0, 600.0, 700.0, 2900.0, 9000.0])
def test_this_builds_time_never_lies_outside_the_range_printed_beside_it(mine):
    """A build on another machine, or one sharing its machine, can be faster or slower than every recorded build:
    the range of its profile then takes it in, and the caption says why."""
    from rlhf_lite.site.course import times_table

    other = {"cpu": "d", "cores": 2, "avx512": False, "date": "2026-12-01", "seconds": {"book": {"x": 900.0}}}
    table = times_table({"x": {"title": "X", "teaches": "t"}}, {"machines": [TIMES["machines"][0], other]},
                        {"profile": "book", "machine": None, "chapters": {"x": {"seconds": mine}}})
    row = next(ln for ln in table.splitlines() if ln.startswith("| {doc}`X"))
    _, _, ci, book_range, here = [c.strip() for c in row.strip("|").split("|")]
    lo, hi = _range_seconds(book_range)
    assert lo <= _seconds(here) <= hi, row
    assert ci == "30 s"  # another profile's range is the recorded builds' alone
    outside = not 600.0 <= mine <= 900.0
    assert ("For 1 chapter it lay outside the recorded builds' range" in table) == outside
    if not outside:
        assert book_range == "10 to 15 min"


def test_a_range_of_hours_says_both_ends_in_full():
    from rlhf_lite.site.times import time_range

    times = {"machines": [{"cpu": "c", "cores": 2, "seconds": {"book": {"x": 3900.0}}},
                          {"cpu": "d", "cores": 2, "seconds": {"book": {"x": 7500.0}}}]}
    assert time_range(times, "x", "book") == "1 h 5 min to 2 h 5 min"  # not "1 to 2 h 5 min"
    times["machines"][1]["seconds"]["book"]["x"] = 1920.0
    assert time_range(times, "x", "book") == "32 min to 1 h 5 min"
    times["machines"][0]["seconds"]["book"]["x"] = 1020.0
    assert time_range(times, "x", "book") == "17 to 32 min"
