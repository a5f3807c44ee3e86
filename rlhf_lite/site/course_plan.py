"""The course guide's one-day plan, timed from measured run times, and the writer of every generated page of the
guide into the staged book (``write_generated``: the tables of ``rlhf_lite.site.course`` and this plan).

Why our own code: the plan and its clock times are this book's own content, computed from its measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rlhf_lite.site.course import asked_profiles, ci_resolves_list, exercises_list, notebook_markdown, times_table
from rlhf_lite.site.pages import GENERATED, chapter_link
from rlhf_lite.site.times import by_machine, machine_label, minutes

# The one-day workshop, timed. Reading and discussion are this plan's choices (minutes); what participants wait for
# is measured: a chapter's run in a profile, on the slowest machine that ran it there (bench/chapter_times.json).
DAY_STARTS = (9, 0)  # 09:00
ROUND_TO = 5  # minutes: every session ends on the next multiple


@dataclass(frozen=True)
class Session:
    """One block of the day. ``stem``: a chapter, or ``page``: a page of book/ (or neither: a break). ``run``:
    "ci" (participants run the chapter in the `ci` profile and wait for it), "exercises" (each group starts one of
    the chapter's assigned exercises in the profile the chapter asks for, and reads while it runs) or None."""
    what: str
    stem: str | None = None
    page: str | None = None
    run: str | None = None
    reading: int = 0
    talk: int = 0


DAY_PLAN = (
    Session("participants run it live in `ci` as they read", stem="01_theory", run="ci", reading=40, talk=15),
    Session("participants run it live in `ci`; show the `book` page", stem="02_lite_world", run="ci", reading=40,
            talk=15),
    Session("Break", reading=15),
    Session("read together, with the two chapters' figures it links", page="bridge", reading=35, talk=10),
    Session("Lunch", reading=60),
    Session("read the rendered `book` page; participants run the chapter in `ci`", stem="04_reward_models", run="ci",
            reading=45, talk=15),
    Session("Break", reading=15),
    Session("each group starts one of its exercises in `{profile}`, the profile the chapter asks for, then reads the "
            "rendered page while it runs",
            stem="06_iterative_dpo", run="exercises", reading=45, talk=30),
    Session("close with which of the paper's claims held", page="scorecard", reading=10, talk=20),
)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def exercise_profile(stem: str, chapters: dict, markdown: dict[str, str]) -> str:
    """The profile a group runs the chapter's assigned exercises in: `book` if the chapter asks for it in any."""
    asked = asked_profiles(chapters[stem]["assign"], markdown.get(stem, ""))
    return "book" if "book" in asked.values() else "ci"


def check_plan(chapters, plan: tuple[Session, ...] | None = None) -> tuple[Session, ...]:
    """``plan`` (default ``DAY_PLAN``), refused if it names a chapter the book lacks."""
    plan = DAY_PLAN if plan is None else plan
    if unknown := [s.stem for s in plan if s.stem and s.stem not in chapters]:
        raise ValueError(f"the one-day plan (rlhf_lite/site/course_plan.py, DAY_PLAN) names chapters the book lacks: {unknown}; "
                         f"give it chapters of _toc.yml.")
    return plan


def day_plan(chapters: dict, times: dict, markdown: dict[str, str], plan: tuple[Session, ...] | None = None) -> str:
    """The one-day workshop (``DAY_PLAN``) with clock times: each session lasts its reading and discussion plus the
    run participants wait for (an exercise run goes on while its group reads, so that session lasts the longer of
    the two), and ends on the next multiple of ``ROUND_TO`` minutes. Refuses a plan that names a chapter the book
    lacks (a renamed chapter fails the build, not the page)."""
    plan = check_plan(chapters, plan)
    lines, clock, missing = [], DAY_STARTS[0] * 60 + DAY_STARTS[1], []
    for s in plan:
        if s.stem is None and s.page is None:
            end = clock + s.reading
            lines.append((clock, end, s.what + "."))
            clock = end
            continue
        where = chapter_link(s.stem, chapters[s.stem]) if s.stem else f"{{doc}}`{s.page}`"
        parts, run, profile = [f"{s.reading} min reading"], 0.0, None
        if s.run:
            profile = exercise_profile(s.stem, chapters, markdown) if s.run == "exercises" else s.run
            measured = by_machine(times, s.stem, profile)
            if not measured:
                missing.append(f"{chapter_link(s.stem, chapters[s.stem])} in `{profile}`")
                parts.append(f"the run in `{profile}` (not measured)")
            else:
                secs, m = measured[-1]
                run = secs / 60
                if s.run == "exercises":
                    parts[0] = (f"{s.reading} min reading while the runs go (each at most the whole chapter's run in "
                                f"`{profile}`: {minutes(secs)} on {machine_label(m)})")
                else:
                    parts.append(f"the run in `{profile}` ({minutes(secs)} on {machine_label(m)})")
        parts.append(f"{s.talk} min discussion")
        length = (max(s.reading, run) if s.run == "exercises" else s.reading + run) + s.talk
        end = -(-math.ceil(clock + length) // ROUND_TO) * ROUND_TO
        lines.append((clock, end, f"{where}: {s.what.format(profile=profile)}. " + ", ".join(parts) + "."))
        clock = end
    head = (f"The day starts at {_clock(DAY_STARTS[0] * 60 + DAY_STARTS[1])}. Each session lasts the reading and "
            f"discussion this plan gives it, plus the run participants wait for, as long as that run took on the "
            f"slowest machine that measured it (named in the session; the machines are those of the table above). "
            f"While an exercise runs, its group reads, so that session lasts the longer of the two. Each session "
            f"ends on the next multiple of {ROUND_TO} minutes.")
    if missing:
        return (head + " No clock times yet: no machine has measured " + ", ".join(missing) + " (`python "
                "bench/bench_chapters.py` records a complete build).\n\n" +
                "".join(f"- {text}\n" for _, _, text in lines))
    return head + "\n\n" + "".join(f"- **{_clock(a)} to {_clock(b)}** {text}\n" for a, b, text in lines)


def write_generated(staging: Path, chapters: dict, times: dict, this_build: dict | None = None,
                    ci_reference: dict | None = None) -> Path:
    """Write the generated includes into the staged book (``book/_generated/``); returns the folder. The chapters'
    exercises are read from the staged notebooks (``notebooks/<chapter>.ipynb``); ``ci_reference`` is the content of
    bench/ci_reference.json (``load_ci_reference``), None where there is none."""
    out = staging / GENERATED
    out.mkdir(parents=True, exist_ok=True)
    markdown = {stem: notebook_markdown(staging / "notebooks" / f"{stem}.ipynb") for stem in chapters}
    (out / "chapter_times.md").write_text(times_table(chapters, times, this_build))
    (out / "exercises.md").write_text(exercises_list(chapters, markdown))
    (out / "day_plan.md").write_text(day_plan(chapters, times, markdown))
    (out / "ci_resolves.md").write_text(ci_resolves_list(ci_reference, chapters))
    return out
