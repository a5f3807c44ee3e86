"""The course guide's generated parts (rlhf_lite/site/course.py, rlhf_lite/site/course_plan.py): the timed one-day plan, the profile each assigned
exercise runs in, the effects a `ci` run resolves, and the bridge's links into chapters 3 and 5. Each is computed
from a file (bench/chapter_times.json, the chapters' exercises, bench/ci_reference.json), never typed."""

import json
import re
from pathlib import Path

import pytest

from rlhf_lite.site import course, course_plan, pages, times
from rlhf_lite.site.course_plan import Session

ROOT = Path(__file__).resolve().parents[1]
FAST = {"cpu": "c", "cores": 2, "avx512": True, "memory_gib": 24, "date": "2026-11-29",
        "seconds": {"ci": {"x": 30.0}, "book": {"x": 600.0}}}
SLOW = {"cpu": "d", "cores": 2, "avx512": False, "memory_gib": 24, "date": "2026-11-30",
        "seconds": {"book": {"x": 3900.0}}}
CHAPTERS = {"x": {"title": "X", "teaches": "t", "caches": "c", "assign": "Exercise 1 (fewer samples)."}}
DAY = (Session("run it live", stem="x", run="ci", reading=40, talk=15), Session("Break", reading=15),
       Session("each group runs an exercise in `{profile}`", stem="x", run="exercises", reading=45, talk=30))
ASKS_BOOK = ("# X\n\n## Exercises\n\nA difference from `ci` is not evidence: run them in the `book`\nprofile.\n\n"
             "1. **Fewer samples.** Rerun with `n = 4`.\n\n"
             ":::{admonition} Solutions\n:class: dropdown\n1. Less.\n:::\n")


# --- the one-day plan ---------------------------------------------------------------------------------------------

def test_the_day_plan_gives_clock_times_from_the_measured_runs_and_the_plans_reading_time():
    plan = course_plan.day_plan(CHAPTERS, {"machines": [FAST]}, {"x": ""}, DAY)
    assert plan.startswith("The day starts at 09:00.")
    # 40 min reading + a 30 s run + 15 min discussion, ended on the next five minutes
    assert ("- **09:00 to 10:00** {doc}`X <../notebooks/x>`: run it live. 40 min reading, the run in `ci` (30 s on "
            "c (2 cores, with AVX-512)), 15 min discussion.\n") in plan
    assert "- **10:00 to 10:15** Break.\n" in plan
    # the chapter asks for no profile: the exercise runs in ci, alongside the reading (45 min, then 30 of talk)
    assert "- **10:15 to 11:30** {doc}`X <../notebooks/x>`: each group runs an exercise in `ci`." in plan


def test_the_exercise_session_runs_in_the_profile_the_chapter_asks_for_and_lasts_as_long_as_the_run():
    plan = course_plan.day_plan(CHAPTERS, {"machines": [FAST, SLOW]}, {"x": ASKS_BOOK}, DAY)
    # book, on the slowest machine that measured it: 65 min, longer than the 45 min of reading
    assert "each group runs an exercise in `book`." in plan
    assert "(each at most the whole chapter's run in `book`: 1 h 5 min on d (2 cores, without AVX-512))" in plan
    assert "- **10:15 to 11:50**" in plan  # 10:15 + 65 min + 30 min of discussion


def test_a_plan_without_a_measured_run_prints_no_clock_times():
    plan = course_plan.day_plan(CHAPTERS, {"machines": []}, {"x": ""}, DAY)
    assert "No clock times yet: no machine has measured {doc}`X <../notebooks/x>` in `ci`" in plan
    assert not re.search(r"\d\d:\d\d to", plan)


def test_a_plan_that_names_a_chapter_the_book_lacks_is_refused():
    with pytest.raises(ValueError, match=r"names chapters the book lacks: \['y'\]"):
        course_plan.day_plan(CHAPTERS, {"machines": [FAST]}, {}, (Session("read", stem="y", reading=10),))


def test_the_real_plan_names_chapters_of_the_book_and_the_guide_types_no_clock_time():
    from rlhf_lite.site.book import toc_notebooks

    chapters = pages.load_chapters(ROOT, [nb.stem for nb in toc_notebooks(ROOT)])
    course_plan.check_plan(chapters)  # what the build does before any chapter runs
    markdown = {nb.stem: course.notebook_markdown(nb) for nb in toc_notebooks(ROOT)}
    plan = course_plan.day_plan(chapters, times.load_times(ROOT), markdown)
    assert len(re.findall(r"^- \*\*\d\d:\d\d to \d\d:\d\d\*\* ", plan, re.M)) == len(course_plan.DAY_PLAN)
    guide = (ROOT / "book" / "course_guide.md").read_text()
    assert "_generated/day_plan.md" in guide
    assert not re.search(r"\b\d{1,2}:\d{2}\b", guide), "a clock time typed into the guide; the plan computes them"
    # the exercise session runs in the profile chapter 6 asks for (its exercises: the book profile)
    assert "starts one of its exercises in `book`" in plan


# --- the profile each assigned exercise runs in ------------------------------------------------------------------

def test_an_exercise_runs_in_book_where_its_words_or_the_words_before_the_list_ask_for_it():
    each = ("## Exercises\n\n1. Give offline DPO ten times as many pairs. Run it on every bandit of the `book`\n"
            "   profile.\n2. Set the ridge to zero.\n3. Compute the KL of worst-of-n.\n\n:::{admonition} Solutions\n"
            "3. Use the `book` profile.\n:::\n")
    assert course.asked_profiles("Exercise 1 (ten times) and exercise 3 (the KL).", each) == {1: "book", 3: None}
    assert course.asked_profiles("Exercise 1 (**Fewer samples**).", ASKS_BOOK) == {1: "book"}
    assert course.asked_profiles("Exercise 7 (no such one).", each) == {}
    assert course.profile_words({1: "book", 3: None}) == ("Exercise 1 in the `book` profile, as the chapter asks; "
                                                          "exercise 3 in either.")
    assert course.profile_words({1: "book", 4: "book"}) == "In the `book` profile, as the chapter asks."
    assert course.profile_words({2: None}) == "In either profile: the chapter asks for neither."
    line = course.exercises_list({"x": {**CHAPTERS["x"], "assign": "Exercise 1 (**Fewer samples**)."}},
                                {"x": ASKS_BOOK})
    assert line == ("- {doc}`X <../notebooks/x>`: Exercise 1 (**Fewer samples**). In the `book` profile, as the "
                    "chapter asks.\n")


def test_the_exercises_of_each_real_chapter_are_found_and_chapter_6s_run_in_book():
    """The parser reads every exercise the guide assigns (a renamed heading or a list it cannot read fails here),
    and chapter 6, whose exercises say a `ci` result is not evidence, is assigned in `book`."""
    import yaml

    chapters = yaml.safe_load((ROOT / "book" / "chapters.yml").read_text())
    for stem, ch in chapters.items():
        markdown = course.notebook_markdown(ROOT / "notebooks" / f"{stem}.ipynb")
        named = {int(m.group(1)) for m in course.EXERCISE_REF.finditer(ch["assign"])}
        assert set(course.asked_profiles(ch["assign"], markdown)) == named, stem
    six = course.notebook_markdown(ROOT / "notebooks" / "06_iterative_dpo.ipynb")
    assert set(course.asked_profiles(chapters["06_iterative_dpo"]["assign"], six).values()) == {"book"}


# --- the effects a ci run resolves --------------------------------------------------------------------------------

def _claim(key, chapter, effect, half_width, verdict, n="2 seeds", claim=None):
    return {"key": key, "chapter": chapter, "claim": claim or f"Claim {key} (an aside here)", "effect": effect,
            "half_width": half_width, "n": n, "method": "paired by seed, t", "verdict": verdict}


def test_the_effects_a_ci_run_resolves_are_the_recorded_claims_it_settled():
    ref = {"commit": "abc1234", "claims": [
        _claim("penalty", "06_x", 7.554, 8.047, "no measurable difference"),  # the old advice: not resolved in ci
        _claim("pm", "04_x", -0.24, 0.119, "does not hold", "100 pairs"),
        _claim("bt", "04_x", 0.274, 0.159, "holds", "73 pairs"),
        _claim("bound", "01_x", 0.0095, None, "holds", "exact"),  # a computation, not an effect with an interval
        _claim("cond", "07_x", 0.3, 0.1, "does not hold"),  # failed on a condition: the interval did not settle it
    ]}
    text = course.ci_resolves_list(ref, {"04_x": {"title": "Four"}})
    link = "{doc}`chapter 4 <../notebooks/04_x>`"
    assert text == (f"- Claim pm ({link}): -0.240 ± 0.119 over 100 pairs, does not hold.\n"
                    f"- Claim bt ({link}): +0.274 ± 0.159 over 73 pairs, holds.\n")
    assert "penalty" not in text and "bound" not in text and "cond" not in text
    assert "None: the recorded `ci` build of commit `abc1234` resolved no claim" in course.ci_resolves_list(
        {"commit": "abc1234", "claims": ref["claims"][:1]}, {})
    assert "no `ci` build has been recorded" in course.ci_resolves_list(None, {})


def test_the_guides_ci_advice_names_no_effect_by_hand():
    """The warning box includes the generated list; the effect it used to type (the length penalty's, which the
    recorded ci build does not resolve) is gone from it."""
    guide = (ROOT / "book" / "course_guide.md").read_text()
    box = guide.split(":::{admonition} What a `ci` run", 1)[1].split("\n:::\n", 1)[0]
    assert "_generated/ci_resolves.md" in box
    assert "length penalty" not in box and "gold judge against" not in box
    reference = json.loads((ROOT / "bench" / "ci_reference.json").read_text())
    listed = course.ci_resolves_list(reference, {})
    for c in reference["claims"]:
        if c["verdict"] not in course.RESOLVED:
            assert course._claim_words(c["claim"]) + " (" not in listed, c["key"]


def test_the_build_writes_the_plan_and_the_ci_list_into_the_staged_book(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setattr(course_plan, "DAY_PLAN", DAY)
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(ASKS_BOOK)])
    nbformat.write(nb, str(tmp_path / "notebooks" / "x.ipynb"))
    ref = {"commit": "abc1234", "claims": [_claim("bt", "x", 0.274, 0.159, "holds", "73 pairs")]}
    out = course_plan.write_generated(tmp_path, {"x": {**CHAPTERS["x"], "assign": "Exercise 1 (**Fewer samples**)."}},
                                {"machines": [FAST]}, None, ref)
    assert "each group runs an exercise in `book`" in (out / "day_plan.md").read_text()
    assert "In the `book` profile, as the chapter asks." in (out / "exercises.md").read_text()
    assert "+0.274 ± 0.159 over 73 pairs, holds." in (out / "ci_resolves.md").read_text()


# --- the bridge ---------------------------------------------------------------------------------------------------

def _labels() -> dict[str, str]:
    """Every MyST label that stands right before a heading: in the chapters' sources and in book/*.md."""
    found = {}
    for f in (ROOT / "notebooks").glob("*.py"):
        for m in re.finditer(r"^# \(([\w-]+)\)=\n# #+ ", f.read_text(), re.M):
            found[m.group(1)] = f.stem
    for f in (ROOT / "book").glob("*.md"):
        for m in re.finditer(r"^\(([\w-]+)\)=\n#+ ", f.read_text(), re.M):
            found[m.group(1)] = f"book/{f.stem}"
    return found


def test_the_bridge_links_the_sections_of_chapters_3_and_5_it_points_to():
    bridge = (ROOT / "book" / "bridge.md").read_text()
    refs = re.findall(r"\{ref\}`[^`<]*<([^>]+)>`", bridge)
    labels = _labels()
    assert not [r for r in refs if r not in labels], "the bridge links a label no heading carries"
    linked = {labels[r] for r in refs}
    assert {"03_preference_data", "05_length_bias"} <= linked
    # each figure the bridge names is linked where it names it
    for figure in ('how often "chosen" is truly better', "margin sweep", "length gap between chosen and rejected",
                   "composition by RewardBench category", "A heatmap counts prompts", "sweeps $\\lambda$"):
        paragraph = next(p for p in re.split(r"\n(?=- \*\*)|\n\n", bridge) if figure in p)
        assert "{ref}`" in paragraph, figure


def test_the_guides_notes_on_the_sessions_follow_the_plan():
    """The guide explains each session of the generated plan in the plan's order: moving a session in one
    without the other fails here."""
    guide = (ROOT / "book" / "course_guide.md").read_text()
    notes = guide.split("What the sessions are for", 1)[1].split(":::{admonition}", 1)[0]
    targets = [re.search(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", item).group(1)
               for item in re.findall(r"^- \*\*.*$", notes, re.M)]
    assert [t.split("/")[-1] for t in targets] == [s.stem or s.page for s in course_plan.DAY_PLAN if s.stem or s.page]


def test_the_machines_table_lets_a_cell_that_names_chapters_wrap_inside_their_names():
    from rlhf_lite.site.course import breakable, times_table

    chapters = {s: {"title": s, "teaches": "t"} for s in ("01_theory", "08_what_the_judge_teaches")}
    times = {"machines": [{"cpu": "c", "cores": 2, "avx512": True, "memory_gib": 24, "date": "2026-12-07",
                           "seconds": {"book": {"01_theory": 30.0}, "ci": {"01_theory": 10.0}}}]}
    table = times_table(chapters, times)
    assert "(without 08_\u200bwhat_\u200bthe_\u200bjudge_\u200bteaches)" in table  # wraps at each underscore
    assert "08_what_the_judge_teaches" not in table.split("The machines, fastest first")[1]
    assert breakable("a_b") == "a_\u200bb" and breakable("ab") == "ab"
