"""Each chapter's headline numbers as one typed record: what the scorecard judges and what a later chapter quotes.

A chapter builds its headline (one dataclass below) from numbers it computed with the package's functions, and
:func:`save` writes it into ``results/<chapter>.json`` under ``"headline"``, beside the chapter's fuller
tables (which only its own page reads). The scorecard's claims (``rlhf_lite.site.claims``) and later chapters read
fields, never a table's display label: a renamed row cannot silently turn a claim into "not measured", and a
field a reader asks for that the type lacks fails a fast test (tests/test_headlines.py), not a full build.

Keys are roles, not labels: the gold judge and the learned one, the near regime and the far one.

Why our own code: the fields are this book's own measurements; dataclasses and JSON are all it takes.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from pathlib import Path

from rlhf_lite.io import save_results
from rlhf_lite.stats import Interval


class MissingResult(KeyError):
    """A headline a reader asked for is not there: the chapter did not run in this build (or in this profile), or
    its results file holds no such field. ``chapter`` and ``field`` say which."""

    def __init__(self, chapter: str, field: str | None, why: str):
        super().__init__(f"{chapter}: {why}")
        self.chapter, self.field, self.why = chapter, field, why

    def __str__(self) -> str:
        return f"{self.chapter}: {self.why}"


@dataclass(frozen=True)
class TheoryHeadline:
    """Chapter 1: the theory, checked on small bandits."""

    bandits: int  # independent random bandits (the unit of the paired intervals)
    dpo_full_coverage_max_error: float  # largest gap between DPO's policy and the optimum under full coverage
    enhancer_minus_offline: Interval  # share of the gap closed, online with the enhancer minus offline
    best_of_n_distributions: int
    best_of_n_largest_n: int
    best_of_n_largest_kl: float
    best_of_n_slack: float  # smallest log n - (n - 1)/n - KL(best-of-n || base) over every distribution and n


@dataclass(frozen=True)
class PreferenceDataHeadline:
    """Chapter 3: what curation does to MIX2's labels."""

    raw_pairs: int
    kept_pairs: int
    removed_share: float
    removed_share_excluding_ties: float
    label_accuracy_before: float  # share of labels agreeing with r*, raw MIX2
    label_accuracy_after: float  # the same, curated
    label_accuracy_removed: float  # the same, of the pairs curation removed
    label_accuracy_change: Interval  # after - before (disjoint samples, in quadrature)


@dataclass(frozen=True)
class RewardModelsHeadline:
    """Chapter 4: BT against prompting, curated against raw data."""

    onpolicy_pairs: int  # pi_0's own pairs the judges are scored on
    bt_agreement: float  # BT-MIX2's agreement with r* on them
    prompting_agreement: float  # prompted pi_0's
    bt_minus_prompting: Interval  # paired by pair
    bt_rewardbench: float
    prompting_rewardbench: float
    bench_pairs_per_category: int
    raw_pairs: int  # BT trained on raw MIX2
    curated_pairs: int  # BT trained on curated MIX2
    curated_minus_raw: Interval  # agreement with r* on pi_0's pairs, paired by pair


@dataclass(frozen=True)
class PreferenceModelHeadline:
    """Chapter 4's section on what the preference model needs: the preference model against BT, and whether it
    learned its task."""

    bench_pairs_per_category: int
    bt_sections: dict  # {RewardBench category: share right}, BT-MIX2
    pm_sections: dict  # the same, the pairwise preference model on MIX2
    pm_minus_bt_reasoning: Interval  # paired by pair
    pm_reads_prompt_less_than_bt: bool  # its agreement falls less than BT's under another prompt
    pm_section_half_width: float  # half-width of one category's share
    pm_reason: str  # why the preference model falls short, in the section's words
    # issue 41: the preference model with each answer after its own prompt, on the same pairs, longer
    own_format: str  # rlhf_lite.reward.preference.FORMATS
    own_epochs: float
    own_sections: dict  # {RewardBench category: share right}
    own_minus_bt_reasoning: Interval  # paired by pair, against the same BT-MIX2
    own_reads_prompt_less_than_bt: bool
    own_regime: bool  # within own_tolerance of BT on chat and safety, as the paper's are
    own_tolerance: float
    own_reason: str  # the section's words for the comparison


@dataclass(frozen=True)
class LengthBiasHeadline:
    """Chapter 5: how much each reward model likes length (mean per-prompt correlation of reward and words)."""

    prompts: int
    mix1_length_correlation: float  # BT-MIX1, in UltraRM's role
    mix2_length_correlation: float  # BT-MIX2
    mix1_minus_mix2: Interval  # paired by prompt


@dataclass(frozen=True)
class IterativeDpoHeadline:
    """Chapter 6: the paper's recipes over the seeds, at the last iteration (true win rate against pi_0)."""

    seeds: int
    iterations: int
    gold_recipe: str  # the recipes' names as the chapter shows them
    paper_recipe: str
    concise_recipe: str
    gold_win_rate: Interval
    paper_win_rate: Interval
    paper_chars: Interval
    concise_win_rate: Interval
    concise_chars: Interval
    offline_win_rate: Interval
    concise_minus_paper_chars: Interval  # paired by seed
    concise_minus_paper_win_rate: Interval


@dataclass(frozen=True)
class JudgeHeadline:
    """Chapter 8: what the loop learns from its judge, read from chapter 6's runs."""

    seeds: int
    iterations: int
    paper_recipe: str  # the recipe's name as the chapter shows it
    previous_minus_pi0_win_rate: Interval  # reference pi_(t-1) minus reference pi_0, paired by seed
    sweep_dpo_alone_win_rate: float  # the step sweep (loop seed 0, paper's recipe), true win rate: DPO loss alone
    sweep_with_sft_win_rate: float  # ... and with the SFT term (the recipes' own setting)


@dataclass(frozen=True)
class Matched:
    """One of chapter 7's controlled comparisons: the loop against offline DPO at the largest KL every seed of both
    reached (no extrapolation), paired by seed."""

    kl: float  # the matched KL, nats per token
    online: Interval  # the loop's true win rate at that KL
    offline: Interval  # offline DPO's
    difference: Interval  # online - offline, paired by seed
    offline_distance: float  # how far the offline arm's chosen answers sit from pi_0's own samples, nats per token


@dataclass(frozen=True)
class WhyOnlineHeadline:
    """Chapter 7: online against offline at matched KL, near pi_0 and far from it, for each judge."""

    seeds: int
    gold_judge: str  # the judges' names as the chapter shows them
    learned_judge: str
    gold_near: Matched
    gold_far: Matched
    learned_near: Matched
    learned_far: Matched


HEADLINES = {"01_theory": TheoryHeadline, "03_preference_data": PreferenceDataHeadline,
             "04_reward_models": RewardModelsHeadline, "04_preference_model": PreferenceModelHeadline, "05_length_bias": LengthBiasHeadline,
             "06_iterative_dpo": IterativeDpoHeadline, "07_why_online": WhyOnlineHeadline,
             "08_what_the_judge_teaches": JudgeHeadline}


def to_json(headline) -> dict:
    """A headline as JSON: intervals as ``{"mean", "ci95"}``, nested records as objects."""
    def enc(v):
        if isinstance(v, Interval):
            return v.to_json()
        if dataclasses.is_dataclass(v):
            return {f.name: enc(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, dict):
            return {str(k): enc(x) for k, x in v.items()}
        return v
    if not dataclasses.is_dataclass(headline) or type(headline) not in (*HEADLINES.values(), Matched):
        raise TypeError(f"to_json takes a chapter headline ({', '.join(t.__name__ for t in HEADLINES.values())}), "
                        f"got {type(headline).__name__}.")
    return enc(headline)


def from_json(kind: type, data: dict, chapter: str = "", where: str = ""):
    """The headline of type ``kind`` from its JSON; a missing field raises :class:`MissingResult` with its name."""
    hints = typing.get_type_hints(kind)
    values = {}
    for f in dataclasses.fields(kind):
        name = f"{where}{f.name}"
        if f.name not in data:
            raise MissingResult(chapter, name, f"its headline has no field {name!r}; rerun the chapter with the "
                                               "current code.")
        v, t = data[f.name], hints[f.name]
        if t is Interval:
            v = Interval(float(v["mean"]), float("nan") if v["ci95"] is None else float(v["ci95"]))
        elif dataclasses.is_dataclass(t):
            v = from_json(t, v, chapter, f"{name}.")
        values[f.name] = v
    return kind(**values)


def read(folder: Path, chapter: str, profile: str | None = None):
    """Chapter ``chapter``'s headline from ``folder/<chapter>.json`` (written in ``profile``, if given), or
    :class:`MissingResult` saying why there is none."""
    if chapter not in HEADLINES:
        raise ValueError(f"no headline type for chapter {chapter!r}; chapters with one: {sorted(HEADLINES)}.")
    path = Path(folder) / f"{chapter}.json"
    if not path.exists():
        raise MissingResult(chapter, None, f"results/{path.name} is missing: the chapter has not run here")
    data = json.loads(path.read_text())
    if profile is not None and data.get("profile") != profile:
        raise MissingResult(chapter, None, f"the chapter last ran in the `{data.get('profile')}` profile, and this "
                                           f"reader wants `{profile}`")
    if "headline" not in data:
        raise MissingResult(chapter, None, f"results/{path.name} holds no headline; rerun the chapter")
    return from_json(HEADLINES[chapter], data["headline"], chapter)



def read_or_why(folder: Path, chapter: str, profile: str | None = None) -> tuple:
    """:func:`read`, for a page that quotes another chapter when it can: ``(headline, "")``, or ``(None, why)`` when
    that chapter's headline is missing (a chapter run on its own, or in another profile). Other errors propagate."""
    try:
        return read(folder, chapter, profile), ""
    except MissingResult as e:
        return None, e.why

def save(chapter: str, headline, results: dict, profile: str) -> Path:
    """Write ``results`` (the chapter's fuller tables) and its ``headline`` to ``results/<chapter>.json``."""
    kind = HEADLINES.get(chapter)
    if kind is None or type(headline) is not kind:
        raise TypeError(f"chapter {chapter!r} saves a {kind.__name__ if kind else 'headline of a known chapter'}, "
                        f"got {type(headline).__name__}.")
    return save_results(chapter, {**results, "headline": to_json(headline)}, profile)
