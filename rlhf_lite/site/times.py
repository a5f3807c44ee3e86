"""The chapters' measured run times: ``bench/chapter_times.json`` read and worded, for the pages' "Run this chapter"
boxes, the course guide's tables and the README's paragraph of build times.

The file holds per-chapter seconds in both profiles measured by complete builds, one entry per kind of machine (CPU
model, cores, AVX-512 or not: machines of our kind differ about 2x in speed, so no one machine's minutes are quoted
as everyone's; ``bench/bench_chapters.py`` adds or replaces the entry of the machine it runs on from the timings each
build leaves in ``results/``); nothing is typed into the prose. The README's paragraph of build times is generated
from the same file (``readme_times``; a test keeps it in step).

Why our own code: the times are this book's own measurements, and no library words them.
"""

from __future__ import annotations

import json
from pathlib import Path

TIMES_FILE = Path("bench") / "chapter_times.json"
PROFILES = ("ci", "book")
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


def refuse_cached(timings: dict, profile: str) -> None:
    """Refuse a build (a results/book_timings_<profile>.json) that took chapters from its cache: their seconds,
    and the results they restored, are those of an earlier run, of whatever code and machine that was."""
    cached = [c for c, v in timings["chapters"].items() if v["cached"] or v["seconds"] is None]
    if cached:
        raise ValueError(f"the {profile} build took chapters {cached} from its cache, not from a run; rebuild with "
                         f"`python -m rlhf_lite.site.book --profile {profile} --rerun`.")
