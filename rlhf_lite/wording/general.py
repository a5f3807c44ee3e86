"""Words any chapter uses for an interval, a tie or a comparison of arms."""

from __future__ import annotations

from rlhf_lite.stats import side

def ranks_and_generates(best_ranker: str, best_generator: str) -> str:
    """Chapter 7's sentence on discrimination against generation, from the arm whose final policy ranks held-out
    pairs best and the arm whose final policy has the highest true win rate: one clause when they are the same
    arm, two when not (tests/test_wording.py reads every outcome)."""
    if not best_ranker or not best_generator:
        raise ValueError("ranks_and_generates needs the names of both arms.")
    if best_ranker == best_generator:
        return f"{best_ranker} both ranks held-out pairs best and has the highest true win rate"
    return f"{best_ranker} ranks held-out pairs best, while {best_generator} has the highest true win rate"


def interval_words(mean: float, half: float) -> str:
    """How a paired difference's 95% interval lies against zero, as chapter 6's comparisons say it."""
    return {"above": "an interval above zero", "below": "an interval below zero",
            "includes": "an interval that includes zero: these seeds cannot tell the two apart"}[side(mean, half)]


def against_tie(mean: float, half: float) -> str:
    """A win rate against pi_0 read against a tie (0.5): clear of it, above it in the mean only, or not above it."""
    if side(mean, half, at=0.5) == "above":
        return "above a tie, its interval clear of 0.5"
    return "above a tie in the mean, but its interval reaches 0.5" if mean > 0.5 else "not above a tie"


def training_cut(offline_passes: float, loop_passes: float) -> str:
    """Which way a difference in DPO pair passes between offline DPO and the loop cuts."""
    if offline_passes > loop_passes:
        return "more training for offline DPO, so the difference in steps cuts against the loop"
    if offline_passes < loop_passes:
        return "less training for offline DPO, so the difference in steps favours the loop"
    return "the same training"
