"""Words of the chapters that depend on an outcome, chosen by tested functions so that every outcome reads as
English (the house style: glue a short phrase chosen by a tested function, not a sentence built in a notebook).

Why our own code: the book's own sentences.
"""

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


def preference_model_words(pm: float, bt: float, leans_on_length: bool) -> tuple[str, str]:
    """Chapter 6's two sentences on the preference model as a judge of the loop, from its agreement with the truth
    over the SFT policy's pairs (``pm``), BT-MIX2's (``bt``), and whether it leans on length (its agreement where
    the better answer is longer exceeds that where it is shorter by more than 0.15): (what it does, whether the
    chapter runs a loop ranked by it)."""
    if leans_on_length:
        what = (f"It leans on length far more than on correctness, and over all these pairs it agrees with the truth "
                f"on {pm:.2f} of them, against {bt:.2f} for BT-MIX2. A loop ranked by it would be taught length rather "
                f"than correctness on many of its pairs, so it gets no loop of its own here.")
    elif pm <= bt:
        what = (f"Its agreement differs by less than 0.15 between the two halves, but over all these pairs it agrees "
                f"with the truth on {pm:.2f} of them, against {bt:.2f} for BT-MIX2, so it gets no loop of its own here.")
    else:
        what = (f"It reads correctness about as well whichever answer is longer, and agrees with the truth on "
                f"{pm:.2f} of these pairs against {bt:.2f} for BT-MIX2.")
    loop = (f"Our preference model agrees with the truth on {pm:.2f} of the SFT policy's pairs against {bt:.2f} for "
            f"BT-MIX2, so it is not used as a judge of the loop." if leans_on_length or pm <= bt else
            f"Our preference model agrees with the truth on {pm:.2f} of the SFT policy's pairs, as well as BT-MIX2 "
            f"({bt:.2f}); this chapter has no loop ranked by it yet.")
    return what, loop


def gain_kept(gain_penalised: float, gain_plain: float) -> str:
    """How much of the unpenalised loop's gain in true reward the length-penalised loop keeps."""
    if gain_penalised > gain_plain > 0:
        return "gains more true reward than the unpenalised loop"
    if gain_plain > 0:
        return f"keeps {gain_penalised / gain_plain:.0%} of the unpenalised loop's true-reward gain"
    return ("gains true reward where the unpenalised loop loses it" if gain_penalised > 0
            else "does not gain true reward either")


def bias_against_paper(corr: float, half: float, paper: float) -> str:
    """Our MIX2 model's mean per-prompt correlation of reward and length (``corr`` ± ``half``) against the paper's."""
    if corr - half > paper:
        return (f"Our MIX2 model leans towards length {corr / paper:.1f} times as much as the paper's, one reason the "
                "paper's recipe fares worse here than in the paper.")
    return "Our MIX2 model is not clearly more length-biased than the paper's by this measure."
