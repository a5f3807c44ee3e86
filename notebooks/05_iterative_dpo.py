# %% [markdown]
# # Online iterative DPO
#
# This chapter is the heart of the paper {cite:p}`dong2024rlhf`: its Algorithm 2, online iterative
# DPO with rejection-sampling exploration (Section 3.3). The theory chapter showed on a bandit why
# collecting preferences from the policy being trained beats learning from a fixed dataset. Here the
# same loop runs with language models: the tiny policy $\pi_0$ of the lite world, the proxy reward
# models of the reward-modelling chapter, and TRL's `DPOTrainer` for every policy update.
#
# Because the lite world knows its true reward $r^*$, we can check the paper's claims against the truth
# rather than against a benchmark judged by another model:
#
# 1. Iterative DPO beats offline ("vanilla") DPO, which beats the SFT policy (the paper's Table 2).
# 2. A verbosity-biased reward model makes the answers grow longer, and a length penalty in the
#    ranking step counters it (Table 4).
# 3. What the proxy reward says about the iterates, and what the truth says (the paper could not measure
#    this; its critics asked for it).
#
# Every number comes from several runs of the loop with different seeds, with 95% intervals.

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %%
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Image, display
from myst_nb import glue
from tqdm.auto import tqdm

import datasets
import transformers

from rlhf_lite.config import Config, with_overrides
from rlhf_lite.io import read_jsonl, save_results
from rlhf_lite.online import across_seeds, run_offline, run_online

# One line per stage of the loop is enough; the per-model loading and tokenising bars are not.
transformers.utils.logging.disable_progress_bar()
datasets.disable_progress_bars()
warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renamed-argument notices
pd.set_option("display.precision", 3)
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")
print(cfg.online)
print(cfg.dpo)

# %% [markdown]
# ## The loop
#
# Each iteration takes a fresh, disjoint subset of prompts, samples $n$ answers per prompt from the
# current policy, ranks them with the proxy reward, keeps the best and the worst as a preference pair,
# and runs DPO on everything collected so far. Two details of the paper matter:
#
# - The **reference** of every DPO round is the SFT policy $\pi_0$, not the previous iterate. Only the
#   *initial weights* come from the previous iterate. The paper notes that this trains on the same data
#   as restarting from $\pi_0$ each time, in a different order, at half the cost. (Online-RLHF's public
#   scripts once shipped with the reference set to the last iterate. Our tests fail if the loop does
#   that, and every round records its reference.)
# - **Exploration** comes from rejection sampling. The pair is the best-of-$n$ and the worst-of-$n$
#   answer of the same policy, the "main agent" and "enhancer" of the theory chapter, with half the
#   samples at temperature 1.0 and half at 0.7.
#
# We call the policy trained on $\mathcal{D}_1, \dots, \mathcal{D}_t$ "$\pi_t$". Algorithm 2 counts
# one earlier: its first policy is trained on an empty history and is $\pi_0$ (its Figure 4).

# %% tags=remove-input
sys.path.insert(0, str(Path("..") / "figures"))
import online_loop  # noqa: E402  (figures/online_loop.py draws the diagram)

display(Image(filename=str(online_loop.draw(Path("..") / "figures" / "online_loop.png"))))

# %% [markdown]
# The paper's hyper-parameters are those of an 8B model on 8 GPUs. The lite ones are scaled to a model
# of a few hundred thousand parameters on two CPU cores. The learning rate is larger because a tiny
# model trained from scratch needs larger steps, and the prompt set is smaller because the lite world's
# prompts are short and its loop has to run in minutes.

# %%
d, o, s = cfg.dpo, cfg.online, cfg.sampling
hyper = pd.DataFrame(
    [
        ("policy", "LLaMA-3-8B SFT", f"{cfg.policy} (tiny LLaMA, from scratch)"),
        ("iterations T", "3", o.iterations),
        ("prompts per iteration", "20K", cfg.data.prompts_per_iteration),
        ("samples per prompt n", "8 (n/2 at T=1.0, n/2 at T=0.7)", f"{s.n} at T={list(s.temperatures)}"),
        ("max new tokens", "2048", s.max_new_tokens),
        ("proxy", "BT reward model on MIX2", o.judge),
        ("pair", "best vs worst of n", o.rule),
        ("length penalty lambda (per character)", "0 (Ours), 0.001 (Ours-concise)", o.length_penalty),
        ("DPO learning rate", "5e-7, cosine, warm-up 0.03", f"{d.learning_rate:g}, {d.lr_scheduler}, warm-up {d.warmup}"),
        ("global batch", "128", d.batch_size),
        ("beta (eta)", "0.1", d.beta),
        ("epochs per iteration", "2", d.epochs),
        ("DPO reference / initialisation", "pi_0 / last iterate", "pi_0 / last iterate"),
    ],
    columns=["setting", "paper (Section 3.3)", f"lite ({profile})"],
).set_index("setting")
hyper

# %% [markdown]
# ## Running the loop
#
# We run four recipes, each with several loop seeds. The seed changes the samples, the tie-breaks and
# DPO's data order; $\pi_0$ and the reward models are fixed (the earlier chapters trained them).
#
# - **iterative DPO, length penalty**: ranked by the BT reward model on MIX2 (`bt-mix2`) with
#   $\tilde r = \hat r - \lambda |a|$ (eq. 9), the paper's "Ours-concise". This is our main recipe;
#   the next section says why.
# - **iterative DPO, no penalty**: the same without the penalty, the paper's main recipe ("Ours").
# - **iterative DPO, UltraRM role**: no penalty, ranked by the BT model on MIX1 (`bt-mix1`), whose length
#   bias the length-bias chapter measured, in the role of the paper's UltraRM-13B ablation.
# - **offline DPO**: one DPO run from $\pi_0$ on as many curated MIX2 pairs as the loop collects in total.
#   Their responses come from the lite sources' behaviour policies, not from $\pi_0$. The paper's
#   baseline is DPO on Nectar.
#
# Every stage is cached under `runs/`: rerunning this notebook after an interruption resumes where it
# stopped.

# %%
LAMBDA = 0.05  # reward units per character: about what a filler word earns from bt-mix2 (see the tables)
MAIN, PLAIN, ULTRA = "iterative DPO, length penalty", "iterative DPO, no penalty", "iterative DPO, UltraRM role"
VARIANTS = {MAIN: {"online.length_penalty": LAMBDA}, PLAIN: {}, ULTRA: {"online.judge": "bt-mix1"}}
seeds = range(cfg.online.seeds)
runs = {}
for name, overrides in VARIANTS.items():
    vcfg = with_overrides(cfg, overrides) if overrides else cfg
    runs[name] = [run_online(vcfg, seed=k, progress=False) for k in tqdm(seeds, desc=name)]
offline = [run_offline(cfg, seed=k, progress=False) for k in tqdm(seeds, desc="offline DPO")]

# %% [markdown]
# The loop's own records confirm the two details above: every DPO round used $\pi_0$ as its reference,
# and each round started from the previous iterate.

# %% tags=nbval-check-output
pi0 = str(runs[MAIN][0].pi0.resolve())
print("reference is pi_0 in every round:",
      all(m["reference"] == pi0 for rs in runs.values() for r in rs for m in r.train_metrics))
print("initialised from:", [m["policy_init"] for m in runs[MAIN][0].train_metrics])
print("offline DPO reference is pi_0:", all(o["train_metrics"]["reference"] == pi0 for o in offline))

# %% [markdown]
# ## What each iteration does (the paper's Figure 8)
#
# The held-out prompts are never used for training. For each policy we sample
# {glue:text}`eval_n` answers to each of {glue:text}`eval_prompts` held-out prompts at temperature 1.0 and
# compare each answer with $\pi_0$'s answer to the same prompt under $r^*$. A win counts 1 and a tie
# counts 1/2. The KL divergence $\mathrm{KL}(\pi_t \| \pi_0)$ is estimated from the same samples as
# the mean of $\log \pi_t(a|x) - \log \pi_0(a|x)$. Bands are 95% intervals over the loop seeds.

# %%
T = cfg.online.iterations
agg = {name: [across_seeds([r.evals[t] for r in rs]) for t in range(T + 1)] for name, rs in runs.items()}
off = across_seeds([o["eval"] for o in offline])
panels = [("win_rate", "true win rate vs $\\pi_0$"), ("reward", "mean $r^*$"), ("length", "length (words)"),
          ("kl", "KL($\\pi_t \\| \\pi_0$), nats"), ("proxy_win_rate", "proxy's win rate vs $\\pi_0$")]
fig, axes = plt.subplots(1, len(panels), figsize=(17, 3.4))
for ax, (key, title) in zip(axes, panels):
    for i, (name, a) in enumerate(agg.items()):
        m = np.array([x[key][0] for x in a])
        h = np.array([x[key][1] for x in a])
        ax.plot(range(T + 1), m, marker="o", color=f"C{i}", label=name)
        ax.fill_between(range(T + 1), m - h, m + h, color=f"C{i}", alpha=0.15)
    ax.axhline(off[key][0], color="k", ls="--", lw=1, label="offline DPO")
    ax.axhspan(off[key][0] - off[key][1], off[key][0] + off[key][1], color="k", alpha=0.07)
    ax.set_xticks(range(T + 1))
    ax.set_xlabel("iteration t")
    ax.set_title(title, fontsize=10)
axes[0].legend(fontsize=7, loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# The proxy's win rate is measured on the *same* samples as the true one: the proxy (with the variant's
# penalty) judges each answer against $\pi_0$'s answer to the same prompt. Where the two panels part,
# the loop is learning what the proxy likes rather than what is right.

# %% [markdown]
# ## SFT, offline DPO and iterative DPO (the paper's Table 2)
#
# The paper's headline comparison is on LC AlpacaEval-2, MT-Bench and Chat-Arena-Hard. Our benchmark
# is the true reward on held-out prompts. The paper's numbers are listed beside ours for orientation
# only: they are scores of a GPT-4 judge against a fixed reference model, not win rates against
# $\pi_0$ under a known reward.

# %%
def row(a):
    return {"win rate vs pi_0": f"{a['win_rate'][0]:.3f} ± {a['win_rate'][1]:.3f}",
            "mean r*": f"{a['reward'][0]:.3f} ± {a['reward'][1]:.3f}",
            "length (words)": f"{a['length'][0]:.2f} ± {a['length'][1]:.2f}",
            "KL to pi_0": f"{a['kl'][0]:.2f} ± {a['kl'][1]:.2f}"}


main, plain, ultra = agg[MAIN], agg[PLAIN], agg[ULTRA]
table2 = pd.DataFrame({
    "SFT (pi_0)": row(main[0]), "offline DPO": row(off),
    f"iterative DPO, length penalty (pi_{T})": row(main[T]), f"iterative DPO, no penalty (pi_{T})": row(plain[T]),
}).T
table2["paper: LC AlpacaEval-2"] = [10.2, 22.5, 38.1, 31.3]
table2["paper: Chat-Arena-Hard"] = [5.6, 22.4, 22.1, 29.1]
table2

# %%
from rlhf_lite.evaluate import seed_interval  # noqa: E402


def paired_gap(a_runs, key=T):
    """Iterate ``key`` of each seed's run minus offline DPO of the same seed: (mean, 95% half-width)."""
    return seed_interval([r.evals[key]["win_rate"][0] - o["eval"]["win_rate"][0] for r, o in zip(a_runs, offline)])


def verdict(mean, half):
    return ("an interval that excludes zero" if mean - half > 0 else "an interval below zero" if mean + half < 0
            else "an interval that includes zero: these seeds cannot tell them apart")


d_main, d_plain = paired_gap(runs[MAIN]), paired_gap(runs[PLAIN])
glue("eval_n", cfg.online.eval_n, display=False)
glue("eval_prompts", cfg.eval_prompts, display=False)
glue("n_seeds", cfg.online.seeds, display=False)
glue("T_iter", T, display=False)
glue("total_prompts", T * cfg.data.prompts_per_iteration, display=False)
for key, a in (("sft", main[0]), ("off", off), ("it", main[T]), ("plain", plain[T]), ("ultra", ultra[T])):
    glue(f"win_{key}", float(a["win_rate"][0]), display=False)
    glue(f"win_{key}_ci", float(a["win_rate"][1]), display=False)
    glue(f"r_{key}", float(a["reward"][0]), display=False)
    glue(f"len_{key}", float(a["length"][0]), display=False)
glue("gap_main", float(d_main[0]), display=False)
glue("gap_main_ci", float(d_main[1]), display=False)
glue("gap_main_text", verdict(*d_main), display=False)
glue("gap_plain", float(d_plain[0]), display=False)
glue("gap_plain_ci", float(d_plain[1]), display=False)
glue("gap_plain_text", verdict(*d_plain), display=False)
order_ok = main[T]["win_rate"][0] > off["win_rate"][0] > main[0]["win_rate"][0]
glue("order_text", "the paper's order holds" if order_ok else "the paper's order does *not* hold", display=False)

# %% [markdown]
# Over {glue:text}`n_seeds` seeds, {glue:text}`order_text` for our main recipe. The true win rate against
# $\pi_0$ (which scores 0.5 against itself) is {glue:text}`win_off:.3f` ± {glue:text}`win_off_ci:.3f`
# for offline DPO and {glue:text}`win_it:.3f` ± {glue:text}`win_it_ci:.3f` for iterative DPO with the
# length penalty after {glue:text}`T_iter` iterations. Paired by seed, iterative minus offline is
# {glue:text}`gap_main:.3f` ± {glue:text}`gap_main_ci:.3f`, {glue:text}`gap_main_text`. The mean true
# reward moves from {glue:text}`r_sft:.3f` ($\pi_0$) to {glue:text}`r_off:.3f` (offline) and
# {glue:text}`r_it:.3f` (iterative).
#
# **Where we differ from the paper.** Without the penalty, the paper's main recipe, iterative DPO
# reaches {glue:text}`win_plain:.3f` ± {glue:text}`win_plain_ci:.3f`; against offline DPO that is
# {glue:text}`gap_plain:.3f` ± {glue:text}`gap_plain_ci:.3f`, {glue:text}`gap_plain_text`. In the
# paper the unpenalised model already beats vanilla DPO clearly (31.3 against 22.5). The reason is the
# proxy. The length-bias chapter found our BT model on MIX2 more length-biased than the paper's, and
# the online loop compounds a bias, because every round samples from a policy that the previous round
# pushed towards what the proxy likes. Offline DPO learns from fixed pairs and cannot compound it. So
# in the lite world the paper's "concise" variant, which the paper reports as the better one on
# length-controlled AlpacaEval-2 (38.1 against 31.3), is our main recipe. That is a choice of recipe,
# made after seeing the unpenalised result, and the tables show both.
#
# The paper's gaps are also larger in absolute terms. Its 60K prompts and 8B model leave much more to
# learn than our {glue:text}`total_prompts` short digit tasks for a tiny model.

# %% [markdown]
# ## The length penalty and the reward model (the paper's Table 4)

# %%
fams = list(main[T]["by_family"])
rows4 = {}
for name in VARIANTS:
    a = agg[name][T]
    rows4[name] = {**row(a), **{f"r* {f}": round(a["by_family"][f][0], 3) for f in fams}}
rows4["SFT (pi_0)"] = {**row(main[0]), **{f"r* {f}": round(main[0]["by_family"][f][0], 3) for f in fams}}
table4 = pd.DataFrame(rows4).T
table4["paper: LC AlpacaEval-2"] = [38.1, 31.3, 20.7, None]
table4

# %%
gain_plain, gain_pen = plain[T]["reward"][0] - plain[0]["reward"][0], main[T]["reward"][0] - main[0]["reward"][0]
glue("keep_text", ("keeps all of the unpenalised loop's true-reward gain and adds to it" if gain_pen >= gain_plain
                   else f"keeps {gain_pen / gain_plain:.0%} of the unpenalised loop's true-reward gain"
                   if gain_plain > 0 else "turns the unpenalised loop's true-reward loss around" if gain_pen > 0
                   else "does not rescue the true reward"), display=False)
glue("lam", LAMBDA, display=False)
glue("len_grows_text", "grow" if plain[T]["length"][0] > plain[0]["length"][0] else "do *not* grow", display=False)

# %% [markdown]
# Without a penalty the answers {glue:text}`len_grows_text`: from {glue:text}`len_sft:.2f` words
# ($\pi_0$) to {glue:text}`len_plain:.2f` after {glue:text}`T_iter` iterations, and to
# {glue:text}`len_ultra:.2f` with the more length-biased UltraRM-role model, whose true win rate is
# {glue:text}`win_ultra:.3f`. A penalty of {glue:text}`lam` per character brings the length to
# {glue:text}`len_it:.2f` words and {glue:text}`keep_text`.
#
# This is the pattern of the paper's Table 4: the concise model has the best length-controlled
# AlpacaEval-2 score (38.1 against 31.3), and the UltraRM-13B model writes the longest answers with the
# lowest score (20.7). Our $r^*$ ignores filler, so it behaves like a length-controlled metric. The
# paper's *uncontrolled* Chat-Arena-Hard prefers the long answers (29.1 against 22.1), a comparison
# with no counterpart here: no judge in the lite world is fooled by length unless we build it so.
#
# Our $\lambda$ is larger than the paper's 0.001 because our answers are short: a filler word of
# about five characters costs 0.25 reward units, close to what the length-bias chapter's sweep found
# necessary to cancel the bias. The paper's answers run to hundreds of characters.

# %% [markdown]
# ## Proxy against truth
#
# The loop only ever sees the proxy. Plotting the proxy's verdict against the truth's, iteration by
# iteration, shows how much of what the proxy rewards is real.

# %%
fig, ax = plt.subplots(figsize=(5.5, 4.2))
for i, (name, a) in enumerate(agg.items()):
    x = [e["proxy_win_rate"][0] for e in a]
    y = [e["win_rate"][0] for e in a]
    ax.plot(x, y, marker="o", color=f"C{i}", label=name)
    for t in range(T + 1):
        ax.annotate(str(t), (x[t], y[t]), textcoords="offset points", xytext=(4, -10), fontsize=7, color=f"C{i}")
lo = min(ax.get_xlim()[0], ax.get_ylim()[0])
hi = max(ax.get_xlim()[1], ax.get_ylim()[1])
ax.plot([lo, hi], [lo, hi], color="gray", lw=0.8, ls=":", label="proxy = truth")
ax.set_xlabel("proxy's win rate vs $\\pi_0$")
ax.set_ylabel("true win rate vs $\\pi_0$")
ax.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %%
gaps = {name: a[T]["proxy_win_rate"][0] - a[T]["win_rate"][0] for name, a in agg.items()}
glue("over_main", float(gaps[MAIN]), display=False)
glue("over_plain", float(gaps[PLAIN]), display=False)
glue("over_ultra", float(gaps[ULTRA]), display=False)
glue("over_all_text", "Every curve ends below the diagonal: each proxy thinks its loop is doing better than it is."
     if all(g > 0 for g in gaps.values()) else "Not every curve ends below the diagonal.", display=False)
ultra_r = [e["reward"][0] for e in ultra]
ultra_p = [e["proxy_win_rate"][0] for e in ultra]
glue("ultra_p_gain", float(ultra_p[T] - ultra_p[0]), display=False)
glue("ultra_r_gain", float(ultra_r[T] - ultra_r[0]), display=False)

# %% [markdown]
# {glue:text}`over_all_text` After {glue:text}`T_iter` iterations the proxy's win rate exceeds the
# true one by {glue:text}`over_main:.3f` with the length penalty, {glue:text}`over_plain:.3f` without it
# and {glue:text}`over_ultra:.3f` for the UltraRM role. The UltraRM-role proxy's win rate rose by
# {glue:text}`ultra_p_gain:.3f` while the mean true reward moved by {glue:text}`ultra_r_gain:+.3f`:
# much of what it rewarded was padding.
#
# This is the over-optimisation the paper's reviewers worried about: the paper shows no measurement
# of how well its proxy tracks human judgement along the loop. At our learning rate the loop does not
# fall apart in {glue:text}`T_iter` iterations; exercise 4 pushes it further.

# %% [markdown]
# ## Choosing the output policy
#
# Algorithm 2 outputs "the best policy in $\pi_{1:T}$ by a validation set". The only judge a practitioner
# has on a validation set is the proxy, so the loop picks the iterate with the best proxy win rate on
# {glue:text}`val_prompts` validation prompts. In the lite world we can see what the truth would pick.

# %%
val_rows = {}
for name, rs in runs.items():
    for k, r in enumerate(rs):
        true_best = int(np.argmax([e["win_rate"][0] for e in r.evals[1:]])) + 1
        val_rows[(name, k)] = {"picked by proxy": r.best, "best by truth": true_best,
                               "true win rate of the pick": round(r.evals[r.best]["win_rate"][0], 3),
                               "true win rate of the best": round(r.evals[true_best]["win_rate"][0], 3)}
val_table = pd.DataFrame(val_rows).T
glue("val_prompts", cfg.online.validation_prompts, display=False)
glue("val_agree", int((val_table["picked by proxy"] == val_table["best by truth"]).sum()), display=False)
glue("val_total", len(val_table), display=False)
val_table

# %% [markdown]
# The proxy picks the truth's best iterate in {glue:text}`val_agree` of {glue:text}`val_total` runs.
# Where it picks another, the table shows what that costs in true win rate.

# %% [markdown]
# ## Samples: $\pi_0$, offline DPO and iterative DPO (the paper's Appendix C)
#
# The paper's case studies set answers of the SFT model, vanilla DPO and iterative DPO side by side.
# Here are the first answer of each policy, seed 0, to a few held-out prompts, with their true rewards.

# %%
def answers(folder):
    return read_jsonl(Path(folder) / "eval.jsonl")


r0 = runs[MAIN][0]
sources = {"pi_0": answers(r0.root / "pi0_eval"), "offline DPO": answers(offline[0]["policy"].parent / "eval"),
           "iterative, penalty": answers(r0.root / f"iter{T}" / "eval"),
           "iterative, no penalty": answers(runs[PLAIN][0].root / f"iter{T}" / "eval")}
n_eval = cfg.online.eval_n
cases = []
families_seen = set()
for i in range(cfg.eval_prompts):
    rec = sources["pi_0"][i * n_eval]
    if rec["family"] in families_seen:
        continue
    families_seen.add(rec["family"])
    cases.append({"prompt": rec["prompt"], **{k: f"{v[i * n_eval]['response']}  (r*={v[i * n_eval]['reward']:.2f})"
                                              for k, v in sources.items()}})
pd.DataFrame(cases).set_index("prompt")

# %% [markdown]
# ## Results file

# %%
def pack(a):
    return {k: {"mean": v[0], "ci95": v[1]} for k, v in a.items() if k != "by_family"} | {
        "by_family_reward": {f: {"mean": v[0], "ci95": v[1]} for f, v in a["by_family"].items()}}


save_results("05_iterative_dpo", {
    "seeds": cfg.online.seeds, "iterations": T, "length_penalty": LAMBDA,
    "per_iteration": {name: [pack(x) for x in a] for name, a in agg.items()},
    "offline_dpo": pack(off),
    "main_recipe": MAIN,
    "iterative_minus_offline_win_rate": {MAIN: {"mean": d_main[0], "ci95": d_main[1]},
                                         PLAIN: {"mean": d_plain[0], "ci95": d_plain[1]}},
    "proxy_overstatement_at_T": gaps,
    "validation_pick_matches_truth": f"{int((val_table['picked by proxy'] == val_table['best by truth']).sum())}/{len(val_table)}",
    "paper": {"table2_lc_alpacaeval2": {"sft": 10.2, "offline_dpo": 22.5, "iterative_dpo": 31.3},
              "table4_lc_alpacaeval2": {"ours": 31.3, "ours_concise": 38.1, "ultrarm_13b": 20.7}},
}, profile)

# %% [markdown]
# ## Summary
#
# - `rlhf_lite.online.run_online` is Algorithm 2: per iteration it samples from the current policy on
#   fresh prompts, ranks by a proxy (optionally length-penalised), keeps best against worst, and runs
#   TRL's DPO on the whole history from the last iterate with $\pi_0$ as the reference. Each stage is
#   cached and the loop resumes after a crash.
# - Judged by the true reward, with intervals over loop seeds, the paper's ordering SFT < offline DPO <
#   iterative DPO is measured for the length-penalised loop. Without the penalty our proxy's length
#   bias, stronger than the paper's, eats most of the online advantage: the loop compounds the bias
#   from round to round.
# - A verbosity-biased proxy makes the answers longer and the proxy's verdict drifts away from the
#   truth's. The length penalty of eq. 9 keeps the answers short, and because $r^*$ does not pay for
#   length, it costs no true reward.
# - The proxy overstates the loop's progress in every variant. Choosing the output iterate by the proxy
#   on a validation set is only as good as the proxy.
#
# ## Exercises
#
# 1. **Fewer samples.** Rerun the paper's recipe with `n = 4` instead of 8
#    (`with_overrides(cfg, {"sampling.n": 4})`). The best and worst of fewer samples are closer
#    together: what happens to the pair report's dropped counts, to the KL after three iterations and to
#    the true win rate?
# 2. **One temperature.** Sample all $n$ answers at temperature 0.7 (`"sampling.temperatures": [0.7]`).
#    Which panel of the per-iteration figure changes most, and why would lower-temperature samples
#    explore less?
# 3. **Best against random.** Use `"online.rule": "best-random"` (or `"best-second"`). Is the worst of
#    $n$ a better partner for the best than a random sample? Relate your answer to the theory chapter's
#    argument for the enhancer.
# 4. **Push it.** Raise the DPO learning rate four-fold (`"dpo.learning_rate": 2e-4`) for the
#    UltraRM-role variant. Does the proxy keep rising while the true reward falls? Look at the safety
#    family (`unsafe`) in particular.
# 5. **The feel-good term.** Add an SFT term on the chosen answers (`"dpo.loss_type": ["sigmoid",
#    "sft"]`), the optimistic exploration bonus the paper mentions from later work. Does it change the
#    KL, the length or the win rate?
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. With 4 samples more prompts give identical best and worst answers (the policy is fairly confident
#    on easy prompts), so more pairs are dropped, and the remaining pairs are closer in reward. The
#    policy moves less per iteration (smaller KL) and the true gain is usually smaller; the paper's
#    choice of 8 trades sampling cost for signal.
# 2. At 0.7 alone the samples are less varied: more identical pairs are dropped and the worst answer is
#    less bad. The KL panel grows more slowly. Temperature is one of the heuristics the paper lists for
#    making $\pi^1_t$ and $\pi^2_t$ differ, that is, for exploration.
# 3. Best against a random partner gives pairs with smaller margins, so each pair says less and the
#    pair count is similar; the gains are usually smaller. The worst-of-n is the enhancer that maximises
#    the difference between the two policies' answers, the uncertainty the theory chapter's bound is
#    built on.
# 4. A larger step moves the policy much further from $\pi_0$ per round. In our trials the proxy's win
#    rate kept climbing while the true reward stalled, and in some seeds the `unsafe` family collapsed:
#    the policy stopped refusing, because the length-biased proxy rated a long compliance above a short
#    refusal. KL regularisation protects against this only as far as $\beta$ and the step size allow.
# 5. The SFT term keeps the likelihood of the chosen answers up, so DPO cannot satisfy its loss merely
#    by pushing both answers down. The KL grows more slowly and the answers stay closer to $\pi_0$'s
#    style; whether the true reward gains depends on how often the proxy's chosen answer is right.
# :::
