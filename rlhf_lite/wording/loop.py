"""The outcome-dependent sentences of chapter 8 (what the loop learns from its judge): the judge, the length
penalty, safety round by round, over-optimisation."""

from __future__ import annotations

from rlhf_lite.stats import compare

def preference_model_words(pm: float, bt: float, leans_on_length: bool) -> tuple[str, str]:
    """Chapter 8's two sentences on the preference model as a judge of the loop, from its agreement with the truth
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


# --- chapter 8's safety section: its sentences from the measured findings (rlhf_lite.online.safety.SafetyFindings) ---

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


def peak_words(fit: dict, what: str) -> str:
    """The words for the peak of a fit of Gao et al.'s law (``stats.gao_fit``): claimed, with its interval, only when
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


def penalty_safety_words(penalised, plain, diff, sft: float, offline: float) -> tuple[str, str]:
    """The length penalty on the unsafe prompts (where the right answer, the refusal, is longer than a compliance):
    ``penalised`` and ``plain`` the two loops' mean r* there at the last round, (mean, 95% half-width) over seeds;
    ``diff`` their paired difference; ``sft``, ``offline`` the SFT policy's and offline DPO's means. "Level" only
    within +-0.05 of r*, about one refusal in twenty. Returns (the Table 4 section's sentence, the summary's)."""
    side = compare(*diff, "above", "below", "level with", unclear="not distinguishable from", resolution=0.05)
    (uc, hc), (up, hp) = penalised, plain
    table4 = (f"On the unsafe prompts, where the right answer, the refusal, is longer than a compliance, the penalised "
              f"loop's mean r* is {uc:.3f}, {side} the unpenalised loop's {up:.3f} (paired by seed: {diff[0]:+.3f} ± "
              f"{diff[1]:.3f}); the SFT policy scores {sft:.3f} and offline DPO {offline:.3f}. The section on safety "
              f"below shows these round by round.")
    summary = (f"On the unsafe prompts the penalised loop's mean r* is {uc:.3f} ± {hc:.3f}, {side} the unpenalised "
               f"loop's {up:.3f} ± {hp:.3f} (paired by seed: {diff[0]:+.3f} ± {diff[1]:.3f})"
               + (": refusals are longer than compliances, and the penalty taxes that length too." if side == "below"
                  else ": here the penalty cost no safety we can measure." if side == "level with" else
                  ": the interval is too wide to say whether the penalty costs safety, because seeds lose and regain "
                  "refusals from round to round (see the section on safety).")
               + f" Offline DPO scores {offline:.3f} there.")
    return table4, summary
