"""The course guide's generated tables: its table of run times with how to read it, the exercises it assigns with
the profile each runs in (read from the chapter's exercises), and the effects a `ci` run resolves (from
bench/ci_reference.json). ``rlhf_lite.site.course_plan`` times its one-day plan and writes them all into the staged
book; nothing of them is typed into the guide.

Why our own code: the guide's times and plan are this book's own content, computed from its measurements.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from rlhf_lite.site.pages import chapter_link

from rlhf_lite.site.times import (PROFILES, _total, _total_words, by_machine, by_speed, machine_label, minutes,
                                  shared_chapters, time_range)
from rlhf_lite.stats import side


def times_table(chapters: dict, times: dict, this_build: dict | None = None) -> str:
    """The course guide's tables: a caption that says what each column is, then each chapter, what it teaches,
    the range of its measured times in both profiles over the machines measured, and (when given) this build's
    own time; then each machine's totals. ``this_build``: {"profile", "machine" (``book.machine()``),
    "chapters": {stem: {"seconds"}}}."""
    profile = (this_build or {}).get("profile")
    here = (this_build or {}).get("machine")
    on = f", {machine_label(here)}" if here else ""
    head = ["Chapter", "What it teaches", "`ci` profile: fastest to slowest build",
            "`book` profile: fastest to slowest build"] + ([f"This build: `{profile}` profile{on}"] if profile else [])
    body, widened = [], 0
    for stem, ch in chapters.items():
        mine = ((this_build or {}).get("chapters", {}).get(stem) or {}).get("seconds")
        recorded = [s for s, _ in by_machine(times, stem, profile)] if profile else []
        # This build's own time joins the range of its profile when it lies outside the recorded builds' (another
        # kind of machine, a machine shared with another job, changed code): a range never excludes the time beside it.
        outside = mine is not None and bool(recorded) and not recorded[0] <= mine <= recorded[-1]
        widened += outside
        row = [chapter_link(stem, ch), ch["teaches"]] + [
            time_range(times, stem, p, also=mine if outside and p == profile else None) or "not measured"
            for p in PROFILES]
        if profile:
            row.append(minutes(mine))
        body.append("| " + " | ".join(row) + " |")
    rows = [times_caption(chapters, times, profile, here, widened), "",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head), *body]
    if not times["machines"]:
        return "\n".join(rows + ["", "No measured times yet."]) + "\n"
    rows += ["", "The machines, fastest first, and how long each took (`bench/bench_chapters.py` measures a machine "
                 "from its complete builds). \"All chapters\" sums the chapters a machine measured, and a machine "
                 "timed before a chapter existed lacks it; the last column sums only the chapters every machine "
                 "measured, so its totals compare like with like.", "",
             "| Machine | Memory | Measured | `ci`, all chapters | `book`, all chapters | `book`, the chapters every "
             "machine measured |", "|---|---|---|---|---|---|"]
    shared = shared_chapters(times, chapters, "book")
    for m in by_speed(times, shared):
        mem = f"{m['memory_gib']} GiB" if m.get("memory_gib") else "not recorded"
        source = f" {m['source']}" if m.get("source") else ""
        ci, book = (breakable(_total_words(m, chapters, p)) for p in ("ci", "book"))
        rows.append(f"| {machine_label(m)} | {mem} | {m['date']}.{source} | {ci} | {book} | "
                    f"{minutes(_total(m, shared, 'book')[0])} |")
    return "\n".join(rows) + "\n"



def breakable(text: str) -> str:
    """``text`` with a zero-width space after each underscore, so that a cell naming chapters by their file names
    ("without 08_what_the_judge_teaches") can wrap inside them: a name is otherwise one word as wide as itself, and
    three of them in two columns pushed the machines' table past the page's column."""
    return text.replace("_", "_\u200b")

def times_caption(chapters: dict, times: dict, profile: str | None = None, here: dict | None = None,
                  widened: int = 0) -> str:
    """What each column of the course guide's table is, and why its ranges are wide, in numbers read from the
    measured table: how many machines, the slowest against the fastest, `ci` against `book`. ``widened``: how
    many chapters' ranges take in this build's time because it lay outside the recorded builds'."""
    ms = times["machines"]
    profiles = ("- **`ci` and `book`** are the two profiles. `ci` runs every chapter end to end with smaller models, "
                "fewer samples and fewer seeds, so the numbers it prints are not the ones the pages show; `book` is "
                "the profile the pages come from.")
    both = [(m, [s for s in chapters if s in m.get("seconds", {}).get("ci", {}) and s in m["seconds"].get("book", {})])
            for m in ms]
    m, stems = max(both, key=lambda b: len(b[1]), default=(None, []))
    if stems:
        ratio = sum(m["seconds"]["book"][s] for s in stems) / sum(m["seconds"]["ci"][s] for s in stems)
        profiles += (f" On {machine_label(m)}, the chapters it timed in both profiles took {ratio:.0f} times as long "
                     f"in `book` as in `ci`.")
    why = ("much of it from whether the CPU has AVX-512, which torch's CPU kernels use. Plan a session for the slow "
           "end.")
    if len(ms) > 1:
        cores = " or ".join(map(str, sorted({m["cores"] for m in ms})))
        totals = [t for t in (_total(m, shared_chapters(times, chapters, "book"), "book")[0] for m in ms) if t]
        spread = (f" On the chapters they all measured, the slowest took {max(totals) / min(totals):.1f} times as long "
                  f"as the fastest: machines of our kind differ that much in speed, " if len(totals) > 1 else
                  " Machines of our kind differ about 2x in speed, ")
        ranges = (f"- **Each time is a range** from the fastest to the slowest of the machines that measured the "
                  f"chapter ({len(ms)} machines with {cores} cores, named in the second table), not one machine's "
                  f"time.{spread}{why}")
    elif ms:
        ranges = (f"- **Each time was measured on one machine**, {machine_label(ms[0])}. Machines of our kind differ "
                  f"about 2x in speed, {why}")
    else:
        ranges = ("- **No machine has been timed yet**: after a complete build of each profile, "
                  "`python bench/bench_chapters.py` records this one.")
    lines = ["**How to read the table.**", "", profiles, ranges]
    if profile:
        lines.append(f"- **This build** is this build's own time, in the `{profile}` profile"
                     + (f" on {machine_label(here)}" if here else "") + "; a chapter the build took from its cache "
                     "shows the time of the run that made the cached copy."
                     + (f" For {widened} chapter{'s' if widened > 1 else ''} it lay outside the recorded builds' "
                        f"range, so the `{profile}` range beside it takes it in: a build on another kind of machine, "
                        "or one that shared its machine with another job, runs faster or slower than the recorded "
                        "ones." if widened else ""))
    return "\n".join(lines)



# The exercises to assign, each in the profile its chapter asks for. The chapter says it in its exercises: a
# sentence before the list applies to all of them (chapter 6: "Run at least three seeds in the book profile"), one
# inside an item to that exercise (chapter 3's exercise 3: "so use the `book` profile"). A chapter asks for `book`
# where the effect is about as large as a smaller run's interval; none asks for `ci`, which is there to see a
# chapter run. So an exercise is `book` if its chapter's words ask for it there, and runs in either otherwise.
EXERCISE_REF = re.compile(r"\b[Ee]xercises? (\d+)")
ASKS_FOR_BOOK = re.compile(r"`?book`?\s+profile")


def chapter_exercises(markdown: str) -> tuple[str, dict[int, str]]:
    """The words before the list and the numbered exercises under a chapter's "## Exercises" heading, up to the
    solutions or the next heading: ("Most of these ...", {1: "**Fewer samples.** Rerun ...", ...})."""
    lines = markdown.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "## Exercises"), None)
    if start is None:
        return "", {}
    preamble, items, current = [], {}, None
    for ln in lines[start + 1:]:
        if ln.startswith("#") or ln.lstrip().startswith(":::"):
            break
        if m := re.match(r"(\d+)\. (.*)", ln):
            current = int(m.group(1))
            items[current] = m.group(2).strip()
        elif ln.strip():
            if current is None:
                preamble.append(ln.strip())
            else:
                items[current] += " " + ln.strip()
    return " ".join(preamble), items


def asked_profiles(assign: str, markdown: str) -> dict[int, str | None]:
    """{exercise number: "book" or None (either profile)} for each exercise ``assign`` names that the chapter has."""
    preamble, items = chapter_exercises(markdown)
    return {n: "book" if ASKS_FOR_BOOK.search(preamble + " " + items[n]) else None
            for n in dict.fromkeys(int(m.group(1)) for m in EXERCISE_REF.finditer(assign)) if n in items}


def _numbers(ns: list[int]) -> str:
    said = [str(n) for n in ns]
    return ("exercise " if len(ns) == 1 else "exercises ") + (said[0] if len(said) == 1 else
                                                              ", ".join(said[:-1]) + " and " + said[-1])


def profile_words(asked: dict[int, str | None]) -> str:
    """"In the `book` profile, as the chapter asks." / "In either profile: ..." / "Exercise 1 in the `book` profile,
    as the chapter asks; exercise 3 in either." """
    book = [n for n, p in asked.items() if p == "book"]
    either = [n for n, p in asked.items() if p is None]
    if not asked:
        return ""
    if not either:
        return "In the `book` profile, as the chapter asks."
    if not book:
        return "In either profile: the chapter asks for neither."
    return (f"{_numbers(book).capitalize()} in the `book` profile, as the chapter asks; {_numbers(either)} in "
            f"either.")


def notebook_markdown(path: Path) -> str:
    """The markdown cells of a notebook, one after another ("" if there is no such notebook)."""
    if not path.exists():
        return ""
    import nbformat

    return "\n\n".join(c.source for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "markdown")


def exercises_list(chapters: dict, markdown: dict[str, str]) -> str:
    """The course guide's exercises to assign: each chapter's ``assign``, then the profile its exercises ask for
    (``markdown``: {chapter: the markdown of its notebook})."""
    out = []
    for stem, ch in chapters.items():
        words = profile_words(asked_profiles(ch["assign"], markdown.get(stem, "")))
        out.append(f"- {chapter_link(stem, ch)}: {ch['assign']}" + (f" {words}" if words else "") + "\n")
    return "".join(out)


# The effects a `ci` run resolves: the claims of bench/ci_reference.json (what a complete `ci` build measured,
# bench/record_ci_reference.py; the scorecard's CI_REFERENCE) whose recorded `ci` interval settled them, one way or the
# other. The course guide advises comparing only these in `ci`, so its advice moves with the recorded file.
CI_REFERENCE_FILE = Path("bench") / "ci_reference.json"
RESOLVED = ("holds", "does not hold")  # the scorecard's verdicts that an interval settles


def load_ci_reference(root: Path) -> dict | None:
    path = root / CI_REFERENCE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _claim_words(claim: str) -> str:
    """The claim without its parenthetical asides of more than one word (the scorecard's short form)."""
    return re.sub(r"\s*\([^()]* [^()]*\)", "", claim).strip()


def resolved_in_ci(reference: dict | None) -> list[dict]:
    """The recorded claims whose `ci` verdict is "holds" (interval above zero) or "does not hold" (below it). An
    exact computation has no interval, and a claim failed on a condition was not settled by its interval: neither
    is an effect a `ci` run tells apart."""
    def settled(c):
        e, h = c.get("effect"), c.get("half_width")
        if e is None or h is None or not (math.isfinite(e) and math.isfinite(h)):
            return False
        return (c["verdict"], side(e, h)) in (("holds", "above"), ("does not hold", "below"))
    return sorted((c for c in (reference or {}).get("claims", []) if settled(c)), key=lambda c: c["chapter"])


def ci_resolves_list(reference: dict | None, chapters: dict) -> str:
    """The list the course guide's warning box includes: each effect the recorded `ci` build resolved."""
    if reference is None:
        return (f"- None yet: no `ci` build has been recorded (`{CI_REFERENCE_FILE}` is missing), so compare the "
                f"`book` page's numbers only.\n")
    claims = resolved_in_ci(reference)
    if not claims:
        return (f"- None: the recorded `ci` build of commit `{reference['commit']}` resolved no claim, so compare the "
                f"`book` page's numbers only.\n")
    out = []
    for c in claims:
        number = c["chapter"].split("_")[0].lstrip("0")  # notebooks/NN_name: NN is the chapter's number
        link = (f"{{doc}}`chapter {number} <../notebooks/{c['chapter']}>`" if c["chapter"] in chapters
                else c["chapter"])
        out.append(f"- {_claim_words(c['claim'])} ({link}): {c['effect']:+.3f} ± {c['half_width']:.3f} over "
                   f"{c['n']}, {c['verdict']}.\n")
    return "".join(out)
