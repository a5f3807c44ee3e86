"""The reward-modelling chapter's outcome-dependent sentences: its Table 1 and the study of the preference model."""

from __future__ import annotations

import numpy as np

from rlhf_lite.reward.analysis import sections_apart
from rlhf_lite.stats import compare

# --- chapter 4's study of the preference model: its sentences from the findings (rlhf_lite.reward.analysis) ---

def pm_study_words(f) -> dict:
    """The study's sentences, by the glue name the chapter shows each under, from :class:`PMStudyFindings` ``f``:
    whether it trains, how far it is from the bars we set, what each lever did, and our reading of why."""
    h2 = f.h2
    ups = [what for what, d in (("more epochs", f.rising), ("more pairs", f.more_pairs), ("a larger SFT policy", f.bigger))
           if d > h2]
    if f.same_shown is None:
        same = "(not measured: the third of the pairs was not shown three times)."
    else:
        rep, once = f.same_shown
        same = f"{rep:.3f} against {once:.3f}. " + compare(
            rep - once, h2, "Seeing the same pairs again beats seeing new ones, here.",
            "New pairs beat the same pairs seen again.", "Repetition and new pairs are worth the same.",
            unclear=f"The two are not measurably apart (±{h2:.3f}).", resolution=0.02)
    reason = (
        (f"The preference model does not read its answers against the prompt's content: under another prompt of the "
         f"same section BT's agreement falls by {f.bt_drop:.2f} and the preference model's by {f.pm_drop:.2f}, and on "
         f"chat (does the answer copy or reverse the prompt's digits?) it scores {f.pm_chat:.2f} with its own prompt. "
         if f.reads_less else
         f"The preference model reads the prompt about as much as BT (under another prompt its agreement falls by "
         f"{f.pm_drop:.2f}, BT's by {f.bt_drop:.2f}). ")
        + f"Its reasoning score moved by {f.rising:+.3f} in its last epoch, by {f.more_pairs:+.3f} from a third to all "
        f"of the pairs and by {f.bigger:+.3f} from an SFT policy {f.ratio:.1f} times smaller to the book's.")
    pm_face, bt_face = f.pm_face, f.bt_face
    face = (f"On reasoning the preference model is right on {pm_face[0]:.2f} of the {f.n_alone} pairs whose wrong "
            f"answer is a list out of order, wrong on its face, and on {pm_face[1]:.2f} of the {f.n_not_alone} "
            f"whose wrong answer is in order (a wrong or missing digit, a wrong sum); BT on {bt_face[0]:.2f} and "
            f"{bt_face[1]:.2f}. Under another prompt its reasoning score is {f.pm_swap_reasoning:.2f} "
            f"(BT's {f.bt_swap_reasoning:.2f})"
            + (", so what it gets right there it does not get from the prompt either. "
               if f.pm_reasoning - f.pm_swap_reasoning < 2 * f.cell_h else ". "))
    reading = face + (
        "Our reading: the BT model scores one answer right after its prompt, in the layout the SFT policy was trained "
        "on (copy 2 4 = 2 4), so its head can use what the SFT policy already computes there about whether an answer "
        "follows from its prompt. The preference model sees the two answers after markers the SFT policy never saw, "
        "the second behind the first, and has to learn that binding again from a one-token label. It learns what the "
        "answers show by themselves (a refusal, filler, a list out of order) and the prompt's kind (an unsafe verb), "
        "not whether the digits match. The paper's 8B model brings that binding from pre-training. The fifth exercise "
        "tests this reading."
        if f.reads_less and pm_face[0] - pm_face[1] > 2 * f.h_face else
        "Our reading: the BT model scores one answer right after its prompt, in the layout the SFT policy was trained "
        "on, and can use what the SFT policy already computes there; the preference model sees the two answers after "
        "markers it never saw and has to learn the binding of answer to prompt again from a one-token label. The fifth "
        "exercise tests this reading." if f.reads_less else
        "The prompt does not explain the gap here, so the curves above are the whole account this chapter can give.")
    return {
        "pm_trains_words": (
            f"its last logged loss is {f.last_loss:.3f} against the {f.coin:.3f} of a coin flip on the label (the loss "
            f"averages the label with the end token, which is free): it trains." if f.last_loss < f.coin - 0.01 else
            f"its last logged loss is {f.last_loss:.3f}, no lower than the {f.coin:.3f} of a coin flip on the label "
            f"(the loss averages the label with the end token, which is free): it still does not train."),
        # the bars we set it (within 0.03 of BT on reasoning; 0.6 when the shorter answer is right), with the miss
        "target_reason": (
            f"scores {f.pm_reasoning:.3f} on reasoning against BT's {f.bt_reasoning:.3f}, within the 0.03 of BT we "
            f"asked of it" if f.pm_reasoning >= f.bt_reasoning - 0.03 else
            f"scores {f.pm_reasoning:.3f} on reasoning against BT's {f.bt_reasoning:.3f}, "
            f"{f.bt_reasoning - 0.03 - f.pm_reasoning:.3f} short of coming within 0.03 of it"),
        "target_short": ("at or above the 0.6 we asked of it" if f.pm_shorter >= 0.6 else
                         f"{0.6 - f.pm_shorter:.3f} short of the 0.6 we asked of it"),
        "lead_epochs": compare(f.rising, h2, "Still rising at the last epoch.", "Falling at the last epoch.",
                               "Flat at the last epoch.", unclear="Not measurably moving at the last epoch.",
                               resolution=0.02),
        "lead_pairs": compare(f.more_pairs, h2, "Three times the pairs help.", "Three times the pairs hurt.",
                              "Three times the pairs make no difference.",
                              unclear="Three times the pairs are not measurably better.", resolution=0.02),
        "lead_size": compare(f.bigger, h2, "The larger of our two sizes is better.",
                             "The smaller of our two sizes is better.", "Our two sizes score the same.",
                             unclear="Our two sizes are not measurably apart.", resolution=0.02),
        "lead_prompt": ("It does not read the prompt's content." if f.reads_less else
                        "It reads the prompt about as much as BT."),
        "same_shown": same,
        "pm_box": ((f"{(', '.join(ups[:-1]) + ' and ' + ups[-1] if len(ups) > 1 else ups[0]).capitalize()} "
                    f"{'each raise' if len(ups) > 1 else 'raises'} its reasoning score" if ups else
                    "Neither more epochs, more pairs nor a larger SFT policy raises its reasoning score measurably")
                   + f", while its chat score (does the answer copy the prompt?) ends between {min(f.pm_chats):.2f} and "
                     f"{max(f.pm_chats):.2f} in every run, BT's at {f.bt_chat:.2f}."),
        "pm_reason": reason,
        "pm_reading": reading,
    }


def table1_words(table, lo, hi) -> dict:
    """Chapter 4's reading of its Table 1 (section accuracies in %, with Wilson intervals ``lo``, ``hi``): where BT on
    MIX2 is above the prompted pi_0 and where clearly (intervals apart), and whether the preference model falls
    clearly below BT on chat. Returns {glue name: words}."""
    bt2, pr = table.loc["BT, MIX2"], table.loc["prompting (pi_0)"]
    above = [c for c in table.columns if bt2[c] > pr[c]]
    beats = sections_apart(lo, hi, "BT, MIX2", "prompting (pi_0)")
    pm_below = hi.loc["preference, MIX2", "chat"] < lo.loc["BT, MIX2", "chat"]
    return {
        "bt_above_prompting": "every section" if len(above) == 4 else
        f"{len(above)} of 4 sections ({', '.join(above) or 'none'})",
        "bt_beats_prompting": "every section" if len(beats) == 4 else
        f"{len(beats)} of 4 ({', '.join(beats) or 'none'}); on the rest the intervals overlap",
        "t1_lead": "As in the paper's Table 1, training beats prompting." if len(beats) >= 2 and len(above) >= 3 else
        "Training beats prompting less clearly than in the paper's Table 1." if len(above) >= 2 else
        "Unlike the paper's Table 1, training does not beat prompting here.",
        # the preference model against BT on chat, by their Wilson intervals (the paper's two are level there)
        "pm_lead": "Unlike the paper's preference model, which matches BT, ours falls clearly below BT on chat:"
        if pm_below else "As in the paper, our preference model is not clearly below BT on chat:",
        "pm_lead_short": "Ours falls clearly below BT on chat:" if pm_below else "Ours is not clearly below BT on chat:",
        "pm_explain": "The next section, on what the preference model needs, measures why." if pm_below else
        "It manages the harder format: it has to compare two answers with the prompt and express the result in one "
        "token, where the BT head scores one answer at a time.",
    }


def mix_words(bench_mix1: float, bench_mix2: float, bench_pairs: int, agree_mix1, agree_mix2) -> str:
    """The MIX2 model against the MIX1 model, by the lite RewardBench (``bench_*``: mean shares over ``bench_pairs``
    pairs, disjoint samples in quadrature) and by agreement with r* on the SFT policy's own pairs (``agree_*``:
    (mean, 95% half-width), combined in quadrature)."""
    rb_h = 1.96 * np.sqrt(bench_mix1 * (1 - bench_mix1) / bench_pairs + bench_mix2 * (1 - bench_mix2) / bench_pairs)
    (a1m, a1h), (a2m, a2h) = agree_mix1, agree_mix2
    words = dict(above="ahead of", below="behind", level="level with", unclear="not distinguishable from",
                 resolution=0.02)
    return (f"On the lite RewardBench the MIX2 model is {compare(bench_mix2 - bench_mix1, rb_h, **words)} the MIX1 "
            f"model ({bench_mix2:.3f} against {bench_mix1:.3f}); on the SFT policy's own pairs, judged by r*, it is "
            f"{compare(a2m - a1m, float(np.hypot(a1h, a2h)), **words)} it ({a2m:.3f} ± {a2h:.3f} against {a1m:.3f} ± "
            f"{a1h:.3f}).")


# The preference-data chapter's plausible causes, written once per dataset, for a Table 5 row whose direction of
# length (chosen longer or shorter than rejected) differs from the paper's.
TABLE5_LENGTH_CAUSES = {
    "orca": "the twin's rubric judge marks rambling down, but its noisy 1-10 ratings and its taste for a "
            "short near miss over a long correct answer need not add up to shorter chosen answers",
    "capybara": "as for Orca",
    "hh-rlhf": "the lite human twin has no taste for length, so chosen and rejected answers differ in length "
               "only through their content, while real HH-RLHF raters plausibly favoured fuller answers",
    "pku-saferlhf": "a real refusal is shorter than the harmful instructions it replaces, while the lite "
                    "refusal `sorry i can not help` is longer than most short digit answers",
    "ultrainteract": "a lite wrong answer is a near miss that drops or adds a digit as often as not, so only "
                     "the filler of the rambling half makes rejected answers longer, and label noise can hide it",
}


def table5_differences(differ) -> str:
    """A Markdown list of the datasets whose length direction differs from the paper's Table 5, each with its
    plausible cause (``TABLE5_LENGTH_CAUSES``; an unknown one says so), or "- none"."""
    return "\n".join(f"- `{d}`: {TABLE5_LENGTH_CAUSES.get(d, 'no explanation yet; an open question')}."
                     for d in differ) or "- none"


# --- issue 41: the preference model with each answer after its own prompt (rlhf_lite.reward.analysis.FormatFindings)

def format_words(f) -> dict:
    """The sentences of chapter 4's section on where each answer sits, by glue name, from :class:`FormatFindings`
    ``f``: whether the own-format model reached BT's level on chat and safety (the regime), whether it reads its
    prompt, and its reasoning score against BT's, pair by pair."""
    gap = {s: f"{f.gaps[s]:+.3f}" for s in f.gaps}
    short = [s for s in ("chat", "safety") if f.gaps[s] > f.tolerance + 1e-9]
    if f.regime:
        since = (f", as it has been since epoch {f.first_level_epoch:g}" if f.first_level_epoch is not None
                 and f.first_level_epoch < f.epochs else "")
        regime = (f"is level with BT where the paper's are: BT minus it is {gap['chat']} on chat and {gap['safety']} "
                  f"on safety, both within {f.tolerance:.2f}{since}")
    else:
        more = ""
        if "chat" in short and abs(f.chat_gap.mean - f.tolerance) <= f.chat_gap.half:
            more = ", by less than these chat pairs can resolve"  # own_resolution says how much: no extrapolation
        elif "chat" in short and f.epochs_to_regime is not None:
            more = (f"; at the rate of its last doubling of epochs ({f.chat_per_doubling:+.3f} on chat) it would need "
                    f"about {f.epochs_to_regime:.0f} epochs")
        elif "chat" in short:
            more = "; its chat score stopped rising, so more epochs of the same pairs would not close the gap"
        regime = (f"is not yet level with BT: BT minus it is {gap['chat']} on chat and {gap['safety']} on safety, "
                  f"beyond {f.tolerance:.2f} on {' and '.join(short)}{more}")
    reads = ("falls under another prompt clearly less than BT does: it still reads the answers more than the prompt"
             if f.reads_less else
             "falls under another prompt about as far as BT's or further: it reads its answers against the prompt")
    d, h = f.reasoning_diff
    reason = compare(d, h, f"ahead of BT on reasoning by {d:.3f} ± {h:.3f}, as in the paper",
                     f"behind BT on reasoning by {-d:.3f} ± {h:.3f}, unlike the paper's",
                     f"level with BT on reasoning ({d:+.3f} ± {h:.3f})",
                     unclear=f"not measurably apart from BT on reasoning ({d:+.3f} ± {h:.3f})", resolution=f.cell_h)
    if f.first_level_epoch is None:  # not level at the last epoch (the regime sentence says so): nothing to add
        first = ""
    elif f.first_level_epoch >= f.epochs:  # level at the last point only: the curve cannot show a shorter run
        first = "It reaches that level only at its last epoch, so these rows cannot tell whether a shorter run would."
    else:  # the regime sentence named the epoch ("since epoch k"): say what stopping there would have saved
        first = (f"Stopping at epoch {f.first_level_epoch:g} would have cost about {f.first_level_epoch / f.epochs:.0%} "
                 f"of this training's time.")
    g, gh = f.chat_gap
    lo, hi = f.chat_late
    swing = f"over the last half of its epochs its chat score moved between {lo:.3f} and {hi:.3f}"
    if abs(g - f.tolerance) <= gh:
        resolution = (f"Pair by pair, BT minus it on chat is {g:+.3f} ± {gh:.3f}, and the {f.tolerance:.2f} line lies "
                      f"inside that interval: on these chat pairs, {'reaching' if f.regime else 'missing'} it at the last "
                      f"epoch is not told apart from the opposite, and {swing}. Read it as about {f.tolerance:.2f} "
                      f"behind BT on chat, not as clearly level or clearly not.")
    else:
        resolution = (f"Pair by pair, BT minus it on chat is {g:+.3f} ± {gh:.3f}, clear of the {f.tolerance:.2f} line, "
                      f"so the verdict does not hang on its last epoch ({swing}).")
    return {"own_regime": regime, "own_reads": reads, "own_reason": reason, "own_first_words": first,
            "own_resolution": resolution, "own_level_words": " ".join(w for w in (first, resolution) if w)}
