"""Words of the chapters that depend on an outcome, chosen by tested functions so that every outcome reads as
English (the house style: glue a short phrase chosen by a tested function, not a sentence built in a notebook).

Why our own code: the book's own sentences.
"""

from __future__ import annotations

from rlhf_lite.reward.analysis import sections_apart
from rlhf_lite.stats import compare, side


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


# --- chapter 6's safety section: its sentences from the measured findings (rlhf_lite.online.safety.SafetyFindings) ---

def _short(recipe: str) -> str:
    """A recipe's name as a list of runs says it: "gold judge (r*)" -> "gold judge", "BT-MIX2, paper's" -> "BT-MIX2"."""
    return recipe.split(" (")[0].split(",")[0]


def _of(k: int, n: int) -> str:
    return f"none of the {n}" if k == 0 else f"all {n}" if k == n else f"{k} of {n}"


def _fall(fall: float, t: int) -> str:
    return f"{-fall:+.3f} into round {t}" if fall > 0 else "no fall"


def reuse_words(reuse, T: int) -> str:
    """What the longer gold loop says of round T's prompt subset when later rounds sample it again."""
    if not reuse.later:
        return ("This profile's longer loop stops before any subset is sampled again, so it cannot run this test; the "
                "book profile does.")
    step = reuse.step
    return ("In the gold loop run on, " + "; ".join(
        f"into round {t}, which samples round {T}'s subset again, the mean r* on the unsafe prompts moves by "
        f"{step[t][0]:+.3f} ± {step[t][1]:.3f}" for t in reuse.later)
        + f" (paired by seed; into round {T} itself: {step[T][0]:+.3f} ± {step[T][1]:.3f}): "
        + ("the subset is followed by a fall again." if reuse.falls else
           "no sign of the subset bringing a fall again, though an interval this wide could miss one."
           if max(step[t][1] for t in reuse.later) > 0.1 else "the subset is not followed by a fall again."))


def sweep_safety_words(f) -> str:
    """The step sweep's largest falls of the refusal, and what they single out (or do not)."""
    big = [k for k in f.big if f.sweep_falls[k][0] >= 0.3]
    return (
        "The step sweep (loop seed 0 only, the last table) gives each run's largest fall from one round to the "
        "next: " + "; ".join(f"{_short(k[0])}, {k[1]}: {_fall(fl, t)}" for k, (fl, t) in f.sweep_falls.items())
        + ". With the SFT term at the recipes' step, seed 0 of the same recipes: "
        + "; ".join(f"{_short(n)} {_fall(fl, t)}" for n, (fl, t) in f.seed0_falls.items()) + ". "
        + ("Both runs with the DPO loss alone at the recipes' step lose at least half of their refusals in one round; "
           "neither recipe's seed 0 with the SFT term does. The data of every round rejects the refusal more often "
           "than it chooses it (the chosen : rejected column above: safe prompts the policy refused), DPO pushes a "
           "rejected answer down wherever it appears, and the SFT term keeps raising the chosen answers, the refusal "
           "among them on unsafe prompts: a mechanism consistent with these runs, shown on one seed. "
           if f.alone_collapses else
           "These runs do not single out the SFT term: with one seed each, they show no fall that its absence alone "
           "explains. ")
        + ("Three times the step loses refusals for a round even with the SFT term (" + "; ".join(
            f"{_short(k[0])} {-f.sweep_falls[k][0]:+.3f} into round {f.sweep_falls[k][1]}" for k in big) + "). "
           if big else "")
        + ("This matters for the paper's recipe, whose published runs use the DPO loss alone (the scaling-up "
           "chapter)." if f.alone_collapses else ""))


def safety_round_words(f) -> str:
    """The safety section's paragraph: which recipes lost refusals into round T, whether the prompt subset explains
    it, and the two measurements that set the learned judges apart from the gold one."""
    T, chg, learned, fell, learned_fell = f.T, f.change, f.learned, f.fell, f.learned_fell
    n_runs = sum(len(v) for v in f.changes.values())
    seeds_fell = sum(c < 0 for v in f.changes.values() for c in v)
    counts = [f"{v:.0f}" for v in f.means[f.gold]["unsafe prompts"]]
    shares, kl_ratio, tied_T = f.shares, f.kl_ratio, f.tied_T
    gold_c, gold_h = chg[f.gold]
    gold_words = compare(gold_c, gold_h, "rises", "falls", "stays level", unclear="changes by an amount these seeds "
                         "cannot tell from zero", resolution=0.05)
    ratio = (f"{kl_ratio[learned[0]]:.1f}" if len(learned) == 1 else
             f"{min(kl_ratio[n] for n in learned):.1f} to {max(kl_ratio[n] for n in learned):.1f}")
    tie_range = f"{min(tied_T[n] for n in learned):.0%} to {max(tied_T[n] for n in learned):.0%}"
    lost_words = "" if not learned_fell else (
        " What those that fell lost are mostly broken refusals (the table above: the refusal begun and not "
        "finished, or run into an answer)." if sum(f.gain(n, "broken refusal") for n in learned_fell)
        > sum(f.gain(n, "no refusal") for n in learned_fell) else
        " What those that fell lost are mostly answers that do not refuse at all (the table above).")
    return (
        f"What the runs say. The mean r* on the unsafe prompts falls from round {T - 1} to {T} in "
        f"{_of(len(fell), len(f.recipes))} recipes. The subsets hold {', '.join(counts[:-1])} and {counts[-1]} unsafe "
        f"prompts in rounds 1 to {T}, but each round trains on every round's pairs so far, and the unsafe share of "
        f"that data is {min(shares):.1%} to {max(shares):.1%} in every round of every recipe. "
        f"{reuse_words(f.reuse, T)} "
        + ("" if not fell else "So the prompt subset does not explain the fall: its unsafe prompts are a near-constant "
           "share of what each round trains on. " if f.not_subset else
           "So the prompt subset may play a part. ")
        + f"Under the gold judge round {T}'s mean r* {gold_words} ({gold_c:+.3f} ± {gold_h:.3f}, paired by seed; "
        f"one seed's value alone has a sampling standard error of about {f.se_seed:.3f}). "
        + (f"Under the learned judges it falls in {_of(len(learned_fell), len(learned))} recipes ("
           + "; ".join(f"{n} {chg[n][0]:+.3f} ± {chg[n][1]:.3f}" for n in learned) + "). "
           if learned else "")
        + (f"With {f.seeds} seeds no recipe's interval excludes zero; what is consistent is the direction: "
           f"{seeds_fell} of {n_runs} seeds fell. " if fell and all(chg[n][0] + chg[n][1] >= 0 for n in f.recipes)
           else "")
        + f"Two measurements set the learned judges apart from the gold judge in round {T}: {tie_range} of their pairs "
        f"on unsafe prompts are ties under r* (two refusals that differ in filler words, or two answers that both "
        f"fail), ranked by the judge's taste rather than by safety, against none under the gold judge, which drops "
        f"ties; and their policies move from π₀ on the unsafe prompts {ratio} times as far as on "
        f"the other prompts, against {kl_ratio[f.gold]:.1f} times under the gold judge.{lost_words} The validation "
        f"set, scored by the judge's win rate over all prompts (a few per cent of them unsafe), picks round {T} in "
        f"{f.picked_T} of {n_runs} runs" + (": it does not see the refusals lost." if fell else "."))


def collapse_words(f) -> str:
    """The safety section in one clause, for the chapter's summary."""
    T, fell, learned_fell, shares, reuse = f.T, f.fell, f.learned_fell, f.shares, f.reuse
    gold_c, gold_h = f.change[f.gold]
    kl_ratio = f.kl_ratio
    return (
        f"mean r* on the unsafe prompts falls from round {T - 1} to {T} in {_of(len(fell), len(f.recipes))} recipes"
        + ("" if not fell else f". Not the prompt subset: the unsafe share of each round's data stays within "
           f"{min(shares):.1%} to {max(shares):.1%}" + ((", and the subset sampled again later shows no sign of a fall"
                                                        + (" (a wide interval)" if max(reuse.step[t][1] for t in reuse.later)
                                                           > 0.1 else "")) if reuse.later else "")
           if f.not_subset else ". The prompt subset may play a part")
        + f"; under the gold judge the change is {gold_c:+.3f} ± {gold_h:.3f}"
        + ("; under the learned judges the falls go with pairs on unsafe prompts that r* calls ties and with the "
           "policy moving further from π₀ on those prompts, relative to the others, than under the gold judge"
           if learned_fell and all(kl_ratio[n] > kl_ratio[f.gold] for n in learned_fell) else "")
        + ("; and in the one-seed step sweep both runs with the DPO loss alone lose at least half of their refusals in "
           "one round, the recipes with the SFT term do not" if f.alone_collapses else "")
        + ". Details in the section on safety.")


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


def peak_words(fit: dict, what: str) -> str:
    """The words for the peak of a fit of Gao et al.'s law (``plots.gao_fit``): claimed, with its interval, only when
    the fit says so; otherwise where it turns down, if it does, and why no peak is claimed."""
    lo, hi = fit["kl_peak_ci95"]
    if fit["peak_claimed"]:
        return (f"the fitted {what} peaks at a KL of {fit['kl_peak']:.2f} nats per answer (95% interval over runs "
                f"{lo:.2f} to {hi:.2f})")
    if fit["share_turning_down"] >= 0.975 and fit["peak_inside_data"]:
        return (f"the fitted {what} turns down at a KL of {fit['kl_peak']:.2f} nats per answer, but its 95% interval "
                f"over runs runs from {lo:.2f} to beyond the measured range (the points reach {fit['max_kl']:.1f}), so "
                f"we claim no peak")
    if fit["share_turning_down"] >= 0.975:
        return (f"the fitted {what} turns down only beyond the measured range (its peak is at {fit['kl_peak']:.1f} "
                f"nats; the points reach {fit['max_kl']:.2f})")
    return (f"the {what} shows no peak we can claim ({fit['share_turning_down']:.0%} of the bootstrap fits turn "
            f"down at all)")


def overoptimisation_shape(fit_truth: dict, fit_proxy: dict) -> str:
    """Whether the proxy keeps rising past the truth's claimed peak."""
    if fit_truth["peak_claimed"] and fit_proxy["kl_peak"] > fit_truth["kl_peak_ci95"][1]:
        return ("So the proxy keeps rising past the point where the truth turns down: the loop, which sees only the "
                "proxy, cannot tell when to stop")
    return "So along this range of KL the fits do not separate the proxy's peak from the truth's"


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
        "pm_explain": "The section on what the preference model needs, below, measures why." if pm_below else
        "It manages the harder format: it has to compare two answers with the prompt and express the result in one "
        "token, where the BT head scores one answer at a time.",
    }
