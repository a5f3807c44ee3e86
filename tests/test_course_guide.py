"""The course guide's generated parts (rlhf_lite/pages.py): the profile each assigned exercise runs in and the
effects a `ci` run resolves. Each is computed from a file (the chapters' exercises, bench/ci_reference.json),
never typed."""

from pathlib import Path

from rlhf_lite import pages

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {"x": {"title": "X", "teaches": "t", "caches": "c", "assign": "Exercise 1 (fewer samples)."}}
ASKS_BOOK = ("# X\n\n## Exercises\n\nA difference from `ci` is not evidence: run them in the `book`\nprofile.\n\n"
             "1. **Fewer samples.** Rerun with `n = 4`.\n\n"
             ":::{admonition} Solutions\n:class: dropdown\n1. Less.\n:::\n")


# --- the profile each assigned exercise runs in ------------------------------------------------------------------

def test_an_exercise_runs_in_book_where_its_words_or_the_words_before_the_list_ask_for_it():
    each = ("## Exercises\n\n1. Give offline DPO ten times as many pairs. Run it on every bandit of the `book`\n"
            "   profile.\n2. Set the ridge to zero.\n3. Compute the KL of worst-of-n.\n\n:::{admonition} Solutions\n"
            "3. Use the `book` profile.\n:::\n")
    assert pages.asked_profiles("Exercise 1 (ten times) and exercise 3 (the KL).", each) == {1: "book", 3: None}
    assert pages.asked_profiles("Exercise 1 (**Fewer samples**).", ASKS_BOOK) == {1: "book"}
    assert pages.asked_profiles("Exercise 7 (no such one).", each) == {}
    assert pages.profile_words({1: "book", 3: None}) == ("Exercise 1 in the `book` profile, as the chapter asks; "
                                                          "exercise 3 in either.")
    assert pages.profile_words({1: "book", 4: "book"}) == "In the `book` profile, as the chapter asks."
    assert pages.profile_words({2: None}) == "In either profile: the chapter asks for neither."
    line = pages.exercises_list({"x": {**CHAPTERS["x"], "assign": "Exercise 1 (**Fewer samples**)."}},
                                {"x": ASKS_BOOK})
    assert line == ("- {doc}`X <../notebooks/x>`: Exercise 1 (**Fewer samples**). In the `book` profile, as the "
                    "chapter asks.\n")


def test_the_exercises_of_each_real_chapter_are_found_and_chapter_6s_run_in_book():
    """The parser reads every exercise the guide assigns (a renamed heading or a list it cannot read fails here),
    and chapter 6, whose exercises say a `ci` result is not evidence, is assigned in `book`."""
    import yaml

    chapters = yaml.safe_load((ROOT / "book" / "chapters.yml").read_text())
    for stem, ch in chapters.items():
        markdown = pages.notebook_markdown(ROOT / "notebooks" / f"{stem}.ipynb")
        named = {int(m.group(1)) for m in pages.EXERCISE_REF.finditer(ch["assign"])}
        assert set(pages.asked_profiles(ch["assign"], markdown)) == named, stem
    six = pages.notebook_markdown(ROOT / "notebooks" / "06_iterative_dpo.ipynb")
    assert set(pages.asked_profiles(chapters["06_iterative_dpo"]["assign"], six).values()) == {"book"}


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
    text = pages.ci_resolves_list(ref, {"04_x": {"title": "Four"}})
    link = "{doc}`chapter 4 <../notebooks/04_x>`"
    assert text == (f"- Claim pm ({link}): -0.240 ± 0.119 over 100 pairs, does not hold.\n"
                    f"- Claim bt ({link}): +0.274 ± 0.159 over 73 pairs, holds.\n")
    assert "penalty" not in text and "bound" not in text and "cond" not in text
    assert "None: the recorded `ci` build of commit `abc1234` resolved no claim" in pages.ci_resolves_list(
        {"commit": "abc1234", "claims": ref["claims"][:1]}, {})
    assert "no `ci` build has been recorded" in pages.ci_resolves_list(None, {})

