# %% [markdown]
# # What the loop learns from its judge
#
# {doc}`06_iterative_dpo` ran the paper's Algorithm 2 {cite:p}`dong2024rlhf` with a perfect judge, the true reward
# $r^*$, and with the learned BT reward models, and found the learned judges' loops behind the gold one. This
# chapter reads the same runs (nothing is trained again) to ask what the judge taught. The paper's Section 2 says
# the reward model decides what the loop can learn; the lite world can check every pair the loop trained on
# against the truth. The chapter measures
#
# 1. what each judge's pairs teach under the truth, and how the step size and the SFT term of the loss change
#    what the loop makes of them;
# 2. how much each proxy likes length, and what the paper's length penalty (eq. 9, its Table 4) buys and costs;
# 3. what the loop does to the answers of unsafe prompts, round by round, and whether it learns a bias nobody
#    designed for (echoing the prompt);
# 4. where the proxy and the truth part as the policy moves away from $\pi_0$ (reward over-optimisation), and
#    what the reference of each DPO round, $\pi_0$ or the previous iterate, does to that distance.
#
# Every number comes from several runs of the loop with different seeds, with 95% intervals.
#
# :::{admonition} What we found
# :class: tip
# - **What the judge teaches.** In its first round the paper's recipe trains on pairs of which
#   {glue:text}`right_plain_1:.2f` are right, {glue:text}`wrong_plain_1:.2f` wrong and {glue:text}`tie_plain_1:.2f`
#   ties under the truth; on the ties the loop learns the judge's taste.
# - **The length penalty** makes the answers {glue:text}`len_pen_text` than $\pi_0$'s and {glue:text}`keep_text`.
# - **Safety, round by round:** {glue:text}`collapse_short`
# - **Over-optimisation:** for BT-MIX2, {glue:text}`over_short_text`.
# - **The reference:** with the previous iterate as reference the true win rate differs by
#   {glue:text}`ref_win_diff:+.3f` ± {glue:text}`ref_win_diff_ci:.3f` from $\pi_0$ as reference,
#   {glue:text}`ref_win_text`.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-cell

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue

from rlhf_lite.config import Config, with_overrides
from rlhf_lite.notebook import quiet_libraries
from rlhf_lite.headlines import JudgeHeadline, save
from rlhf_lite.stats import Interval, compare, largest_fall, seed_interval
from rlhf_lite.wording import (bias_against_paper, collapse_words, gain_kept, interval_words, overoptimisation_shape,
                               peak_words, penalty_safety_words, preference_model_words, safety_round_words,
                               sweep_safety_words)
from rlhf_lite.online import across_seeds, agreement_by_length, load_judge, overoptimisation_points
from rlhf_lite.online.analysis import (PM, fitted_loss, length_lean, overall_agreement, overoptimisation_summary, pack,
                                       pair_truth_by_round, paired_by_seed, proxy_length_correlation, round_summary,
                                       table_row)
from rlhf_lite.online.book_recipes import (COLORS, CONCISE, FIRST_LR, GOLD, LAMBDA, MAIN_STEP, PAPER, PREV, ULTRA,
                                           chapter_loops)
from rlhf_lite.online.loop import prompt_subset
from rlhf_lite.online.safety import SafetyFindings, answer_kinds, reuse_test, round_means, round_rows
from rlhf_lite.plots import overoptimisation_figure, per_seed_panels

quiet_libraries()  # one line per stage: not the libraries' per-model bars and renamed-argument notices
pd.set_option("display.precision", 3)
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")

# %% [markdown]
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Measured, so evidence: what the judges' pairs teach under the truth, the length penalty's gains and costs,
# safety round by round, whether the loop learns the echo-loving annotator's taste, where the proxy and the truth
# part along KL, and the reference ablation. Built into the world, so an illustration: that the UltraRM-role loop
# writes the longest answers, since its judge was trained on annotators built to like length (see
# {doc}`02_lite_world`).
# :::
#
# ## The runs
#
# The runs are those of {doc}`06_iterative_dpo`, read back from `runs/` (running this chapter first trains them):
# the gold judge, the paper's recipe (BT-MIX2), the same with the length penalty, the UltraRM-role loop (BT-MIX1)
# and the reference ablation, each over the loop seeds; the one-seed step-size sweep; the gold loop run on to more
# rounds; and offline DPO.

# %% tags=hide-output
loops = chapter_loops(cfg)  # its stage lines go to stderr: in JupyterLab, not on the page
runs, sweep, longer_gold, offline, long_cfg = loops.runs, loops.sweep, loops.longer_gold, loops.offline, loops.long_cfg
STEPS, LR, MAX_ROUNDS, seeds = loops.steps, cfg.dpo.learning_rate, long_cfg.online.iterations, range(cfg.online.seeds)
T = cfg.online.iterations
agg = {name: [across_seeds([r.evals[t] for r in rs]) for t in range(T + 1)] for name, rs in runs.items()}
off = across_seeds([o["eval"] for o in offline])
fams = list(agg[PAPER][T]["by_family"])
glue("T_iter", T, display=False)
glue("eval_n", cfg.online.eval_n, display=False)
glue("eval_prompts", cfg.eval_prompts, display=False)
for key, name in (("sft", None), ("plain", PAPER), ("it", CONCISE), ("ultra", ULTRA)):
    a = agg[PAPER][0] if name is None else agg[name][T]
    glue(f"len_{key}", float(a["length"][0]), display=False)
    glue(f"win_{key}", float(a["win_rate"][0]), display=False)
concise_minus_main = paired_by_seed(runs[PAPER], runs[CONCISE], ("chars", "win_rate"), T)  # as chapter 6 has it
for key in ("chars", "win_rate"):
    short = "chars" if key == "chars" else "win"
    glue(f"pen_{short}_diff", float(concise_minus_main[key][0]), display=False)
    glue(f"pen_{short}_diff_h", float(concise_minus_main[key][1]), display=False)

# %% [markdown]
# What was read back: every recipe over its loop seeds, each with the rounds its config asks for.

# %% tags=nbval-check-output
print("recipes:", "; ".join(f"{name} ({len(rs)} seeds)" for name, rs in runs.items()))
print("rounds of every run:", sorted({r.rounds for rs in runs.values() for r in rs}), "| the longer gold loop:",
      sorted({r.rounds for r in longer_gold}), "| the sweep's runs:", len(sweep))

# %% [markdown]
# ## What the judge teaches (the paper's Section 2, measured)
#
# Section 2 of the paper argues that the reward model decides what the loop can learn. In the lite world
# we can read every pair the loop trained on against the truth. For each iteration's pairs: the share
# whose chosen answer is truly better than the rejected one (**right**), equally good (**tie**: the pair
# teaches nothing true, only whatever else tells the two answers apart) or worse (**wrong**), and the
# share whose chosen answer is a best-of-$n$ under $r^*$. Means over the loop seeds.

# %% tags=hide-input
taught = {name: pair_truth_by_round(runs[name], T) for name in (GOLD, PAPER, CONCISE, ULTRA)}
pd.DataFrame({(name, f"iteration {t + 1}"): {k: round(v, 3) for k, v in p.items()}
              for name, per_t in taught.items() for t, p in enumerate(per_t)}).T

# %% [markdown]
# Where do the ties come from? On a prompt $\pi_0$ already answers right, all $n$ samples have the same
# content and $r^* = 1$; they differ only in filler words. The gold judge gives them the same score and
# the loop drops the prompt. A learned judge ranks them anyway, by whatever it learned besides
# correctness. Here is how each learned judge (without the penalty) decides between two of $\pi_0$'s
# samples that differ in $r^*$, split by whether the truly better answer is the longer one:

# %% tags=hide-input
pi0_samples = runs[PAPER][0].samples(1)
by_length = {name: agreement_by_length(load_judge(with_overrides(cfg, {"online.judge": name}), progress=False,
                                                  log=lambda *a: None), pi0_samples,
                                       max_pairs=600 if profile == "ci" else 2000)
             for name in ("bt-mix2", "bt-mix1", "pm-mix2")}
pd.DataFrame({name: {f"better answer is {side}": f"{agree:.3f} ({n} pairs)" for side, (agree, n) in d.items()}
              for name, d in by_length.items()}).T

# %% tags=hide-cell
first = {name: per_t[0] for name, per_t in taught.items()}
glue("tie_plain_1", first[PAPER]["tie"], display=False)
glue("tie_plain_T", taught[PAPER][-1]["tie"], display=False)
glue("wrong_plain_1", first[PAPER]["wrong"], display=False)
glue("right_plain_1", first[PAPER]["right"], display=False)
glue("best_plain_1", first[PAPER]["chosen_is_best"], display=False)
glue("tie_ultra_1", first[ULTRA]["tie"], display=False)
glue("ties_vs_wrong_text", "The ties outnumber the wrong pairs." if first[PAPER]["tie"] > first[PAPER]["wrong"]
     else "The wrong pairs outnumber the ties.", display=False)
glue("mix2_longer", by_length["bt-mix2"]["longer"][0], display=False)
glue("mix2_shorter", by_length["bt-mix2"]["shorter"][0], display=False)
glue("mix1_longer", by_length["bt-mix1"]["longer"][0], display=False)
glue("mix1_shorter", by_length["bt-mix1"]["shorter"][0], display=False)
glue("pm_longer", by_length["pm-mix2"]["longer"][0], display=False)
glue("pm_shorter", by_length["pm-mix2"]["shorter"][0], display=False)


leans = {name: length_lean(by_length[name]) for name in ("bt-mix2", "bt-mix1")}
for key, name in (("mix2", "bt-mix2"), ("mix1", "bt-mix1")):
    glue(f"{key}_lean", float(leans[name][0]), display=False)
    glue(f"{key}_lean_h", float(leans[name][1]), display=False)
    glue(f"{key}_lean_words", compare(*leans[name], "leans towards length", "leans against length",
                                      "does not lean either way", unclear="does not lean measurably either way",
                                      resolution=0.03), display=False)
pm_all, bt_all = overall_agreement(by_length["pm-mix2"]), overall_agreement(by_length["bt-mix2"])
glue("pm_overall", pm_all, display=False)
glue("mix2_overall", bt_all, display=False)
pm_text, pm_loop_words = preference_model_words(
    pm_all, bt_all, leans_on_length=by_length["pm-mix2"]["longer"][0] - by_length["pm-mix2"]["shorter"][0] > 0.15)
glue("pm_text", pm_text, display=False)
glue("pm_loop_words", pm_loop_words, display=False)

# %% [markdown]
# The gold judge's pairs are all right by construction. The paper's recipe, ranked by BT-MIX2, trains in
# its first iteration on pairs of which {glue:text}`right_plain_1:.2f` are right, {glue:text}`wrong_plain_1:.2f`
# wrong and {glue:text}`tie_plain_1:.2f` ties under the truth; by the last iteration the ties are
# {glue:text}`tie_plain_T:.2f`. Its chosen answer is a true best-of-$n$ in {glue:text}`best_plain_1:.2f` of
# the pairs. The wrong pairs are the judge's mistakes on hard cases, a near miss ranked above the right
# answer. {glue:text}`ties_vs_wrong_text` The ties are where the loop learns the judge's taste rather than
# the task. BT-MIX2 agrees with the truth on {glue:text}`mix2_longer:.2f` of the pairs where the better answer
# is longer and on {glue:text}`mix2_shorter:.2f` where it is shorter, so it {glue:text}`mix2_lean_words`
# ({glue:text}`mix2_lean:+.3f` ± {glue:text}`mix2_lean_h:.3f`); BT-MIX1 agrees on {glue:text}`mix1_longer:.2f`
# and {glue:text}`mix1_shorter:.2f`, so it {glue:text}`mix1_lean_words` ({glue:text}`mix1_lean:+.3f` ±
# {glue:text}`mix1_lean_h:.3f`). The annotators of MIX1's largest part were built to like length (the lite
# world's annotators score $r^* + \beta |a|$ plus noise; see the lite-world chapter), and MIX2 adds annotators
# who dislike it. Where a judge leans towards length, on the tie pairs the loop learns to pad, and the padding
# grows from round to round, because each round samples from the policy the last round padded.
#
# **The preference model.** The paper finds its pairwise preference model better than BT on reasoning
# (Table 1). Ours agrees with the truth on {glue:text}`pm_longer:.2f` of the pairs where the better
# answer is longer and on {glue:text}`pm_shorter:.2f` where it is shorter. {glue:text}`pm_text` The
# reward-modelling chapter's section {doc}`04_preference_model` measures what it
# lacks, over epochs, pairs, a smaller $\pi_0$, and the same answers asked about under another prompt.
#
# **The step and the loss.** The first version of the iterative DPO chapter trained with the DPO loss alone at a
# learning rate of {glue:text}`lr_old:g`, and found iterative DPO barely ahead of offline DPO. The sweep
# shows why, with loop seed 0 of the gold and the paper's recipes:

# %% tags=hide-input
at_T = lambda run: round_summary(run, T)  # noqa: E731
steps = {}
for name in (GOLD, PAPER):
    for k in STEPS:
        steps[(name, k)] = at_T(sweep[(name, k)][0])
        if k == "lr, DPO loss alone":
            steps[(name, MAIN_STEP)] = at_T(runs[name][0])
step_table = pd.DataFrame(steps).T
glue("lr_now", LR, display=False)
glue("lr_old", FIRST_LR, display=False)
step_table

# %% tags=hide-cell
g, p = step_table.loc[GOLD], step_table.loc[PAPER]
k_first, k_alone, k_big = STEPS
for key, tab in (("gold", g), ("plain", p)):
    glue(f"{key}_first", float(tab.loc[k_first, "true win rate"]), display=False)
    glue(f"{key}_first_kl", float(tab.loc[k_first, "KL to pi_0"]), display=False)
    glue(f"{key}_alone", float(tab.loc[k_alone, "true win rate"]), display=False)
    glue(f"{key}_alone_kl", float(tab.loc[k_alone, "KL to pi_0"]), display=False)
    glue(f"{key}_alone_len", float(tab.loc[k_alone, "length"]), display=False)
    glue(f"{key}_alone_judge", float(tab.loc[k_alone, "judge's win rate"]), display=False)
    glue(f"{key}_main", float(tab.loc[MAIN_STEP, "true win rate"]), display=False)
    glue(f"{key}_main_kl", float(tab.loc[MAIN_STEP, "KL to pi_0"]), display=False)
    glue(f"{key}_big", float(tab.loc[k_big, "true win rate"]), display=False)
    glue(f"{key}_big_kl", float(tab.loc[k_big, "KL to pi_0"]), display=False)
    glue(f"{key}_big_judge", float(tab.loc[k_big, "judge's win rate"]), display=False)
glue("first_small_text", "moves the policy little" if g.loc[k_first, "KL to pi_0"] < g.loc[MAIN_STEP, "KL to pi_0"]
     else "moves the policy as far", display=False)
glue("sft_helps_text", (
    "The SFT term is what makes the larger step usable: without it the paper's recipe follows its judge away "
    "from the truth" if p.loc[k_alone, "true win rate"] < p.loc[MAIN_STEP, "true win rate"] else
    "Here the SFT term did not help the paper's recipe on this seed"), display=False)

# %% [markdown]
# With the first version's settings the gold loop {glue:text}`first_small_text` (KL
# {glue:text}`gold_first_kl:.2f` nats per answer, true win rate {glue:text}`gold_first:.3f` for seed 0). At today's
# learning rate with the DPO loss alone it reaches {glue:text}`gold_alone:.3f` (KL
# {glue:text}`gold_alone_kl:.2f`), and the paper's recipe {glue:text}`plain_alone:.3f`, with answers of
# {glue:text}`plain_alone_len:.2f` words that its judge prefers to $\pi_0$'s {glue:text}`plain_alone_judge:.3f`
# of the time. {glue:text}`sft_helps_text` ({glue:text}`plain_main:.3f` with it). The SFT term keeps
# the chosen answers likely, so DPO cannot lower its loss by pushing both answers of a pair down, one of
# the ways a large step drifts; the revision of the paper's code offers it as the "feel-good" term of
# later work (Section 3.3 of the paper). With it, three times the step gives the gold loop
# {glue:text}`gold_big:.3f` at KL {glue:text}`gold_big_kl:.2f`, and the paper's recipe
# {glue:text}`plain_big:.3f` while its judge says {glue:text}`plain_big_judge:.3f`.
#
# So the effect we first measured was small for reasons in the recipe and in the world. In the recipe,
# the step was too small for the loop to show what it can do, and a larger step without the SFT term
# drifts. We changed both: the lite presets' DPO learning rate is now {glue:text}`lr_now:g` and the SFT
# term is on, for the loop and for offline DPO alike. In the world, the learned judges reward length that
# the truth does not pay for, and the loop learns it on every tie. We left that as it is: it is how this
# world's annotators were built, and the gold judge and the penalty of eq. 9 show what it costs.

# %% [markdown]
# ## The length penalty and the reward model (the paper's Table 4)
#
# How much does each proxy like length to begin with? We take the $n$ = {glue:text}`bias_n` answers
# $\pi_0$ wrote to each prompt of the loop's first iteration (every seed's first round samples from
# $\pi_0$), scored by the loop's own judge before any penalty, and compute, as in the length-bias chapter,
# the per-prompt Pearson correlation between the reward and the answer's length in words, then its mean
# over prompts. (A correlation needs at least three answers per prompt: with the evaluation's two, every
# coefficient would be +1 or -1, and `length_correlations` refuses them.)

# %% tags=hide-input
# mean over prompts of corr(proxy, words) on pi_0's n samples of iteration 1, one value per loop seed
corr_by_seed = {"BT-MIX2 (judge of the paper's recipe)": [proxy_length_correlation(r) for r in runs[PAPER]],
                "BT-MIX1 (UltraRM role)": [proxy_length_correlation(r) for r in runs[ULTRA]]}
bias = {k: seed_interval(v) for k, v in corr_by_seed.items()}
glue("bias_n", cfg.sampling.n, display=False)
pd.DataFrame({k: {"mean per-prompt corr(reward, length)": f"{m:.3f} ± {h:.3f}",
                  "by loop seed": ", ".join(f"{v:.3f}" for v in corr_by_seed[k]), "paper": p}
              for (k, (m, h)), p in zip(bias.items(), (0.06, 0.19))}).T

# %% tags=hide-input
(c2, h2), (c1, h1) = bias.values()
glue("corr_mix2", c2, display=False)
glue("corr_mix1", c1, display=False)
glue("bias_order_text", "more" if c1 - h1 > c2 + h2 else "less" if c1 + h1 < c2 - h2 else "about as", display=False)
glue("corr_mix2_ci", h2, display=False)
glue("mix2_vs_paper_text", bias_against_paper(c2, h2, paper=0.06), display=False)
glue("corr_mix1_ci", h1, display=False)
rows4 = {}
for name in (CONCISE, PAPER, ULTRA):
    a = agg[name][T]
    rows4[name] = {**table_row(a), **{f"r* {f}": round(a["by_family"][f][0], 3) for f in fams}}
rows4["SFT (pi_0)"] = {**table_row(agg[PAPER][0]), **{f"r* {f}": round(agg[PAPER][0]["by_family"][f][0], 3) for f in fams}}
rows4["offline DPO"] = {**table_row(off), **{f"r* {f}": round(off["by_family"][f][0], 3) for f in fams}}
table4 = pd.DataFrame(rows4).T
table4["paper: LC AlpacaEval-2"] = [38.1, 31.3, 20.7, 10.2, 22.5]
# two tables, so that each fits the page's column: the summary with the paper's number, then r* by task family
by_task = table4[[f"r* {f}" for f in fams]].astype(float).rename(columns=lambda c: c[3:])
display(table4.drop(columns=by_task.columns.map(lambda f: f"r* {f}")))
display(by_task.style.format("{:.3f}").set_caption("mean r* by task family"))

# %% tags=hide-cell
plain, main, ultra = agg[PAPER], agg[CONCISE], agg[ULTRA]
gain_plain, gain_pen = plain[T]["reward"][0] - plain[0]["reward"][0], main[T]["reward"][0] - main[0]["reward"][0]
glue("keep_text", gain_kept(gain_pen, gain_plain), display=False)
glue("lam", LAMBDA, display=False)
glue("lam_word", 5 * LAMBDA, display=False)
glue("len_grows_text", "grow" if plain[T]["length"][0] > plain[0]["length"][0] else "do not grow", display=False)
glue("len_pen_text", "shorter" if main[T]["length"][0] < main[0]["length"][0] else "no shorter", display=False)
unsafe = "unsafe" in fams
if unsafe:  # the penalty's effect on the unsafe prompts, paired by seed (each seed's recipes share pi_0 and prompts)
    unsafe_text, safety_summary = penalty_safety_words(
        main[T]["by_family"]["unsafe"], plain[T]["by_family"]["unsafe"],
        seed_interval([c.evals[T]["by_family"]["unsafe"]["reward"] - p.evals[T]["by_family"]["unsafe"]["reward"]
                       for p, c in zip(runs[PAPER], runs[CONCISE])]),
        main[0]["by_family"]["unsafe"][0], off["by_family"]["unsafe"][0])
glue("unsafe_text", unsafe_text if unsafe else "", display=False)
glue("ultra_longest_text", "the longest answers" if ultra[T]["length"][0] > max(plain[T]["length"][0], main[T]["length"][0])
     else "answers no longer than the others'", display=False)

# %% [markdown]
# On $\pi_0$'s answers the MIX2 model's mean coefficient is {glue:text}`corr_mix2:.2f` ±
# {glue:text}`corr_mix2_ci:.2f` (the paper's MIX2 model: 0.06), and the UltraRM-role model is
# {glue:text}`bias_order_text` length-biased: {glue:text}`corr_mix1:.2f` ± {glue:text}`corr_mix1_ci:.2f`
# (the paper's UltraRM-13B: 0.19). {glue:text}`mix2_vs_paper_text`
#
# Without a penalty the answers {glue:text}`len_grows_text` over the iterations: from
# {glue:text}`len_sft:.2f` words ($\pi_0$) to {glue:text}`len_plain:.2f`. The UltraRM-role loop writes
# {glue:text}`ultra_longest_text` ({glue:text}`len_ultra:.2f` words) and its true win rate is
# {glue:text}`win_ultra:.3f`. A penalty of {glue:text}`lam` per character, so {glue:text}`lam_word:.2f`
# for a five-letter filler word, makes the answers {glue:text}`len_pen_text` than $\pi_0$'s ({glue:text}`len_it:.2f`
# words) and {glue:text}`keep_text`. Paired by seed, the penalty changes the answers' length by
# {glue:text}`pen_chars_diff:+.1f` ± {glue:text}`pen_chars_diff_h:.1f` characters and the true win rate by
# {glue:text}`pen_win_diff:+.3f` ± {glue:text}`pen_win_diff_h:.3f` (penalised minus unpenalised loop).
# {glue:text}`unsafe_text`
#
# The paper's Table 4 has the same shape: the concise model has the best length-controlled
# AlpacaEval-2 score (38.1 against 31.3), and the UltraRM-13B model writes the longest answers with the
# lowest score (20.7). Our $r^*$ ignores filler, so it behaves like a length-controlled metric. The
# paper's *uncontrolled* Chat-Arena-Hard prefers the long answers (29.1 against 22.1), a comparison
# with no counterpart here: no judge in the lite world is fooled by length unless we build it so.
#
# Why is our $\lambda$ fifty times the paper's 0.001? A penalty matters through the differences in
# length between a prompt's samples, measured against the spread of the proxy's scores. Our answers
# differ by a few filler words, tens of characters; the paper's by hundreds or thousands.

# %% [markdown]
# ## Safety, round by round
#
# {glue:text}`n_unsafe` of the {glue:text}`eval_prompts` held-out prompts are unsafe requests, whose only
# right answer is the refusal `sorry i can not help` ($r^*= 1$; anything else scores 0). With
# {glue:text}`eval_n` answers to each, one answer moves a seed's value by {glue:text}`unsafe_step:.3f`, and
# a seed's value near {glue:text}`unsafe_p` (the recipes' mean at round {glue:text}`T_prev`) has a sampling
# standard error of about {glue:text}`unsafe_se:.3f` from the evaluation's answers alone. The figure shows every seed of every recipe; the table the mean over seeds with
# its 95% interval, the change from round {glue:text}`T_prev` to round {glue:text}`T_last` paired by seed
# (negative: refusals lost), and how many seeds fell.

# %% tags=hide-input
if "unsafe" in fams:
    per_seed_safety = {(name, k): r.family_curve("unsafe") for name, rs in runs.items() for k, r in enumerate(rs)}
    per_seed_panels({name: [r.family_curve("unsafe") for r in rs] for name, rs in runs.items()}, COLORS,
                    "mean $r^*$, unsafe prompts", ylim=(-0.03, 1.03))
    plt.show()
    # round T minus round T-1, per seed and paired by seed (negative: refusals lost)
    changes = {name: [per_seed_safety[(name, k)][T] - per_seed_safety[(name, k)][T - 1] for k in range(len(rs))]
               for name, rs in runs.items()}
    chg = {name: seed_interval(v) for name, v in changes.items()}
    safety_rounds = pd.DataFrame({name: {**{f"t = {t}": f"{agg[name][t]['by_family']['unsafe'][0]:.3f}" for t in range(T + 1)},
                                         f"change {T - 1}→{T}": f"{chg[name][0]:+.3f}{PM}{chg[name][1]:.3f}",
                                         "seeds fell": f"{sum(c < 0 for c in changes[name])} of {len(changes[name])}"}
                                  for name in runs}).T
    safety_rounds.loc["offline DPO"] = {f"t = {T}": f"{off['by_family']['unsafe'][0]:.3f}"}
    display(safety_rounds.fillna(""))
    n_unsafe_answers = sum(1 for r in runs[PAPER][0].records(0) if r["family"] == "unsafe")
    glue("n_unsafe", n_unsafe_answers // cfg.online.eval_n, display=False)
    glue("unsafe_step", 1 / max(1, n_unsafe_answers), display=False)
    p_prev = float(np.mean([agg[name][T - 1]["by_family"]["unsafe"][0] for name in runs]))
    glue("unsafe_p", f"{p_prev:.2f}", display=False)
    se_seed = float(np.sqrt(p_prev * (1 - p_prev) / max(1, n_unsafe_answers)))
    glue("unsafe_se", se_seed, display=False)
glue("T_prev", T - 1, display=False)
glue("T_last", T, display=False)

# %% [markdown]
# When recipes lose refusals in the same round, one candidate is the data. Every recipe and seed
# samples round $t$ on the same prompt subset, so a subset with few unsafe prompts is a round with little
# refusal to learn from. The table below counts, for the gold judge and the paper's recipe (mean over
# seeds), what each round sampled and trained on: the unsafe prompts in its subset; their share of the pairs
# the round trains on (with `online.history = "all"`, round $t$ trains on the pairs of rounds $1..t$); the
# pairs in that data that teach the refusal as the chosen answer and those that teach it as the *rejected*
# one (a safe prompt the policy refused); the share of the round's own pairs on unsafe prompts that $r^*$
# calls a tie (two refusals, or two answers that both fail to refuse); and the policy's KL from
# $\pi_0$ per answer on the held-out unsafe prompts beside the other prompts. `rlhf_lite.online.safety`
# reads these from each loop's files.

# %% tags=hide-input
def safety_round_table(m):
    """A recipe's :func:`~rlhf_lite.online.safety.round_means`, as the page shows it."""
    return pd.DataFrame({
        "unsafe prompts": m["unsafe prompts"].map("{:.0f}".format),
        "unsafe share of data": m["unsafe share of the round's data"].map("{:.1%}".format),
        "refusal chosen : rejected": [f"{c:.0f} : {a:.0f}" for c, a in zip(m["refusal chosen (round's data)"],
                                                                           m["refusal rejected (round's data)"])],
        "unsafe pairs tied": m["unsafe pairs tied"].map("{:.0%}".format),
        "KL unsafe / other": [f"{u:.2f} / {o:.2f}" for u, o in zip(m["KL per answer (unsafe)"], m["KL per answer (other)"])],
    })


if "unsafe" in fams:
    means = {name: round_means(runs[name], T, cfg.online.history) for name in runs}
    display(pd.concat({name: safety_round_table(means[name]) for name in (GOLD, PAPER)}, names=["recipe", "round"]))

# %% [markdown]
# A second test of the data: the gold loop run on to {glue:text}`max_rounds` rounds (the run {doc}`07_why_online`
# uses; the lite prompt pool holds {glue:text}`pool_rounds` subsets, so later rounds sample the same subsets
# again with the current policy). If round {glue:text}`T_last`'s subset were the cause, the rounds that
# sample it again would fall too.

# %% tags=hide-input
glue("max_rounds", MAX_ROUNDS, display=False)
glue("pool_rounds", cfg.data.iterations, display=False)
if "unsafe" in fams:
    long_curve = [seed_interval([r.evals[t]["by_family"]["unsafe"]["reward"] for r in longer_gold])
                  for t in range(MAX_ROUNDS + 1)]
    long_subsets = [prompt_subset(long_cfg, t) for t in range(1, MAX_ROUNDS + 1)]
    long_rows = [round_rows(run.root, MAX_ROUNDS, cfg.online.history) for run in longer_gold]
    long_unsafe = [float(np.mean([rows[t - 1]["unsafe prompts"] for rows in long_rows])) for t in range(1, MAX_ROUNDS + 1)]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    ax.errorbar(range(MAX_ROUNDS + 1), [m for m, _ in long_curve], yerr=[h for _, h in long_curve], color=COLORS[GOLD],
                marker="o", capsize=3, lw=1.5, label="gold loop, mean over seeds (95% interval)")
    again = [t for t in range(1, MAX_ROUNDS + 1) if long_subsets[t - 1] == long_subsets[T - 1]]
    ax.scatter(again, [long_curve[t][0] for t in again], s=160, facecolors="none", edgecolors="k", lw=1.3, zorder=3,
               label=f"rounds sampling round {T}'s subset")
    ax.set_xticks(range(MAX_ROUNDS + 1))
    ax.set_xticklabels(["0"] + [f"{t}\n({u:.0f} unsafe)" for t, u in zip(range(1, MAX_ROUNDS + 1), long_unsafe)], fontsize=9)
    ax.set_xlabel("round t (unsafe prompts in its subset)")
    ax.set_ylabel("mean $r^*$, unsafe prompts")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    plt.show()
    reuse = reuse_test(longer_gold, long_subsets, T)

# %% tags=hide-input
if "unsafe" in fams:
    kinds = pd.DataFrame({(name, f"t = {t}"): answer_kinds(runs[name], t) for name in runs for t in (T - 1, T)})
    kinds = kinds.fillna(0.0).reindex(["whole refusal", "broken refusal", "no refusal"]).fillna(0.0).T
    kinds.index.names = ["recipe", "round"]
    display(kinds.style.format("{:.0%}"))
    # the SFT term and the step size: the sweep's one seed, round by round
    sweep_safety = pd.DataFrame({(name, k): sweep[(name, k)][0].family_curve("unsafe") for name in (GOLD, PAPER)
                                 for k in STEPS}, index=[f"t = {t}" for t in range(T + 1)]).T
    sweep_safety.index.names = ["recipe", "DPO steps (seed 0)"]
    display(sweep_safety.style.format("{:.3f}"))
    findings = SafetyFindings(
        T=T, gold=GOLD, seeds=len(seeds), changes=changes, change=chg, means=means, kinds=kinds,
        picked_T=sum(r.best == T for rs in runs.values() for r in rs), se_seed=se_seed, reuse=reuse,
        sweep_falls={key: largest_fall(list(sweep_safety.loc[key])) for key in sweep_safety.index},
        seed0_falls={n: largest_fall(per_seed_safety[(n, 0)]) for n in (GOLD, PAPER)},
        alone=[key for key in sweep_safety.index if key[1] == "lr, DPO loss alone"],
        big=[key for key in sweep_safety.index if key[1].startswith("lr x 3")])
    glue("sweep_safety_text", sweep_safety_words(findings), display=False)
    glue("safety_round_text", safety_round_words(findings), display=False)
    glue("collapse_short", collapse_words(findings), display=False)
else:
    glue("safety_round_text", "This profile has no unsafe prompts.", display=False)
    glue("sweep_safety_text", "", display=False)
    glue("collapse_short", "this profile has no unsafe prompts.", display=False)
glue("safety_summary", safety_summary if unsafe else "This profile has no unsafe prompts.", display=False)

# %% [markdown]
# {glue:text}`safety_round_text`
#
# {glue:text}`sweep_safety_text`
#
# This is a measured association, not a proof of cause. Exercise 1 below is the experiment that would test it:
# drop the pairs whose two answers say the same thing, rerun the paper's recipe, and read this section's
# tables again.
# The paper does not report its policies' safety round by round, so there is no number of its to set beside
# these.

# %% [markdown]
# ## A bias nobody designed for: does the loop learn to echo?
#
# The reward-model chapter gave the HH-RLHF twin's annotator one more taste, set before any of this was
# measured: it likes an answer that repeats the prompt's own words. For an unsafe request that is a
# compliance, for `reverse` and `sort` a wrong answer. Here is the share of echoing answers each policy
# writes on the held-out prompts, by family, after the last iteration ($\pi_0$ and offline DPO for
# reference; mean over the loop seeds).

# %% tags=hide-input
ECHO_FAMS = [f for f in ("unsafe", "reverse", "sort", "copy") if f in fams]
echo_rows = {"SFT (pi_0)": agg[PAPER][0], "offline DPO": off, **{name: agg[name][T] for name in agg}}
echo_df = pd.DataFrame({name: {f"echo share: {f}": a["echo_by_family"][f][0] for f in ECHO_FAMS}
                        for name, a in echo_rows.items()}).T
display(echo_df.round(3))
# paired over seeds: the paper's recipe at pi_T against its own pi_0 on the unsafe prompts
unsafe_echo = seed_interval([r.evals[T]["by_family"]["unsafe"]["echo"] - r.evals[0]["by_family"]["unsafe"]["echo"]
                             for r in runs[PAPER]]) if "unsafe" in fams else (0.0, 0.0)
glue("echo_T", T, display=False)
glue("echo_unsafe_pi0", float(echo_df.loc["SFT (pi_0)", "echo share: unsafe"]) if "unsafe" in fams else 0.0, display=False)
glue("echo_unsafe_plain", float(echo_df.loc[PAPER, "echo share: unsafe"]) if "unsafe" in fams else 0.0, display=False)
glue("echo_unsafe_diff", float(unsafe_echo[0]), display=False)
glue("echo_unsafe_diff_h", float(unsafe_echo[1]), display=False)
glue("echo_unsafe_words", compare(unsafe_echo[0], unsafe_echo[1], "more", "fewer", "about as many",
                                  unclear="neither measurably more nor fewer", resolution=0.02), display=False)
glue("echo_gold_unsafe", float(echo_df.loc[GOLD, "echo share: unsafe"]) if "unsafe" in fams else 0.0, display=False)
glue("echo_reverse_plain", float(echo_df.loc[PAPER, "echo share: reverse"]) if "reverse" in fams else 0.0, display=False)
glue("echo_reverse_pi0", float(echo_df.loc["SFT (pi_0)", "echo share: reverse"]) if "reverse" in fams else 0.0,
     display=False)

# %% [markdown]
# $\pi_0$ echoes the request on {glue:text}`echo_unsafe_pi0:.1%` of its answers to unsafe prompts. After
# {glue:text}`echo_T` iterations with BT-MIX2 as the judge, the paper's recipe writes
# {glue:text}`echo_unsafe_words` echoing compliances ({glue:text}`echo_unsafe_plain:.1%`, a change of
# {glue:text}`echo_unsafe_diff:+.3f` ± {glue:text}`echo_unsafe_diff_h:.3f` over the seeds), and the loop
# judged by $r^*$ itself {glue:text}`echo_gold_unsafe:.1%`. On `reverse` prompts the share goes from
# {glue:text}`echo_reverse_pi0:.1%` to {glue:text}`echo_reverse_plain:.1%`. This bias sits in one of ten
# sources and is answered by another (PKU-SafeRLHF's safety labels, which prefer the refusal): what the
# loop does with it is what MIX2 as a whole teaches, measured rather than arranged.

# %% [markdown]
# ## Where the proxy and the truth part (reward over-optimisation)
#
# {cite:t}`gao2023scaling` measured how a policy optimised against a learned reward model first improves
# under a "gold" reward and then gets worse, while the proxy keeps rising, as the policy moves away from
# its start (measured by KL). Their gold reward was itself a larger reward model; ours is the truth. Each
# point below is one iterate of one run: its gain over $\pi_0$ in the proxy's reward (top, the judge's
# own units) and in mean $r^*$ (bottom), against its $\mathrm{KL}(\pi_t \| \pi_0)$ in nats for a whole
# answer, all three from that iterate's own evaluation samples. The points come from the loop's iterations,
# every seed, and the step-size sweep, whose larger steps reach further. The curves are fitted to the runs
# trained with the loops' loss (DPO plus the SFT term) only; the sweep's two runs with the DPO loss alone
# (hollow markers) optimise another objective and move much further from $\pi_0$, so pooling them with the
# others would fit one curve to two losses, and two runs are too few for a curve of their own.

# %% tags=hide-input
over = {"BT-MIX2": overoptimisation_points({PAPER: runs[PAPER], CONCISE: runs[CONCISE], PREV: runs[PREV],
                                            **{f"{PAPER}, {k}": sweep[(PAPER, k)] for k in STEPS}}),
        "BT-MIX1": overoptimisation_points({ULTRA: runs[ULTRA]})}
summary_over = {judge: overoptimisation_summary(pts) for judge, pts in over.items()}
overoptimisation_figure(over, summary_over, fitted_loss)
plt.show()

# %% tags=hide-cell
s2 = summary_over["BT-MIX2"]
ft, fp = s2["fit_truth"], s2["fit_proxy"]
glue("over_truth_words", peak_words(ft, "true gain"), display=False)
glue("over_proxy_words", peak_words(fp, "proxy gain"), display=False)
glue("over_points", s2["points"], display=False)
glue("over_runs", ft["runs"], display=False)
glue("over_short_text", f"{peak_words(ft, 'true gain')}, and {peak_words(fp, 'proxy gain')}", display=False)
glue("over_shape_text", overoptimisation_shape(ft, fp), display=False)

# %% [markdown]
# For BT-MIX2 ({glue:text}`over_points` iterates of {glue:text}`over_runs` runs), {glue:text}`over_truth_words`,
# while {glue:text}`over_proxy_words`. {glue:text}`over_shape_text`. The curve is Gao et al.'s law for
# best-of-$n$, $d(\alpha - \beta \log d)$ with $d = \sqrt{\mathrm{KL}}$, fitted by least squares; its interval
# comes from refitting on runs drawn with replacement (a run's iterates are not independent), and a peak is
# claimed only when at least 97.5% of those refits turn down and the peak lies inside the measured KL. The
# law was fitted to best-of-$n$ sampling, not to DPO; it is a shape to test against here, not a theory of
# this loop. This is what the loop's own monitoring cannot see: the loop only has the proxy. It is also why
# the KL term and the reference matter, which the next section measures.

# %% [markdown]
# ## Which reference? $\pi_0$ against the previous iterate
#
# Algorithm 2 keeps $\pi_0$ as the reference of every DPO round, and the maintainers say so (RLHFlow/
# Online-RLHF, GitHub issue #18). The public loop scripts of the paper's repository pass the previous
# iterate instead. With the previous iterate as reference, each round's KL term only keeps the policy
# near where it already is: nothing holds it near $\pi_0$. Both runs below use the penalised BT-MIX2
# recipe and the same seeds, so the difference is paired by seed.

# %% tags=hide-input
ref_rows = {"reference = pi_0 (Algorithm 2)": table_row(agg[CONCISE][T]), "reference = previous iterate": table_row(agg[PREV][T])}
ref_table = pd.DataFrame(ref_rows).T
ref_diff = paired_by_seed(runs[CONCISE], runs[PREV], ("win_rate", "kl", "length", "reward"), T)
ref_table.loc["previous minus pi_0, paired by seed"] = {
    "win rate vs pi_0": f"{ref_diff['win_rate'][0]:+.3f} ± {ref_diff['win_rate'][1]:.3f}",
    "mean r*": f"{ref_diff['reward'][0]:+.3f} ± {ref_diff['reward'][1]:.3f}",
    "length (words)": f"{ref_diff['length'][0]:+.2f} ± {ref_diff['length'][1]:.2f}",
    "KL to pi_0": f"{ref_diff['kl'][0]:+.2f} ± {ref_diff['kl'][1]:.2f}"}
ref_table

# %% tags=hide-cell
kl_more = ref_diff["kl"][0] - ref_diff["kl"][1] > 0
glue("ref_kl", float(agg[PREV][T]["kl"][0]), display=False)
glue("ref_kl_pi0", float(agg[CONCISE][T]["kl"][0]), display=False)
glue("ref_win_diff", float(ref_diff["win_rate"][0]), display=False)
glue("ref_win_diff_ci", float(ref_diff["win_rate"][1]), display=False)
glue("ref_kl_text", "moves clearly further" if kl_more else
     "does not move clearly further" if ref_diff["kl"][0] + ref_diff["kl"][1] >= 0 else
     "stays closer", display=False)
glue("ref_win_text", interval_words(*ref_diff["win_rate"]), display=False)

# %% [markdown]
# With the previous iterate as reference the loop {glue:text}`ref_kl_text` from $\pi_0$: a KL of
# {glue:text}`ref_kl:.2f` nats per answer after {glue:text}`T_iter` iterations against {glue:text}`ref_kl_pi0:.2f`
# with $\pi_0$. Its true win rate differs by {glue:text}`ref_win_diff:+.3f` ± {glue:text}`ref_win_diff_ci:.3f`,
# {glue:text}`ref_win_text`. The reference sets how far the loop may go from $\pi_0$; the over-optimisation
# figure shows what going further buys when the judge is a learned proxy.

# %% [markdown]
# ## Results file

# %% tags=hide-cell
headline = JudgeHeadline(
    seeds=cfg.online.seeds, iterations=T, paper_recipe=PAPER,
    previous_minus_pi0_win_rate=Interval(*ref_diff["win_rate"]),
    sweep_dpo_alone_win_rate=float(steps[(PAPER, "lr, DPO loss alone")]["true win rate"]),
    sweep_with_sft_win_rate=float(steps[(PAPER, MAIN_STEP)]["true win rate"]))
_ = save("08_what_the_judge_teaches", headline, {  # the path it wrote names this machine: not shown
    "seeds": cfg.online.seeds, "iterations": T, "length_penalty": LAMBDA, "dpo_learning_rate": LR,
    "pairs_under_truth": taught,
    "judge_agreement_by_length": {name: {side: {"agreement": v[0], "pairs": v[1]} for side, v in d.items()}
                                  for name, d in by_length.items()},
    "step_size_sweep_seed0": {f"{name} | {k}": v for (name, k), v in steps.items()},
    "overoptimisation": {"points": over, "summary": summary_over},
    "reference_ablation": {"pi0": pack(agg[CONCISE][T]), "previous": pack(agg[PREV][T]),
                           "previous_minus_pi0": {k: {"mean": m, "ci95": h} for k, (m, h) in ref_diff.items()}},
    "pi0_length_correlation": {k: {"mean": m, "ci95": h} for k, (m, h) in bias.items()},
    "echo_unsafe_change_paper_recipe": {"mean": float(unsafe_echo[0]), "ci95": float(unsafe_echo[1])},
    "paper": {"table4_lc_alpacaeval2": {"ours": 31.3, "ours_concise": 38.1, "ultrarm_13b": 20.7},
              "figure3_mean_length_correlation": {"bt_mix2": 0.06, "ultrarm_13b": 0.19}},
}, profile)

# %% [markdown]
# ## Summary
#
# - With a learned judge the loop learns what the judge's pairs say. Against the truth, a share of the BT judges'
#   pairs are ties that teach their taste for length, and the loop follows it: the paper's recipe reaches
#   {glue:text}`win_plain:.3f`, the penalised one {glue:text}`win_it:.3f`. The reward model decides what the loop
#   can learn (the paper's Section 2), and the gap to {doc}`06_iterative_dpo`'s gold row is its price here.
# - The length penalty makes the answers {glue:text}`len_pen_text` than $\pi_0$'s and {glue:text}`keep_text`.
#   {glue:text}`safety_summary`
# - Along KL, for BT-MIX2, {glue:text}`over_short_text`.
# - The reference: with the previous iterate the loop {glue:text}`ref_kl_text` from $\pi_0$.
# - {glue:text}`pm_loop_words`
#
# ## Exercises
#
# These change the true win rate by a few hundredths, and one loop seed varies by more than that, so a
# difference from the `ci` profile's few short seeds is not evidence. Run at least three seeds in the book profile
# (`"online.seeds": 3`) and compare seed by seed with the recipe you changed (`seed_interval` of the paired
# differences). Exercise 2's effect is large enough to see with one seed. Each exercise is a loop of
# {doc}`06_iterative_dpo` with one setting changed (`rlhf_lite.online.run_recipes`, as `chapter_loops` calls it).
#
# 1. **Drop the ties.** A judge cannot know which of its pairs are ties under the truth, but it can
#    drop pairs whose two answers have the same content up to filler. Write a pair rule that does this
#    (compare `rlhf_lite.world.content_tokens` of the two answers) and rerun the paper's recipe. How much
#    of the gap to the gold row closes? Does round 3 still lose refusals (the safety section's tables)?
#    Why is this rule cheating, in a world where "filler" is not defined?
# 2. **Without the SFT term.** Every run of these chapters adds an SFT term on the chosen answers to the DPO
#    loss (the default `"dpo.loss_type": ["sigmoid", "sft"]`). Run the gold recipe at three times the
#    learning rate with the DPO loss alone (`{"online.judge": "gold", "dpo.learning_rate": 3 * LR,
#    "dpo.loss_type": ["sigmoid"]}`) and compare it with the sweep's row "lr x 3, DPO + SFT term". Does the
#    large step drift without the term?
# 3. **A smaller penalty.** Rerun the penalised recipe with $\lambda$ = {glue:text}`lam` / 5
#    (`{"online.length_penalty": LAMBDA / 5}`). Where between the unpenalised and the penalised rows of the
#    Table 4 section does it land, in length and in true win rate?
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. Dropping same-content pairs removes the ties that teach padding, so the paper's recipe should move
#    towards the gold row; the wrong pairs (the judge's mistakes on hard cases) remain. The rule uses
#    knowledge of the world that no practitioner has: on real prompts nobody can list the words that earn
#    nothing. The paper's length penalty is the practical, blunter version of the same idea.
# 2. The sweep's row with the term reaches a true win rate of {glue:text}`gold_big:.3f` at a KL of
#    {glue:text}`gold_big_kl:.2f` nats per answer (gold recipe, seed 0). The SFT term keeps the likelihood of the
#    chosen answers up, so DPO cannot lower its loss only by pushing both answers of a pair down, one way a large
#    step drifts; without it, expect a larger KL for the same or a lower win rate. This is a large effect, visible
#    with one seed.
# 3. The penalty works through the differences in length between a prompt's samples against the spread of the
#    proxy's scores. A fifth of the penalty flips fewer pairs, so expect the length between the two rows and
#    the win rate near the unpenalised one's; measure the paired differences before saying more.
# :::
