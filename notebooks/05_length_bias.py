# %% [markdown]
# # Length bias: does the reward model simply like longer answers?
#
# Policies aligned with RLHF tend to answer at greater length. Part of the reason lies in the reward
# model: if the proxy gives longer answers more reward, the policy learns to write more whether or not
# that helps. The paper {cite:p}`dong2024rlhf` measures this bias directly (its Section 2.2 and Figure
# 3). For each of 2K prompts it samples responses from the SFT model, computes the *Pearson correlation
# between reward and response length within that prompt*, and draws a heatmap of the coefficients, with
# prompts grouped by their mean response length. Its reference model, UltraRM-13B
# {cite:p}`cui2023ultrafeedback`, has a mean coefficient of 0.19. Its own BT model on MIX2 has 0.06. The
# paper attributes the difference partly to the sources MIX2 adds (Capybara, OpenOrca, UltraInteract),
# whose preferred responses are shorter.
#
# This chapter draws the same figure in the lite world, where we can add a third panel the paper could
# not: the same heatmap for the true reward $r^*$, which tells us how much correlation with length
# is *deserved*.
#
# :::{admonition} What we found
# :class: tip
# - Over {glue:text}`r_common` prompts of $\pi_0$'s samples, BT on MIX1 in UltraRM-13B's role has a mean
#   per-prompt correlation between reward and length of {glue:text}`r_ur:.2f` (the paper's UltraRM-13B: 0.19)
#   and BT on MIX2 {glue:text}`r_mix2:.2f` (the paper's BT on MIX2: 0.06). Paired over the same prompts the
#   difference is {glue:text}`r_diff:+.2f` ± {glue:text}`r_diff_h:.2f`, so {glue:text}`ordering`. The twins'
#   annotators were built to give this order, so it is an illustration; the sizes are measured.
# - The truth's own coefficient is {glue:text}`r_true:.2f`: length and quality are linked in this world
#   too, so a reward model's length bias is the part of its coefficient beyond $r^*$'s.
# - The bias enters through the labels. Among training pairs whose two answers are equally good and differ in
#   length, the chosen answer is the longer one in {glue:text}`tie_longer_uf:.0%` of UltraFeedback's,
#   {glue:text}`tie_longer_ur:.0%` of MIX1's and {glue:text}`tie_longer_mix2:.0%` of MIX2's.
# - A length penalty of {glue:text}`lam_match:.1f` reward per word brings the MIX1 model's mean coefficient
#   closest to $r^*$'s ({glue:text}`lam_match_where`), bluntly: it also penalises length that is earned.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-input
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from datasets import load_from_disk
from IPython.display import display
from myst_nb import glue

from rlhf_lite import world
from rlhf_lite.config import Config
from rlhf_lite.headlines import LengthBiasHeadline, save
from rlhf_lite.stats import Interval, mean_ci
from rlhf_lite.data import GPT4
from rlhf_lite.reward import length_bins, length_correlations, plot_heatmaps
from rlhf_lite.policy import load_policy
from rlhf_lite.stages import prepare_preference_data, prepare_reward_models
from rlhf_lite.reward import RewardModel
from rlhf_lite.policy import HFSampler, sample_responses
from rlhf_lite.data import true_margin

pd.set_option("display.precision", 3)
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")
print("length-bias sample:", cfg.reward_eval)

# %% [markdown]
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Built into the world (see {doc}`02_lite_world`, "What this world can and cannot show"), so an
# illustration: that the MIX1 and UltraFeedback-only models like length more than the MIX2 model. It
# follows from how the twins' annotators were built. Measured: how large each correlation is, how it
# varies with the prompt, and that $r^*$ itself shows none.
# :::

# %% [markdown]
# ## The two reward models and the samples
#
# The reward-modelling chapter trained the models (the pipeline caches them, so this cell only loads
# them unless this chapter runs first):
#
# - **`bt-mix1`** plays UltraRM-13B. UltraRM-13B was trained on UltraFeedback, HH-RLHF, SHP and
#   summarisation, the mixture the paper calls MIX1. Its largest part, UltraFeedback, was rated by GPT-4,
#   and in the lite world the GPT-4 twin likes length ($\beta_{\rm len} =$ {glue:text}`gpt4_beta` per word).
# - **`bt-mix2`** is the paper's BT model on MIX2.
# - **`bt-ultrafeedback`**, trained on the UltraFeedback pairs alone, is a deliberately extreme case. It
#   is listed in the table but gets no panel.
#
# $\pi_0$ samples {glue:text}`bias_n` responses for each of {glue:text}`bias_prompts` fresh prompts
# (the paper: 8 responses for 2K prompts in its text, 16 in the caption of Figure 3), half at
# temperature 1.0 and half at 0.7.

# %%
# the stages' logs name this machine's folders: not for the page
rms = prepare_reward_models(cfg, names=["bt-ultrafeedback", "bt-mix1", "bt-mix2"], log=lambda *a: None)
model, tok = load_policy(rms.pi0)
prompts = world.sample_prompts(cfg.reward_eval.bias_prompts, cfg.world, seed=cfg.seed + 30_000)
n = cfg.reward_eval.bias_n
samples = sample_responses(HFSampler(model, tok, batch_size=cfg.sampling.batch_size), prompts, n,
                           cfg.sampling.temperatures, cfg.sampling.max_new_tokens, seed=cfg.seed + 31_000)
X = [s["prompt"] for row in samples for s in row]
A = [s["response"] for row in samples for s in row]
lengths = np.array([world.response_length(a) for a in A]).reshape(len(prompts), n)
rewards = {
    "UltraRM role (BT, MIX1)": RewardModel.from_pretrained(rms.models["bt-mix1"], progress=True).score(X, A),
    "BT, MIX2": RewardModel.from_pretrained(rms.models["bt-mix2"], progress=True).score(X, A),
    "BT, UltraFeedback only": RewardModel.from_pretrained(rms.models["bt-ultrafeedback"], progress=True).score(X, A),
    "r* (the truth)": np.array([world.true_reward(x, a) for x, a in zip(X, A)]),
}
print(f"{len(A)} responses, lengths {lengths.min()}-{lengths.max()} words (mean {lengths.mean():.1f})")

# %% tags=remove-cell
glue("bias_n", n, display=False)
glue("gpt4_beta", GPT4.beta_len, display=False)
glue("bias_prompts", len(prompts), display=False)
pooled = f"{n} samples of π₀ per prompt, T = " + " and ".join(str(t) for t in cfg.sampling.temperatures) + " pooled"

# %% [markdown]
# (length-bias-heatmaps)=
# ## The heatmaps
#
# `length_correlations` gives one Pearson coefficient per prompt and the prompt's mean length. A prompt
# whose samples all have the same length has no coefficient. One whose samples differ in length but all
# get the same reward gets 0 (`flat=0.0`): that reward ignores length there. This happens often for
# $r^*$, which pays nothing for filler, and almost never for a trained model. `plot_heatmaps` counts prompts by (coefficient,
# mean length), with the same length bins for every panel. Full mode calls both functions on the
# scores of real reward models.

# %%
corr = {name: length_correlations(r.reshape(len(prompts), n), lengths, flat=0.0) for name, r in rewards.items()}
panels = {k: corr[k] for k in ("UltraRM role (BT, MIX1)", "BT, MIX2", "r* (the truth)")}
fig = plot_heatmaps(panels, len_bins=length_bins(lengths.mean(1)))
fig.suptitle(pooled, y=1.03)
plt.show()

# %% [markdown]
# (length-bias-mean)=
# ## The mean coefficient, against the paper's

# %%
paper = {"UltraRM role (BT, MIX1)": 0.19, "BT, MIX2": 0.06}
common = np.all([~np.isnan(c) for c, _ in corr.values()], axis=0)  # every row averages the same prompts
rows = {}
for name, (c, _) in corr.items():
    ok = common
    m, h = mean_ci(c[ok])
    rows[name] = {"mean r": m, "±95%": h, "share > 0": float((c[ok] > 0).mean()), "prompts": int(ok.sum()),
                  "paper": paper.get(name, np.nan)}
bias_table = pd.DataFrame(rows).T.astype({"prompts": int})
display(bias_table.round(3))

ur, m2 = corr["UltraRM role (BT, MIX1)"][0], corr["BT, MIX2"][0]
diff, diff_h = mean_ci(ur[common] - m2[common])  # paired over prompts
print(f"UltraRM role minus BT MIX2: {diff:.3f} ± {diff_h:.3f} (95%, paired over {common.sum()} prompts)")

# %% tags=remove-cell
glue("r_ur_h", float(bias_table.loc["UltraRM role (BT, MIX1)", "±95%"]), display=False)
glue("r_ur", float(bias_table.loc["UltraRM role (BT, MIX1)", "mean r"]), display=False)
glue("r_mix2", float(bias_table.loc["BT, MIX2", "mean r"]), display=False)
glue("r_uf", float(bias_table.loc["BT, UltraFeedback only", "mean r"]), display=False)
glue("r_true", float(bias_table.loc["r* (the truth)", "mean r"]), display=False)
glue("r_diff", diff, display=False)
glue("r_diff_h", diff_h, display=False)
true_r = rewards["r* (the truth)"].reshape(len(prompts), n)
glue("r_flat_true", float(((true_r.max(1) == true_r.min(1)) & common).sum() / common.sum()), display=False)
glue("r_common", int(common.sum()), display=False)
glue("ordering", "the model in UltraRM's role is clearly more length-biased, as in the paper" if diff - diff_h > 0 else
     "the two are not clearly apart, unlike the paper's" if diff + diff_h > 0 else
     "the order is the reverse of the paper's", display=False)

# %% [markdown]
# BT on MIX1, in UltraRM-13B's role, has a mean coefficient of {glue:text}`r_ur:.2f` (the paper's
# UltraRM-13B: 0.19). BT on MIX2 has {glue:text}`r_mix2:.2f` (the paper: 0.06). The difference is
# {glue:text}`r_diff:.2f` ± {glue:text}`r_diff_h:.2f`, paired over the same {glue:text}`r_common`
# prompts and samples, so {glue:text}`ordering`. The extreme model trained on UltraFeedback alone has
# {glue:text}`r_uf:.2f`. Our coefficients are larger than the paper's, for two reasons:
#
# - **Length varies mostly through padding.** A lite response is a few words, and the filler phrases
#   (`sure here is the answer :`, `hope that helps`) can double its length without changing its content.
#   So within one prompt most of the variation in length is padding, which is exactly what a
#   length-liking judge rewards. Real responses vary in length for many reasons that have nothing to do
#   with padding.
# - **Our judges are simple.** The GPT-4 twin adds a fixed bonus for every word, on every task. Real
#   judges' taste for length is weaker and depends on the task.
#
# The truth panel is the reference the paper lacks. $r^*$ has a mean coefficient of
# {glue:text}`r_true:.2f`, because length and quality are linked in the lite world as well. A near miss
# that drops or adds a digit is wrong, a sample that runs on past the answer is longer and wrong,
# and a refusal is longer than a short compliance. Padding itself earns nothing. So the bias of a reward model is
# the part of its coefficient *above* $r^*$'s. For {glue:text}`r_flat_true:.0%` of the prompts every
# sample has the same $r^*$, and the truth's coefficient there is 0.
#
# (length-bias-training-pairs)=
# ## Where the bias comes from: the training pairs
#
# A BT model learns whatever separates chosen from rejected. So look at the length of the chosen
# response against the rejected one in each training set, and at the pairs where it matters most:
# pairs that are *true ties* under $r^*$, where the only difference is presentation.

# %%
data = prepare_preference_data(cfg, log=lambda *a: None)
mixes = {name: load_from_disk(str(p)).to_list() for name, p in data.mixtures.items()}
train_sets = {
    "UltraRM role (BT, MIX1)": mixes["mix1"],
    "BT, MIX2": mixes["mix2"],
    "BT, UltraFeedback only": [p for p in mixes["mix2"] if p["source"] == "ultrafeedback"],
}


def length_gap(pairs):
    ln = lambda m: world.response_length(m[-1]["content"])  # noqa: E731
    gap = np.array([ln(p["chosen"]) - ln(p["rejected"]) for p in pairs])
    tie = np.array([true_margin(p) == 0 for p in pairs]) & (gap != 0)  # equally good, different lengths
    return {"pairs": len(pairs), "chosen longer": float((gap > 0).mean()), "chosen shorter": float((gap < 0).mean()),
            "mean gap (words)": float(gap.mean()), "true ties of unequal length": int(tie.sum()),
            "chosen longer | true tie": float((gap[tie] > 0).mean()) if tie.any() else np.nan}


# %% tags=nbval-check-output
gaps = pd.DataFrame({name: length_gap(p) for name, p in train_sets.items()}).T
display(gaps)
by_source = pd.DataFrame({s: length_gap([p for p in mixes["mix2"] if p["source"] == s])
                          for s in sorted({p["source"] for p in mixes["mix2"]})}).T
display(by_source[["pairs", "chosen longer", "chosen shorter", "mean gap (words)", "chosen longer | true tie"]])

# %% tags=remove-cell
glue("tie_longer_ur", float(gaps.loc["UltraRM role (BT, MIX1)", "chosen longer | true tie"]), display=False)
glue("tie_longer_mix2", float(gaps.loc["BT, MIX2", "chosen longer | true tie"]), display=False)
glue("tie_longer_uf", float(gaps.loc["BT, UltraFeedback only", "chosen longer | true tie"]), display=False)
shorter = by_source.index[by_source["chosen shorter"] > by_source["chosen longer"]]
glue("shorter_sources", ", ".join(f"`{s}`" for s in shorter) or "none", display=False)

# %% [markdown]
# Take the true ties of unequal length: pairs whose two answers are equally good under $r^*$ and differ
# only in padding. In the UltraFeedback pairs the chosen answer is the longer one
# {glue:text}`tie_longer_uf:.0%` of the time. That is pure verbosity preference, and a BT model learns
# it. In MIX1, where UltraFeedback sits beside human-judged chat, the share is
# {glue:text}`tie_longer_ur:.0%`, and in MIX2 it is {glue:text}`tie_longer_mix2:.0%`. The sources whose
# chosen answers are more often the shorter ones ({glue:text}`shorter_sources`) pull the other way, as the
# paper suggests for Capybara, OpenOrca and UltraInteract. Curation cannot remove this: a tie broken by
# length looks like any other label, and the filters of the preference-data chapter drop ties only when
# the *scores* are tied.
#
# (length-bias-penalty)=
# ## Why it matters for the online loop
#
# The iterative DPO chapter ranks the policy's own samples with one of these models and trains towards
# the winner. A length coefficient above the truth's means that "the winner" is, more often than it
# deserves, "the longer one". The paper reports that its aligned models answer at much greater length
# than the SFT model, and that the bias "is further amplified in the iterative RLHF framework" (its
# Sections 4.2 and 5). Its ablation subtracts a length penalty from the reward when it picks the
# training pairs, $\tilde r(x, a) = r(x, a) - \lambda |a|$, with $|a|$ the number of *characters* and
# $\lambda = 0.001$ (its Table 4). Here is what such a penalty does to the mean coefficient of the
# UltraRM-role model. $|a|$ is counted in words, since a lite word is one token:

# %%
lams = np.round(np.linspace(0.0, 0.6, 7), 2)
ur_r = rewards["UltraRM role (BT, MIX1)"].reshape(len(prompts), n)
pen = [float(np.mean(length_correlations(ur_r - lam * lengths, lengths, flat=0.0)[0][common])) for lam in lams]
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(lams, pen, marker="o", label="UltraRM role, penalised")
ax.axhline(bias_table.loc["BT, MIX2", "mean r"], color="C1", ls="--", label="BT, MIX2 (no penalty)")
ax.axhline(bias_table.loc["r* (the truth)", "mean r"], color="k", ls=":", label="r*")
ax.set_xlabel(r"length penalty $\lambda$ (reward per word)")
ax.set_ylabel("mean r(reward, length)")
ax.set_title(pooled, fontsize=9)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=remove-cell
k_match = int(np.argmin(np.abs(np.array(pen) - bias_table.loc["r* (the truth)", "mean r"])))
glue("lam_match", float(lams[k_match]), display=False)
glue("lam_match_where", "inside the range we tried" if 0 < k_match < len(lams) - 1 else
     "at the edge of the range we tried, so the best value may lie beyond it", display=False)

# %% [markdown]
# The penalty closest to the truth's level is {glue:text}`lam_match:.1f` per word
# ({glue:text}`lam_match_where`). It works bluntly: it also penalises length that is earned, such as a
# refusal, which is longer than the short compliance it replaces.
# {doc}`08_what_the_judge_teaches` reads the paper's penalty inside the loop and measures what it costs and
# what it saves.

# %% tags=hide-cell
results = {
    "mean_length_correlation": {name: {"mean": float(r["mean r"]), "ci95": float(r["±95%"]), "prompts": int(r["prompts"])}
                                for name, r in bias_table.iterrows()},
    "ultrarm_role": "bt-mix1",
    "paper_mean_length_correlation": paper,
    "ultrarm_minus_mix2": {"mean": diff, "ci95": diff_h},
    "chosen_longer_among_true_ties": gaps["chosen longer | true tie"].to_dict(),
    "penalty_sweep": dict(zip(map(float, lams), pen)),
    "samples": {"prompts": len(prompts), "n": n},
}
headline = LengthBiasHeadline(
    prompts=int(bias_table.loc["BT, MIX2", "prompts"]),
    mix1_length_correlation=float(bias_table.loc["UltraRM role (BT, MIX1)", "mean r"]),
    mix2_length_correlation=float(bias_table.loc["BT, MIX2", "mean r"]), mix1_minus_mix2=Interval(diff, diff_h))
print("wrote", save("05_length_bias", headline, results, profile=cfg.profile).name)  # no machine path on the page

# %% [markdown]
# ## Summary
#
# - The paper's length-bias measurement is a per-prompt Pearson correlation between reward and length
#   over the policy's samples, shown as a heatmap over prompts grouped by mean length.
#   `rlhf_lite.reward.length_bias` computes and draws it for any reward model.
# - In the lite world the truth itself is measured, so a reward model's coefficient can be read against
#   the part of the length correlation that is deserved.
# - The bias enters through the labels: among equally good pairs, the length-liking judge picks the
#   longer answer. Sources whose judges prefer concise answers dilute it but do not remove it.
# - A length penalty can bring the mean coefficient to the truth's level, at the cost of penalising
#   length that is earned.
#
# ## Exercises
#
# 1. Redraw the heatmaps with the paper's 16 samples a prompt (`Config.preset(profile,
#    **{"reward_eval.bias_n": 16})`). Which changes more, the mean coefficient or the spread of the
#    per-prompt coefficients? Why? Which prompts drop out of the comparison, and which come in? The mean may
#    move by a few hundredths, about its own interval (± {glue:text}`r_ur_h:.2f` for the MIX1 model here): use
#    the `book` profile and take the difference prompt by prompt over the prompts both runs keep, with
#    `mean_ci`, as the chapter compares the two models.
# 2. Split the coefficients by task family (`world.parse_prompt(x).family`). On which family is the
#    UltraRM-role model most biased? Is $r^*$ uncorrelated with length on every family?
# 3. Pearson's coefficient measures a linear relation. Spearman's rank correlation is Pearson's on
#    ranks: rank each prompt's rewards and lengths (`np.argsort(np.argsort(a, axis=1), axis=1)`), pass
#    the ranks to `length_correlations`, and compare the mean coefficients. Which one suits a reward
#    model that is only used to *rank* samples?
# 4. Instead of penalising length, drop the GPT-4-judged UltraFeedback pairs from MIX1 and train a BT
#    model on its human-labelled sources alone (HH-RLHF, SHP, summarisation) with
#    `rlhf_lite.reward.train_reward_model`. How does its mean coefficient compare with $r^*$'s? The gap to
#    $r^*$ may be a few hundredths: score the chapter's samples with the new model and give the per-prompt
#    difference from $r^*$'s coefficient with its paired interval (`mean_ci` over `common` prompts).
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. With {glue:text}`bias_n` samples a prompt this run has mean coefficients {glue:text}`r_ur:.2f` (MIX1) and
#    {glue:text}`r_mix2:.2f` (MIX2); compare yours with these. More samples estimate each prompt's coefficient
#    more precisely, so the spread of the heatmap should shrink, while the mean should barely move, because it
#    was already an average over many prompts. With
#    16 samples fewer prompts have samples of a single length, so a few more prompts enter the comparison.
# 2. Group `corr[name][0]` by `world.parse_prompt(x).family` and set each family beside the pooled
#    coefficients ({glue:text}`r_ur:.2f` for the MIX1 model, {glue:text}`r_true:.2f` for $r^*$). Padding is available on every family, so
#    every family shows the bias. $r^*$ is not uncorrelated everywhere. On `unsafe` the refusal is longer
#    than most compliances, which gives the truth a *positive*, deserved correlation with length there.
#    On the digit tasks, samples that run on past the answer are longer and wrong, which pulls the other
#    way.
# 3. Spearman's coefficient sees only the order, which is what best-of-n uses, and one very long outlier
#    moves it less. Ties in length get arbitrary distinct ranks with this double `argsort`, which adds a
#    little noise; `scipy.stats.rankdata` averages them instead.
# 4. `pairs = [p for p in mixes["mix1"] if p["source"] != "ultrafeedback"]`, then
#    `train_reward_model(rms.pi0, pairs, "my-rm", cfg.reward)` and `RewardModel.from_pretrained("my-rm")`.
#    The human twins have no verbosity bias, so the labels no longer favour padding. Expect the coefficient
#    to fall from the MIX1 model's {glue:text}`r_ur:.2f` towards $r^*$'s {glue:text}`r_true:.2f`. Whatever excess remains comes from label noise and from what the model fails
#    to learn.
# :::
