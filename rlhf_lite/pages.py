"""What the book build writes into its pages from measurements: each chapter's "Run this chapter" box, the
course guide's table of run times, its one-day plan with clock times, the profile each exercise it assigns runs
in (read from the chapter's exercises), the effects a `ci` run resolves (from bench/ci_reference.json), and the
chapter's opening screen without papermill's injected cell.

Run times come from ``bench/chapter_times.json``, per-chapter seconds in both profiles measured by complete
builds, one entry per kind of machine (CPU model, cores, AVX-512 or not: machines of our kind differ about
2x in speed, so no one machine's minutes are quoted as everyone's; ``bench/bench_chapters.py`` adds or
replaces the entry of the machine it runs on from the timings each build leaves in ``results/``), and from
this build's own timings; nothing is typed into the prose. The README's paragraph of build times is
generated from the same file (``readme_times``; a test keeps it in step). What each
chapter caches under ``runs/`` and what it teaches are in ``book/chapters.yml``, beside the pages that
show them.

Why our own code: Jupyter Book renders what a notebook holds; inserting a generated cell into the staged
copy (never into the committed notebook) is the one place where measured times can reach the page.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
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
    check_plan(data)  # the course guide's timed day, before any chapter runs
    return data


README_BEGIN = "<!-- build-times: written by bench/bench_chapters.py from bench/chapter_times.json -->"
README_END = "<!-- /build-times -->"


def load_times(root: Path, log=print) -> dict:
    """The measured table: {"machines": [{"cpu", "cores", "avx512", "memory_gib", "date", "seconds": {profile:
    {chapter: seconds}}, ...}]}. A file in the one-machine format of before is read as one entry. Without a
    file (a new book, or a deleted one) the pages say "not measured" rather than guess."""
    path = root / TIMES_FILE
    if not path.exists():
        log(f"[book] {path} is missing, so the pages show no run times: after a full build of each profile, "
            f"`python bench/bench_chapters.py` writes it.")
        return {"machines": []}
    data = json.loads(path.read_text())
    if "machines" not in data:  # the one-machine format
        return {"machines": [{**data["machine"], "avx512": data["machine"].get("avx512"), "seconds": data["seconds"]}]
                if data.get("machine") else []}
    return data


def machine_key(m: dict) -> tuple:
    """What makes two machines "the same kind" for timing: CPU model, cores, and AVX-512 (which decides the
    speed of torch's CPU kernels about as much as the model does)."""
    return (m["cpu"], m["cores"], m.get("avx512"))


def cpu_name(cpu: str) -> str:
    """"Intel(R) Xeon(R) Processor" -> "Intel Xeon"; "AMD EPYC 7B13 64-Core Processor" -> "AMD EPYC 7B13"."""
    words = [w for w in cpu.split("@")[0].replace("(R)", "").replace("(TM)", "").split()
             if w not in ("Processor", "CPU") and not w.endswith("-Core")]
    return " ".join(words) or cpu


def machine_label(m: dict) -> str:
    avx = {True: "with AVX-512", False: "without AVX-512"}.get(m.get("avx512"), "AVX-512 not recorded")
    return f"{cpu_name(m['cpu'])} ({m['cores']} cores, {avx})"


def _measured_on(times: dict) -> str:
    dates = sorted({m["date"] for m in times["machines"]})
    return (f"complete builds, {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "")) if dates else \
        "no measured times yet"


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


def by_machine(times: dict, stem: str, profile: str) -> list[tuple[float, dict]]:
    """(seconds, machine) of every machine that measured the chapter in the profile, fastest first."""
    return sorted(((m["seconds"][profile][stem], m) for m in times["machines"]
                   if stem in m.get("seconds", {}).get(profile, {})), key=lambda t: t[0])


def time_range(times: dict, stem: str, profile: str, also: float | None = None) -> str | None:
    """"17 min" (one machine), "17 to 32 min" (several), None (none). ``also``: seconds of another build (this
    one) that the range must take in, so that a time printed beside the range never lies outside it."""
    secs = sorted([s for s, _ in by_machine(times, stem, profile)] + ([also] if also is not None else []))
    if not secs:
        return None
    lo, hi = minutes(secs[0]), minutes(secs[-1])
    if lo == hi:
        return lo
    (a, unit_lo), (_, unit_hi) = lo.split(" ", 1), hi.split(" ", 1)
    # "17 to 32 min", "40 s to 2 min"; only a bare unit is shared: "1 h 5 min" to "2 h 5 min" is not "1 to 2 h 5 min"
    return f"{a} to {hi}" if unit_lo == unit_hi and unit_lo in ("s", "min", "h") else f"{lo} to {hi}"


def _on_each(times: dict, stem: str, profile: str) -> str:
    rows = by_machine(times, stem, profile)
    if not rows:
        return "**not measured**"
    said = [f"**{minutes(s)}** on {machine_label(m)}" for s, m in rows]
    return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]


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


def _total(m: dict, stems, profile: str) -> tuple[float | None, list[str]]:
    """A machine's seconds for all ``stems`` in a profile, and the chapters it did not measure."""
    got = m.get("seconds", {}).get(profile, {})
    missing = [s for s in stems if s not in got]
    return (sum(got[s] for s in stems if s in got) or None), missing


def _total_words(m: dict, stems, profile: str) -> str:
    secs, missing = _total(m, stems, profile)
    if secs is None:
        return "not measured"
    return minutes(secs) + (f" (without {', '.join(missing)})" if missing else "")


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
        rows.append(f"| {machine_label(m)} | {mem} | {m['date']}.{source} | {_total_words(m, chapters, 'ci')} | "
                    f"{_total_words(m, chapters, 'book')} | {minutes(_total(m, shared, 'book')[0])} |")
    return "\n".join(rows) + "\n"


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


def shared_chapters(times: dict, stems, profile: str) -> list[str]:
    """The chapters every machine measured in ``profile``: the totals to set side by side (a machine measured
    before a chapter existed has no time for it)."""
    ms = [m for m in times["machines"] if m.get("seconds", {}).get(profile)]
    return [s for s in stems if ms and all(s in m["seconds"][profile] for m in ms)]


def by_speed(times: dict, shared) -> list[dict]:
    """The machines, fastest first by their `book` time for the ``shared`` chapters (unmeasured ones last)."""
    return sorted(times["machines"], key=lambda m: _total(m, shared, "book")[0] or float("inf"))


def readme_times(times: dict, stems) -> str:
    """The README's paragraph of build times (between ``README_BEGIN`` and ``README_END``), machines in order of
    their time for the chapters they all measured."""
    if not times["machines"]:
        return "No complete build has been timed yet (`python bench/bench_chapters.py` records one)."
    shared = shared_chapters(times, stems, "book")
    said = []
    for m in by_speed(times, shared):
        secs, missing = _total(m, stems, "book")
        if secs is None:
            continue
        without = f", without {', '.join(missing)}" if missing else ""
        extra = [s for s in stems if s not in shared and s not in missing]
        beside = (f" ({minutes(_total(m, shared, 'book')[0])} without {', '.join(extra)}, to set beside the others)"
                  if extra else "")
        said.append(f"{minutes(secs)} on {machine_label(m)}, {m['date']}{without}{beside}")
    return ("Executing every chapter in the `book` profile (what `make book` does, before it renders in under a "
            "minute) took " + "; ".join(said) + ". Machines of our kind differ about 2x in speed, so expect your "
            "own time anywhere in that range, not one of these numbers. The course guide has each chapter's "
            "range in both profiles.")


def update_readme(readme: Path, text: str) -> bool:
    """Put ``text`` between the README's markers; True if the file changed. Refuses a README without them."""
    old = readme.read_text()
    if README_BEGIN not in old or README_END not in old:
        raise ValueError(f"{readme} lacks the markers {README_BEGIN!r} and {README_END!r} around its build times; "
                         f"put them back where the times go.")
    head, rest = old.split(README_BEGIN, 1)
    new = head + README_BEGIN + "\n" + text + "\n" + README_END + rest.split(README_END, 1)[1]
    if new != old:
        readme.write_text(new)
    return new != old


def readme_block(readme: Path) -> str:
    """What the README holds between its markers now."""
    text = readme.read_text()
    return text.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip("\n")


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
        return (c["verdict"] == "holds" and e - h > 0) or (c["verdict"] == "does not hold" and e + h < 0)
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
        raise ValueError(f"the one-day plan (rlhf_lite/pages.py, DAY_PLAN) names chapters the book lacks: {unknown}; "
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


def ranks_and_generates(best_ranker: str, best_generator: str) -> str:
    """Chapter 7's sentence on discrimination against generation, from the arm whose final policy ranks held-out
    pairs best and the arm whose final policy has the highest true win rate: one clause when they are the same
    arm, two when not (tests/test_pages_words.py reads every outcome)."""
    if not best_ranker or not best_generator:
        raise ValueError("ranks_and_generates needs the names of both arms.")
    if best_ranker == best_generator:
        return f"{best_ranker} both ranks held-out pairs best and has the highest true win rate"
    return f"{best_ranker} ranks held-out pairs best, while {best_generator} has the highest true win rate"
