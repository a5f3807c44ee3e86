"""The paper's claims that the scorecard (rlhf_lite.site.scorecard) judges, and how each is read from the chapters'
headlines (rlhf_lite.headlines: typed fields, never a table's label) as one effect in the paper's direction with
its 95% interval and the interval's method.

Why our own code: the claims and their mapping onto our measurements are this book's own content.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from rlhf_lite.stats import Interval, side

EMPIRICAL, THEORY = "empirical", "theory"

# The interval methods the rows use (the page names each row's)
PAIRED_SEEDS = "paired by seed, t"
PAIRED_BANDITS = "paired by bandit, t"
PAIRED_PAIRS = "paired by pair"
PAIRED_PROMPTS = "paired by prompt"
SEEDS = "t over seeds"
DISJOINT = "disjoint samples, in quadrature"
EXACT = "exact"


@dataclass
class Measured:
    """Our analog of a claim: ``effect`` > 0 is the paper's direction; ``half_width`` its 95% interval's half
    width (None or NaN: none, e.g. a single seed; with ``exact``, none is needed); ``method`` how the interval
    was made (one of the constants above); ``conditions``: further (name, met) checks, where "not met" means
    measured against the claim."""

    text: str
    effect: float
    half_width: float | None
    n: str
    method: str
    exact: bool = False
    conditions: list = field(default_factory=list)
    learned: list = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    key: str
    claim: str  # the paper's claim in our words
    where: str  # its table, figure, section or algorithm
    paper: str  # the paper's number(s)
    chapter: str  # the notebook that measures it
    measure: Callable[[dict], Measured]  # {chapter: its headline (rlhf_lite.headlines)} -> our analog
    why_not: Callable[[dict], str]  # one sentence for when it does not hold
    built_in: str | None = None  # how the lite world was built to produce this, if it was
    kind: str = EMPIRICAL  # or THEORY: counted apart
    note: str | None = None  # what a reader must know to read the row (e.g. a baseline at chance by construction)
    # False: the row's baseline is at chance by construction, so the row is shown but left out of the tally
    counted: bool = True
    # The same effect and half-width as the chapter prints them: a function of the chapter's glued values
    # ({name: value}, tests/test_scorecard.py reads them from the executed chapter), so a test can check that
    # the scorecard quotes the comparison its chapter tells, not another one.
    printed: Callable[[dict], tuple] | None = None


def _seeds(h) -> str:
    return f"{h.seeds} seeds"


def _bt_beats_prompting(R):
    h = R["04_reward_models"]
    return Measured(f"agreement with r* on pi_0's pairs: BT-MIX2 {h.bt_agreement:.3f}, prompted pi_0 "
                    f"{h.prompting_agreement:.3f} (lite RewardBench {h.bt_rewardbench:.3f} against "
                    f"{h.prompting_rewardbench:.3f})", *h.bt_minus_prompting, f"{h.onpolicy_pairs} pairs", PAIRED_PAIRS)


def _pm_beats_bt_reasoning(R):
    """Reasoning, preference model minus BT, on the same pairs; measurable only if the preference model learned its
    task: it reads its prompt (its agreement falls under another prompt, as BT's does) and beats a coin flip (0.5)
    in every section, by more than the chapter's half-width of a section's share."""
    h = R["04_preference_model"]
    half = h.pm_section_half_width
    learned = [("the preference model reads its prompt", not h.pm_reads_prompt_less_than_bt)]
    learned += [(f"the preference model beats a coin flip on {sec} ({float(v):.3f} against 0.5 ± {half:.3f})",
                 side(float(v), half, at=0.5) == "above") for sec, v in h.pm_sections.items()]
    return Measured(f"lite RewardBench reasoning: preference model {h.pm_sections['reasoning']:.3f}, BT "
                    f"{h.bt_sections['reasoning']:.3f}", *h.pm_minus_bt_reasoning, f"{h.bench_pairs_per_category} pairs",
                    PAIRED_PAIRS, learned=learned)


def _pm_own_beats_bt_reasoning(R):
    """The same comparison with the preference model in the regime where it reads its prompt (issue 41): each
    answer after its own prompt, longer training; measurable under the same conditions, plus the regime itself
    (level with BT on chat and safety, as the paper's preference model is)."""
    h = R["04_preference_model"]
    half = h.pm_section_half_width
    learned = [("the preference model reads its prompt", not h.own_reads_prompt_less_than_bt),
               (f"the preference model is within {h.own_tolerance:.2f} of BT on chat and safety "
                f"({h.own_sections['chat']:.3f} and {h.own_sections['safety']:.3f} against "
                f"{h.bt_sections['chat']:.3f} and {h.bt_sections['safety']:.3f})", h.own_regime)]
    learned += [(f"the preference model beats a coin flip on {sec} ({float(v):.3f} against 0.5 ± {half:.3f})",
                 side(float(v), half, at=0.5) == "above") for sec, v in h.own_sections.items()]
    return Measured(f"lite RewardBench reasoning: preference model with each answer after its own prompt "
                    f"({h.own_epochs:g} epochs) {h.own_sections['reasoning']:.3f}, BT {h.bt_sections['reasoning']:.3f}",
                    *h.own_minus_bt_reasoning, f"{h.bench_pairs_per_category} pairs", PAIRED_PAIRS, learned=learned)


def _curation(R):
    h = R["03_preference_data"]
    return Measured(f"labels agreeing with r*: {h.label_accuracy_before:.3f} before, {h.label_accuracy_after:.3f} "
                    f"after (of the removed pairs {h.label_accuracy_removed:.3f}); {h.removed_share:.0%} of MIX2's "
                    f"pairs removed ({h.removed_share_excluding_ties:.0%} not counting ties)", *h.label_accuracy_change,
                    f"{h.raw_pairs} pairs", DISJOINT)


def _curation_downstream(R):
    h = R["04_reward_models"]
    return Measured(f"agreement with r* on pi_0's pairs, BT on curated MIX2 ({h.curated_pairs} pairs) minus BT on raw "
                    f"MIX2 ({h.raw_pairs} pairs)", *h.curated_minus_raw, f"{h.onpolicy_pairs} pairs", PAIRED_PAIRS)


def _length_bias(R):
    h = R["05_length_bias"]
    return Measured(f"mean per-prompt correlation of reward and length: BT-MIX1 (UltraRM's role) "
                    f"{h.mix1_length_correlation:.2f}, BT-MIX2 {h.mix2_length_correlation:.2f}", *h.mix1_minus_mix2,
                    f"{h.prompts} prompts", PAIRED_PROMPTS)


def _online_vs_offline(regime: str, judge: str):
    """Chapter 7's controlled comparison: the loop against offline DPO on a writer's data (``regime`` "near": the
    demonstration maker that wrote the lite twins; "far": text pi_0 would rarely write), both arms' samples ranked
    by the same judge and paired by the same rule, compared at the largest KL every seed of both reached (no
    extrapolation), paired by seed."""
    def measure(R):
        h = R["07_why_online"]
        c = getattr(h, f"{judge}_{regime}")
        name = getattr(h, f"{judge}_judge")
        learned = [(f"{arm} above pi_0 (0.5) at that KL", _above_half(iv))
                   for arm, iv in (("the loop", c.online), ("offline DPO", c.offline))]
        return Measured(f"{name}: true win rate at matched KL ({c.kl:.2f} nats per token), loop "
                        f"{c.online.mean:.3f} minus offline DPO {c.offline.mean:.3f}, offline data "
                        f"{c.offline_distance:+.2f} nats per token from pi_0's own samples", *c.difference,
                        _seeds(h), PAIRED_SEEDS, learned=learned)
    return measure


def _above_half(iv: Interval) -> bool:
    """An arm's win rate against pi_0 clear of a tie (0.5, its chance baseline): by its interval where the chapter
    has one, by its mean otherwise (one seed)."""
    if not math.isfinite(iv.mean):  # the arm could not be compared along KL (chapter 7 saves NaN): not above a tie
        return False
    return side(iv.mean, iv.half if math.isfinite(iv.half) else 0.0, at=0.5) == "above"


def _offline_beats_sft(R):
    h = R["06_iterative_dpo"]
    m, half = h.offline_win_rate
    return Measured(f"offline DPO's true win rate against pi_0 (0.5 is a tie): {m:.3f}", m - 0.5, half, _seeds(h), SEEDS)


def _length_penalty(R):
    h = R["06_iterative_dpo"]
    (dc, hc), (dw, hw) = h.concise_minus_paper_chars, h.concise_minus_paper_win_rate
    return Measured(f"characters {h.concise_chars.mean:.1f} with the penalty, {h.paper_chars.mean:.1f} without; true "
                    f"win rate {h.concise_win_rate.mean:.3f} against {h.paper_win_rate.mean:.3f} ({dw:+.3f} ± {hw:.3f})",
                    -dc, hc, _seeds(h), PAIRED_SEEDS,
                    conditions=[("quality kept (the win rate's interval reaches zero or above)", dw + hw >= 0)])


def _reference_pi0(R):
    h = R["08_what_the_judge_teaches"]
    m, half = h.previous_minus_pi0_win_rate
    return Measured("true win rate, reference pi_0 minus reference pi_(t-1)", -m, half, _seeds(h), PAIRED_SEEDS)


def _dpo_full_coverage(R):
    err = R["01_theory"].dpo_full_coverage_max_error
    return Measured(f"largest gap between DPO's policy and the optimum, on a bandit solved exactly: {err:.1e} "
                    f"(within 0.01 counts as recovered)", 0.01 - err, None, "exact", EXACT, exact=True)


def _exploration(R):
    h = R["01_theory"]
    return Measured("share of the gap to the optimum closed, online with the enhancer minus offline",
                    *h.enhancer_minus_offline, f"{h.bandits} bandits", PAIRED_BANDITS)


def _best_of_n_kl(R):
    h = R["01_theory"]
    return Measured(f"KL of best-of-n from its base, {h.best_of_n_distributions} distributions, n up to "
                    f"{h.best_of_n_largest_n}: largest {h.best_of_n_largest_kl:.2f}; smallest room under the "
                    f"bound {h.best_of_n_slack:.2e}", h.best_of_n_slack + 1e-9, None, "exact", EXACT, exact=True)


TABLE2 = "LC AlpacaEval-2 31.3 against 22.5"
CLAIMS = (
    Claim("bt_beats_prompting", "A Bradley-Terry reward model trained on the curated mixture judges better than "
          "prompting the SFT model", "Table 1", "RewardBench: BT-MIX2 99.4 / 65.1 / 87.8 / 86.4 against prompting "
          "93.6 / 44.3 / 71.3 / 73.5 (chat / chat-hard / safety / reasoning)", "04_reward_models", _bt_beats_prompting,
          lambda R: "Prompting pi_0 asks a tiny model that was never trained to compare answers.",
          note="The baseline is at chance by construction: pi_0 never saw a comparison in training, so its "
               "prompted answer carries no information, unlike the paper's prompted LLaMA-3-8B-it. The row "
               "measures BT against a coin flip, and the tally leaves it out.",
          counted=False, printed=lambda g: (g["bt_prompt_diff"], g["bt_prompt_diff_h"])),
    Claim("pm_beats_bt_reasoning", "The pairwise preference model beats the BT model on reasoning", "Table 1",
          "reasoning 94.7 against 86.4", "04_preference_model", _pm_beats_bt_reasoning,
          lambda R: R["04_preference_model"].pm_reason,
          printed=lambda g: (g["pm_bt_reason_diff"], g["pm_bt_reason_diff_h"])),
    Claim("pm_own_beats_bt_reasoning", "In the regime where it reads its prompt, the pairwise preference model beats "
          "the BT model on reasoning", "Table 1", "reasoning 94.7 against 86.4 (chat 98.3 against 99.4, safety 89.7 "
          "against 87.8)", "04_preference_model", _pm_own_beats_bt_reasoning,
          lambda R: f"The preference model shown each answer after its own prompt is {R['04_preference_model'].own_reason}.",
          printed=lambda g: (g["own_bt_reason_diff"], g["own_bt_reason_diff_h"]),
          note="The book's default preference model (the row above) reads the authors' format and never learned its "
               "task; this row trains the same model on the same pairs with each answer after its own prompt, "
               "for longer, and quotes it only if it reaches BT's level on chat and safety."),
    Claim("curation", "Removing ties, small margins and incorrect labels raises the quality of the preference data",
          "Section 2, Appendix B", "no number; about 10% of the pairs removed", "03_preference_data", _curation,
          lambda R: "The chapter's filter-by-filter table gives the accuracy of the labels each filter removed.",
          printed=lambda g: (g["acc_change"], g["acc_change_h"])),
    Claim("curation_downstream", "Curated preference data gives a better reward model than the raw data",
          "Section 2, Appendix B (implied: the reason to curate)", "no number", "04_reward_models",
          _curation_downstream,
          lambda R: "The chapter's table gives both models' agreement and best-of-n, and the preference-data "
                    "chapter how accurate the labels each filter removed were.",
          printed=lambda g: (g["cur_raw_diff"], g["cur_raw_diff_h"])),
    Claim("length_bias", "A reward model trained on MIX1 (UltraRM's data, mostly UltraFeedback) likes length more "
          "than one trained on MIX2", "Figure 3", "mean correlation 0.19 for UltraRM-13B against 0.06 for BT-MIX2",
          "05_length_bias", _length_bias,
          lambda R: "The chapter's heatmaps show the correlation for each prompt and length.",
          printed=lambda g: (g["r_diff"], g["r_diff_h"]),
          built_in="UltraFeedback's twin, the largest part of MIX1, is rated by an annotator given a taste for "
                   "length (beta_len > 0), and MIX2 adds twins whose annotators dislike it (beta_len < 0)."),
    Claim("online_beats_offline_gold", "Online iterative DPO beats offline DPO at matched KL, offline data near "
          "pi_0 (written like its demonstrations, as the lite twins are); both ranked by r* itself", "Table 2", TABLE2,
          "07_why_online", _online_vs_offline("near", "gold"),
          lambda R: "Data written like pi_0's demonstrations is what the loop's first round samples anyway; the "
                    "chapter's replays and frontier figure show where along KL the arms part.",
          printed=lambda g: (g["near_diff"], g["near_diff_ci"])),
    Claim("online_beats_offline", "Online iterative DPO beats offline DPO at matched KL, offline data near pi_0; "
          "both ranked by the learned BT-MIX2 model, the paper's judge", "Table 2", TABLE2, "07_why_online",
          _online_vs_offline("near", "learned"),
          lambda R: ("With a learned judge both arms learn the judge's errors along with r*; the iterative DPO "
                     "chapter measures how many of the loop's pairs teach the truth and how many teach length."),
          printed=lambda g: (g["bt_near_diff"], g["bt_near_diff_ci"])),
    Claim("online_beats_far_offline", "Online iterative DPO beats offline DPO at matched KL on data other policies "
          "wrote (the paper's regime: its offline data came from other models); both ranked by r* itself", "Table 2",
          TABLE2, "07_why_online", _online_vs_offline("far", "gold"),
          lambda R: "The chapter's frontier figure shows where along KL each arm leads.",
          printed=lambda g: (g["far_diff"], g["far_diff_ci"])),
    Claim("online_beats_far_offline_bt", "Online iterative DPO beats offline DPO at matched KL on data other "
          "policies wrote; both ranked by the learned BT-MIX2 model", "Table 2", TABLE2, "07_why_online",
          _online_vs_offline("far", "learned"),
          lambda R: "The learned judge's errors add noise to both arms; the chapter's frontier figure shows both "
                    "judges.",
          printed=lambda g: (g["bt_far_diff"], g["bt_far_diff_ci"])),
    Claim("offline_beats_sft", "Offline DPO beats the SFT model", "Table 2", "LC AlpacaEval-2 22.5 against 10.2",
          "06_iterative_dpo", _offline_beats_sft,
          lambda R: "Offline DPO learns from pairs other policies wrote; the chapter's table by task family shows "
                    "where it falls behind.",
          printed=lambda g: (g["win_off"] - 0.5, g["win_off_ci"])),
    Claim("length_penalty", "The length penalty (eq. 9) gives shorter answers without losing quality", "Table 4",
          "with the penalty against without: LC AlpacaEval-2 38.1 against 31.3, but Chat-Arena-Hard 22.1 against "
          "29.1; shorter answers", "06_iterative_dpo",
          _length_penalty,
          lambda R: "The chapter's table by task family shows which families paid for the shorter answers.",
          printed=lambda g: (-g["pen_chars_diff"], g["pen_chars_diff_h"])),
    Claim("reference_pi0", "The reference model stays pi_0 in every iteration (rather than the last iterate)",
          "Algorithm 2", "no number: the paper's algorithm, not an ablation", "08_what_the_judge_teaches", _reference_pi0,
          lambda R: "Over the few iterations run here the two references are close (the chapter's KL column).",
          printed=lambda g: (-g["ref_win_diff"], g["ref_win_diff_ci"])),
    Claim("dpo_full_coverage", "Under full coverage DPO recovers the KL-regularised optimum", "Section 3",
          "a theorem: no number", "01_theory", _dpo_full_coverage,
          lambda R: "The optimiser stopped before it converged: a bug, since full coverage makes this exact.",
          kind=THEORY, printed=lambda g: (0.01 - g["dpo_err"], None)),
    Claim("exploration", "Online exploration beats learning from a fixed offline dataset", "Section 3 (Algorithm 1)",
          "a theorem: no number", "01_theory", _exploration,
          lambda R: "The chapter's offline data covers the optimum on this bandit; see its coverage exercise.",
          kind=THEORY, printed=lambda g: (g["enh_minus_off"], g["enh_minus_off_h"])),
    Claim("best_of_n_kl", "The KL divergence of best-of-n from its base policy is at most log n - (n-1)/n",
          "Section 3.2", "a bound: no number", "01_theory", _best_of_n_kl,
          lambda R: "A distribution broke the bound: a bug in the computation, since the bound is a theorem.",
          kind=THEORY, printed=lambda g: (g["bon_slack"] + 1e-9, None)),
)
