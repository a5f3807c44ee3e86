# %% [markdown]
# # Online iterative DPO
#
# This chapter is the heart of the paper {cite:p}`dong2024rlhf`: its Algorithm 2, online iterative
# DPO with rejection-sampling exploration (Section 3.3). The theory chapter showed on a bandit why
# collecting preferences from the policy being trained beats learning from a fixed dataset. Here the
# same loop runs with language models: the tiny policy $\pi_0$ of the lite world, the proxy reward
# models of the reward-modelling chapter, and TRL's `DPOTrainer` for every policy update.
#
# Because the lite world knows its true reward $r^*$, we can do what no benchmark can: run the same loop
# with a **perfect judge**, the gold reward $r^*$ itself, and with the learned proxies, and so separate
# what the loop can learn from what the judge lets it learn. The chapter measures
#
# 1. the ceiling: iterative DPO ranked by $r^*$ against offline ("vanilla") DPO and the SFT policy
#    (the paper's Table 2, with the judge taken out of the question);
# 2. the same loop ranked by the BT reward models, with and without the length penalty (Tables 2 and 4),
#    and what each judge's pairs teach, measured against the truth;
# 3. where the proxy and the truth part as the policy moves away from $\pi_0$ (reward over-optimisation);
# 4. the reference of each DPO round: $\pi_0$, as Algorithm 2 says, or the previous iterate.
#
# Every number comes from several runs of the loop with different seeds, with 95% intervals.
#
# :::{admonition} What we found
# :class: tip
# - **The loop ranked by $r^*$ against offline DPO on the annotators' pairs.** Ranked by $r^*$ itself, the loop
#   reaches a true win rate against $\pi_0$ of {glue:text}`win_gold:.3f` after {glue:text}`T_iter` iterations,
#   offline DPO on curated MIX2 {glue:text}`win_off:.3f`; paired by seed the difference is
#   {glue:text}`gap_gold:+.3f` ± {glue:text}`gap_gold_ci:.3f`, {glue:text}`gap_gold_text`. The two arms differ in
#   who labelled the pairs (the truth against noisy annotators) as well as who wrote them, and they end at
#   different KL; offline DPO ran {glue:text}`passes_off` DPO pair passes against the gold loop's
#   {glue:text}`passes_gold`, {glue:text}`passes_cut`. {doc}`07_why_online` ranks both arms by one judge and
#   compares them at matched KL; the {doc}`../book/scorecard` quotes that comparison, not this one. (The paper,
#   with its learned reward model and a GPT-4 judge: 31.3 against 22.5 on LC AlpacaEval-2.)
# - **With the paper's learned judge (BT-MIX2)** the loop reaches {glue:text}`win_plain:.3f`; against
#   offline DPO, paired by seed, {glue:text}`gap_plain:+.3f` ± {glue:text}`gap_plain_ci:.3f`,
#   {glue:text}`gap_plain_text`. A share of the judge's pairs are true ties that it ranks by length, and
#   the loop learns that taste.
# - **The length penalty** makes the answers {glue:text}`len_pen_text` than $\pi_0$'s and {glue:text}`keep_text`.
# - **Safety, round by round:** {glue:text}`collapse_short`
# - **Over-optimisation:** for BT-MIX2, {glue:text}`over_short_text`.
#
# The offline data here is near $\pi_0$ (the lite twins write with $\pi_0$'s demonstration maker);
# {doc}`07_why_online` measures that distance and what changes when it grows.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-cell
import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Image, display
from myst_nb import glue

import datasets
import transformers

from rlhf_lite.config import Config, with_overrides
from rlhf_lite.headlines import IterativeDpoHeadline, save
from rlhf_lite.stats import Interval, compare, largest_fall, paired, seed_interval, share_of_gain
from rlhf_lite.wording import (against_tie, bias_against_paper, collapse_words, gain_kept, interval_words,
                               overoptimisation_shape, peak_words, penalty_safety_words, preference_model_words,
                               safety_round_words,
                               sweep_safety_words, training_cut)
from rlhf_lite.io import PACKAGE_DIR, project_root
from rlhf_lite.online import (across_seeds, agreement_by_length, load_judge, loop_pair_passes, orientation_flips,
                              overoptimisation_points, run_recipes)
from rlhf_lite.online.analysis import (fitted_loss, length_lean, mean_ceiling, overall_agreement,
                                       overoptimisation_summary, pair_truth_by_round, proxy_length_correlation,
                                       round_summary)
from rlhf_lite.online.loop import prompt_subset
from rlhf_lite.online.runs import offline_records
from rlhf_lite.online.safety import SafetyFindings, answer_kinds, reuse_test, round_means, round_rows
from rlhf_lite.plots import forest_plot, iteration_panels, overoptimisation_figure, per_seed_panels
from rlhf_lite.policy import load_policy, num_parameters
from rlhf_lite.stages import prepare_pi0

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
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Measured, so evidence: online against offline DPO with a perfect and with learned judges, what the
# judges' pairs teach under the truth, the length penalty's gains and costs, the reference ablation,
# where the proxy and the truth part along KL, and whether the loop learns the echo-loving annotator's
# taste. Built into the world, so an illustration: that the UltraRM-role loop writes the longest
# answers, since its judge was trained on annotators built to like length (see {doc}`02_lite_world`).
# :::

# %% [markdown]
# ## The loop
#
# Each iteration takes a fresh, disjoint subset of prompts, samples $n$ answers per prompt from the
# current policy, ranks them with the proxy reward, keeps the best and the worst as a preference pair,
# and runs DPO on everything collected so far. Two details of the paper matter:
#
# - The **reference** of every DPO round is the SFT policy $\pi_0$, not the previous iterate. Only the
#   *initial weights* come from the previous iterate. With a reference that follows the iterate, each
#   round's KL term only keeps the policy near where it already is, and nothing keeps it near $\pi_0$;
#   the maintainers give this reason for keeping it fixed (RLHFlow/Online-RLHF, GitHub issue #18). It is
#   an easy slip in a re-implementation, so our tests fail if the loop makes it, and every round records
#   the reference it used.
# - **What each round trains on.** Algorithm 2 trains $\pi_t$ on the whole history
#   $\mathcal{D}_{off} \cup \mathcal{D}_1 \cup \dots$. The paper's runs took a shortcut: each round
#   trained only on its new pairs, starting from the last iterate, so the final policy has seen every
#   pair once, "the same data [...] but of a different order", at about half the cost (Section 3.3; the
#   maintainers spell it out in the repository's issue #5). `online.history` selects `"all"` (Algorithm 2,
#   our default) or `"new"` (the shortcut); exercise 6 compares them.
# - **Exploration** comes from rejection sampling. The pair is the best-of-$n$ and the worst-of-$n$
#   answer of the same policy, the "main agent" and "enhancer" of the theory chapter, with half the
#   samples at temperature 1.0 and half at 0.7.
#
# We call the policy trained on $\mathcal{D}_1, \dots, \mathcal{D}_t$ "$\pi_t$". Algorithm 2 counts
# one earlier: its first policy is trained on an empty history and is $\pi_0$ (its Figure 4).

# %% tags=remove-input
FIGURES = (project_root() or project_root(PACKAGE_DIR)) / "figures"  # wherever papermill was started
sys.path.insert(0, str(FIGURES))
import online_loop  # noqa: E402  (figures/online_loop.py draws the diagram)

display(Image(filename=str(online_loop.draw(FIGURES / "online_loop.png"))))

# %% [markdown]
# The paper's hyper-parameters are those of an 8B model. The lite ones are scaled to a policy of
# {glue:text}`n_params` parameters on two CPU cores. The learning rate is larger because a tiny model
# trained from scratch needs larger steps (the section on what the judge teaches measures three step
# sizes), and the prompt set is smaller because the lite world's prompts are short and its loop has to
# run in minutes.

# %% tags=hide-input
d, o, s = cfg.dpo, cfg.online, cfg.sampling
glue("n_params", f"{num_parameters(load_policy(prepare_pi0(cfg, log=lambda *a: None).pi0)[0]):,}", display=False)
hyper = pd.DataFrame(
    [
        ("policy", "LLaMA-3-8B SFT", f"{cfg.policy} (tiny LLaMA, from scratch)"),
        ("iterations T", "3", o.iterations),
        ("prompts per iteration", "20K", cfg.data.prompts_per_iteration),
        ("samples per prompt n", "8, n/2 at T=1.0 and n/2 at T=0.7 (*)", f"{s.n} at T={list(s.temperatures)}"),
        ("max new tokens", "2048", s.max_new_tokens),
        ("proxy", "BT reward model on MIX2", o.judge),
        ("pair", "best vs worst of n", o.rule),
        ("length penalty lambda (per character)", "0 (Ours), 0.001 (Ours-concise)", o.length_penalty),
        ("DPO learning rate", "5e-7, cosine, warm-up 0.03", f"{d.learning_rate:g}, {d.lr_scheduler}, warm-up {d.warmup}"),
        ("global batch", "128", d.batch_size),
        ("beta (eta)", "0.1", d.beta),
        ("epochs per iteration", "2", d.epochs),
        ("loss", "DPO (the revision's code adds an optional SFT term)", " + ".join(d.loss_type)),
        ("DPO reference / initialisation", "pi_0 / last iterate", "pi_0 / last iterate"),
        ("data of each DPO round", "D_t only in the runs (Algorithm 2: the whole history)",
         "the whole history" if o.history == "all" else "D_t only"),
    ],
    columns=["setting", "paper (Section 3.3)", f"lite ({profile})"],
).set_index("setting")
hyper

# %% [markdown]
# (*) The paper's text says n = 8 in Section 3.3 and "20K x 16 responses per iteration" in its
# paragraph on data generation; we follow the algorithm's n = 8.

# %% [markdown]
# ## Running the loop
#
# We run five recipes, each with several loop seeds. The seed changes the samples, the tie-breaks and
# DPO's data order; $\pi_0$ and the reward models are fixed (the earlier chapters trained them).
#
# - **gold judge**: the samples are ranked by $r^*$ itself. No practitioner has this judge; it is the
#   ceiling of what online iterative DPO can do with this policy, these prompts and these steps when the
#   reward model is perfect.
# - **BT-MIX2, the paper's recipe**: ranked by the BT reward model on MIX2 (`bt-mix2`), no penalty
#   ("Ours" in the paper). Its DPO settings are those of every run here (below), not the paper's.
# - **BT-MIX2 + length penalty**: the same with $\tilde r = \hat r - \lambda |a|$ (eq. 9), the paper's
#   "Ours-concise".
# - **BT-MIX1 (UltraRM role)**: no penalty, ranked by the BT model on MIX1 (`bt-mix1`), whose length
#   bias the length-bias chapter measured, in the role of the paper's UltraRM-13B ablation.
# - **reference = previous iterate**: BT-MIX2 with the penalty, but each round's DPO reference is the
#   last iterate instead of $\pi_0$ (the ablation of the reference, below).
#
# and **offline DPO**: one DPO run from $\pi_0$ on curated MIX2 pairs, none of whose prompts is an
# evaluation prompt. Their responses were not sampled from $\pi_0$, but the lite twins write them with the
# same demonstration maker that trained $\pi_0$, so they are about as likely under $\pi_0$ as its own
# answers; the paper's offline data was written by other models. {doc}`07_why_online` measures that
# distance and runs the comparison at several. It gets one pair for every prompt the loop's rounds would train
# on if none were dropped ({glue:text}`pair_passes` pairs, each for the loop's {glue:text}`dpo_epochs` epochs).
# The loops drop every prompt whose best and worst answers tie, so they train on fewer pairs than that: Table 2
# counts every arm's **DPO pair passes** (pairs times epochs, summed over rounds), and the comparisons below say
# which way the difference cuts. The paper's baseline is DPO on Nectar.
#
# Every DPO run, in the loop and offline, uses the same settings (the table above): the lite learning
# rate and, besides the DPO loss, an SFT term on the chosen answers. A smaller sweep, one seed each, runs
# the gold and the paper's recipes without the SFT term, with the step size of this chapter's first
# version, and at three times the step; the diagnosis and over-optimisation sections use it.
#
# The intervals below are over loop seeds only: $\pi_0$, the reward models and the evaluation prompts
# stay fixed, so they do not include the variation from retraining those. Every stage is cached under
# `runs/`: rerunning this notebook after an interruption resumes where it stopped.

# %% tags=hide-output
LAMBDA = 0.05  # reward units per character; a five-letter filler word then costs 0.25 (glued below)
GOLD, PAPER, CONCISE = "gold judge (r*)", "BT-MIX2, paper's recipe", "BT-MIX2 + length penalty"
ULTRA, PREV = "BT-MIX1 (UltraRM role)", "reference = previous iterate"
VARIANTS = {GOLD: {"online.judge": "gold"}, PAPER: {}, CONCISE: {"online.length_penalty": LAMBDA},
            ULTRA: {"online.judge": "bt-mix1"}, PREV: {"online.length_penalty": LAMBDA, "online.reference": "previous"}}
LR = cfg.dpo.learning_rate
FIRST_LR = 5e-5  # the DPO learning rate of this chapter's first version (DPO loss alone)
STEPS = {  # the sweep, loop seed 0 only; the recipes above are "lr, DPO + SFT term"
    "first version: lr 5e-5, DPO loss alone": {"dpo.learning_rate": FIRST_LR, "dpo.loss_type": ["sigmoid"]},
    "lr, DPO loss alone": {"dpo.loss_type": ["sigmoid"]},
    "lr x 3, DPO + SFT term": {"dpo.learning_rate": 3 * LR},
}
SWEEP = {(name, k): {**VARIANTS[name], **o} for name in (GOLD, PAPER) for k, o in STEPS.items()}
seeds = range(cfg.online.seeds)
T_LOOP = cfg.online.iterations


def stage_log(msg):
    """The loop's stage lines, not the reminders that pi_0 and the judges are already cached, on stderr: shown
    while the notebook runs in JupyterLab, left out of the book's pages (they name folders on this machine)."""
    if "cached" not in msg:
        print(msg, file=sys.stderr)


# The gold loop run on to more rounds, for the safety section below and the next chapter (a longer loop
# continues a shorter one: its first rounds are the recipe's own).
MAX_ROUNDS = 8 if profile == "book" else cfg.online.iterations + 1
long_cfg = with_overrides(cfg, {**VARIANTS[GOLD], "online.iterations": MAX_ROUNDS, "online.reuse_prompts": True})
# The runs are independent, so `run_recipes` runs them side by side, one per core, each with one torch
# thread (the same artifacts as one after another; bench/bench_races.py measures the time saved): the recipes,
# the sweep (loop seed 0), the longer gold loop and the offline baseline in one pool, the longest first.
every, offline = run_recipes({**{name: with_overrides(cfg, o) if o else cfg for name, o in VARIANTS.items()},
                              **{key: (with_overrides(cfg, o), [0]) for key, o in SWEEP.items()},
                              "longer gold": (long_cfg, seeds)}, seeds, offline=cfg, log=stage_log)
runs, sweep, longer_gold = {n: every[n] for n in VARIANTS}, {k: every[k] for k in SWEEP}, every["longer gold"]
glue("pair_passes", f"{loop_pair_passes(cfg):,}", display=False)
glue("dpo_epochs", f"{cfg.dpo.epochs:g}", display=False)

# %% [markdown]
# The loop's own records confirm the reference detail: every DPO round of Algorithm 2's recipes used
# $\pi_0$ as its reference, each round started from the previous iterate, and the ablation's rounds
# really used the previous iterate.

# %% tags=nbval-check-output
pi0 = str(runs[PAPER][0].pi0.resolve())
fixed = [name for name in runs if name != PREV]
print("reference is pi_0 in every round (Algorithm 2 recipes):",
      all(m["reference"] == pi0 for name in fixed for r in runs[name] for m in r.train_metrics))
print("initialised from:", [m["policy_init"] for m in runs[PAPER][0].train_metrics])
print("the ablation's references:", [m["reference_role"] for m in runs[PREV][0].train_metrics])
print("offline DPO reference is pi_0:", all(o["train_metrics"]["reference"] == pi0 for o in offline))

# %% [markdown]
# The ranking step is simple enough to redo by hand from the saved samples. For each prompt of the
# first iteration: penalise each proxy score by $\lambda$ times the answer's length in characters, and
# pair the highest against the lowest, dropping prompts whose best and worst answers are the same text or
# score the same. This should give exactly the pairs the loop trained on. Only a tie in score between two
# different answers could differ, because the loop breaks ties at random and `argmax` takes the first.

# %% tags=nbval-check-output
rows, saved = runs[CONCISE][0].samples(1), runs[CONCISE][0].pairs(1)
by_hand = {}
for k, r in enumerate(rows):
    score = np.array(r["proxy"]) - LAMBDA * np.array([len(a) for a in r["responses"]])
    best, worst = int(np.argmax(score)), int(np.argmin(score))
    if score[best] > score[worst] and r["responses"][best] != r["responses"][worst]:
        by_hand[str(k)] = (r["responses"][best], r["responses"][worst])
same = sum(by_hand.get(p["prompt_id"]) == (p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in saved)
print(f"pairs kept: by hand {len(by_hand)}, by the loop {len(saved)}; identical pairs: {same}")
print("the loop's pairs are exactly the hand-made ones:", same == len(saved) == len(by_hand))

# %% [markdown]
# The paper's public repository does one thing differently here, beside the reference quirk below. Its
# `prepare_data` (choose_type `max_min_p`) picks the two samples with the highest and the lowest *penalised*
# reward, as we do, but makes the one with the higher *raw* reward the chosen answer. Eq. 9 penalises the
# reward itself, $\tilde r = \hat r - \lambda |a|$, so by the paper's text both the pick and the orientation
# follow $\tilde r$, which is what our loop does. The two rules differ only where the penalty turns the raw
# order round: on the penalised recipe's own samples (every iteration and seed) that is
# {glue:text}`flip_share:.1%` of its pairs (between {glue:text}`flip_min:.1%` and {glue:text}`flip_max:.1%`
# by run). Without a penalty they agree pair for pair.

# %% tags=hide-input
flip_counts = [orientation_flips([r["proxy"] for r in rows_], [r["responses"] for r in rows_], LAMBDA)
               for run_ in runs[CONCISE] for t in range(1, T_LOOP + 1) for rows_ in [run_.samples(t)]]
flip_share = sum(f for f, _ in flip_counts) / sum(k for _, k in flip_counts)
by_run = [f / k for f, k in flip_counts]
glue("flip_share", flip_share, display=False)
glue("flip_min", min(by_run), display=False)
glue("flip_max", max(by_run), display=False)
print(f"pairs the repository's rule would orient the other way: {flip_share:.1%} "
      f"(by run and iteration: {min(by_run):.1%} to {max(by_run):.1%})")

# %% [markdown]
# ## What each iteration does (the paper's Figure 8)
#
# The held-out prompts are never used for training. For each policy we sample
# {glue:text}`eval_n` answers to each of {glue:text}`eval_prompts` held-out prompts at temperature 1.0 and
# compare each answer with $\pi_0$'s answer to the same prompt under $r^*$. A win counts 1 and a tie
# counts 1/2. The KL divergence $\mathrm{KL}(\pi_t \| \pi_0)$ is estimated from the same samples as
# the mean of $\log \pi_t(a|x) - \log \pi_0(a|x)$. Bands are 95% intervals over the loop seeds, each
# recipe's own: they say how much a recipe varies from seed to seed, not whether two recipes differ (the
# seeds share $\pi_0$ and the prompts, so differences are measured seed by seed, in the forest plot
# below).
#
# A tie counts 1/2, so no policy can reach a win rate of 1: where $\pi_0$'s answer is already right,
# the best any answer can do is tie with it. On these prompts the highest win rate any policy could
# reach is {glue:text}`ceiling:.3f` (the dotted line of the first panel); read every win rate below
# against that, not against 1.

# %% tags=hide-input
T = cfg.online.iterations
COLORS = {GOLD: "goldenrod", PAPER: "C0", CONCISE: "C2", ULTRA: "C3", PREV: "C4"}
agg = {name: [across_seeds([r.evals[t] for r in rs]) for t in range(T + 1)] for name, rs in runs.items()}
off = across_seeds([o["eval"] for o in offline])
ceiling = mean_ceiling(runs[GOLD])
glue("ceiling", ceiling, display=False)
iteration_panels(agg, off, ceiling, COLORS, emphasise=GOLD)
plt.show()

# %% [markdown]
# The last panel is each loop's own judge (with the recipe's penalty) asked the same question on the
# *same* samples: does it prefer the iterate's answer to $\pi_0$'s? For the gold judge it is the true win
# rate again. Where a learned judge's panel rises and the true one does not, the loop is learning what
# the judge likes rather than what is right.

# %% [markdown]
# ## SFT, offline DPO and iterative DPO (the paper's Table 2)
#
# The paper's headline comparison is on LC AlpacaEval-2, MT-Bench and Chat-Arena-Hard. Our benchmark
# is the true reward on held-out prompts. The paper's numbers stand beside ours for orientation only:
# they are scores of a GPT-4 judge against a fixed reference model, not win rates against $\pi_0$ under
# a known reward. The SFT, offline and unpenalised rows come from its Table 2, the length-penalised
# ("Ours-concise") row from its Table 4; the paper has no gold-judge row, because nobody knows the true
# reward of real prompts.

# %% tags=hide-input
PM = "\u00a0±\u00a0"  # no-break spaces: "0.612 ± 0.010" stays on one line in a narrow column


def row(a):
    return {"win rate vs pi_0": f"{a['win_rate'][0]:.3f}{PM}{a['win_rate'][1]:.3f}",
            "mean r*": f"{a['reward'][0]:.3f}{PM}{a['reward'][1]:.3f}",
            "length (words)": f"{a['length'][0]:.2f}{PM}{a['length'][1]:.2f}",
            "KL to pi_0": f"{a['kl'][0]:.2f}{PM}{a['kl'][1]:.2f}"}


def headroom(a):
    """The share of the possible gain in win rate (0.5 -> ceiling) that a policy took."""
    return share_of_gain(a["win_rate"][0], 0.5, ceiling)


table2 = pd.DataFrame({"SFT (pi_0)": row(agg[PAPER][0]), "offline DPO": row(off),
                       **{f"iterative, {name} (pi_{T})": row(agg[name][T]) for name in (GOLD, PAPER, CONCISE)}}).T
table2["share of the possible gain"] = [f"{headroom(a):.0%}" for a in (agg[PAPER][0], off, agg[GOLD][T], agg[PAPER][T],
                                                                         agg[CONCISE][T])]

# DPO pair passes of a run: pairs times epochs, summed over its DPO rounds (every round runs dpo.epochs)
passes = {"SFT (pi_0)": 0, "offline DPO": float(np.mean([o["train_metrics"]["train_pairs"] * cfg.dpo.epochs
                                                          for o in offline])),
          **{name: float(np.mean([r.pair_passes(cfg.dpo.epochs) for r in runs[name]])) for name in runs}}
table2["DPO pair passes"] = [f"{passes[k]:,.0f}" for k in ("SFT (pi_0)", "offline DPO", GOLD, PAPER, CONCISE)]
table2.columns = ["win rate vs π₀", "mean r*", "length (words)", "KL to π₀ (nats/answer)", "share of the gain",
                  "pair passes"]
table2

# %% [markdown]
# Each cell is the mean over loop seeds ± its 95% interval; KL is in nats for a whole answer (the glossary's
# sequence-level KL), pair passes are the DPO pairs a run trained on times their epochs, summed over its rounds
# and averaged over seeds. The paper's numbers for the same rows, from its Tables 2 and 4 (the paper has no
# gold-judge row):

# %% tags=hide-input
pd.DataFrame({"LC AlpacaEval-2": [10.2, 22.5, 31.3, 38.1], "Chat-Arena-Hard": [5.6, 22.4, 29.1, 22.1]},
             index=["SFT", "vanilla (offline) DPO", "iterative DPO (Ours)", "Ours-concise"])

# %% tags=hide-cell
def paired_gap(a_runs, key="win_rate"):
    """pi_T of each seed's run minus offline DPO of the same seed: (mean, 95% half-width)."""
    return paired([r.evals[T][key][0] for r in a_runs], [o["eval"][key][0] for o in offline])


gaps_off = {name: paired_gap(runs[name]) for name in (GOLD, PAPER, CONCISE, ULTRA)}
# The penalty's effect, seed by seed (both recipes start each seed from the same pi_0 and prompts)
concise_minus_main = {key: seed_interval([c.evals[T][key][0] - p.evals[T][key][0]
                                          for p, c in zip(runs[PAPER], runs[CONCISE])]) for key in ("chars", "win_rate")}
glue("eval_n", cfg.online.eval_n, display=False)
glue("eval_prompts", cfg.eval_prompts, display=False)
glue("n_seeds", cfg.online.seeds, display=False)
gold_final = [r.evals[T]["win_rate"][0] for r in runs[GOLD]]
glue("gold_seed_range", f"{min(gold_final):.3f} to {max(gold_final):.3f}", display=False)
glue("T_iter", T, display=False)
glue("total_prompts", T * cfg.data.prompts_per_iteration, display=False)
for key, a in (("sft", agg[PAPER][0]), ("off", off), ("gold", agg[GOLD][T]), ("plain", agg[PAPER][T]),
               ("it", agg[CONCISE][T]), ("ultra", agg[ULTRA][T])):
    glue(f"win_{key}", float(a["win_rate"][0]), display=False)
    glue(f"win_{key}_ci", float(a["win_rate"][1]), display=False)
    glue(f"r_{key}", float(a["reward"][0]), display=False)
    glue(f"len_{key}", float(a["length"][0]), display=False)
    glue(f"kl_{key}", float(a["kl"][0]), display=False)
    glue(f"head_{key}", f"{headroom(a):.0%}", display=False)
for key, name in (("gold", GOLD), ("plain", PAPER), ("it", CONCISE)):
    glue(f"gap_{key}", float(gaps_off[name][0]), display=False)
    glue(f"gap_{key}_ci", float(gaps_off[name][1]), display=False)
    glue(f"gap_{key}_text", interval_words(*gaps_off[name]), display=False)
glue("off_text", against_tie(*off["win_rate"]), display=False)
glue("gold_words", compare(*gaps_off[GOLD], "is ahead of", "is behind", "is level with",
                           unclear="cannot be told apart from", resolution=0.02), display=False)
glue("plain_words", compare(*gaps_off[PAPER], "is ahead of", "is behind", "is level with",
                            unclear="cannot be told apart from", resolution=0.02), display=False)
# pair passes: which way the difference in training cuts (offline DPO's nominal pairs against what the loops kept)
glue("passes_off", f"{passes['offline DPO']:,.0f}", display=False)
glue("passes_gold", f"{passes[GOLD]:,.0f}", display=False)
glue("passes_plain", f"{passes[PAPER]:,.0f}", display=False)
glue("passes_cut", training_cut(passes["offline DPO"], passes[GOLD]), display=False)
glue("pen_chars_diff", float(concise_minus_main["chars"][0]), display=False)
glue("pen_chars_diff_h", float(concise_minus_main["chars"][1]), display=False)
glue("pen_win_diff", float(concise_minus_main["win_rate"][0]), display=False)
glue("pen_win_diff_h", float(concise_minus_main["win_rate"][1]), display=False)

# %% [markdown]
# Over {glue:text}`n_seeds` seeds, offline DPO's true win rate against $\pi_0$ is {glue:text}`off_text`:
# {glue:text}`win_off:.3f` ± {glue:text}`win_off_ci:.3f` ({glue:text}`head_off` of the possible gain).
#
# The gold-judge loop reaches {glue:text}`win_gold:.3f` ± {glue:text}`win_gold_ci:.3f` after
# {glue:text}`T_iter` iterations ({glue:text}`head_gold` of the possible gain). Paired by seed it
# {glue:text}`gold_words` offline DPO ({glue:text}`gap_gold:+.3f` ± {glue:text}`gap_gold_ci:.3f`). The mean true
# reward moves from {glue:text}`r_sft:.3f` ($\pi_0$) to {glue:text}`r_off:.3f` (offline) and
# {glue:text}`r_gold:.3f` (gold loop). Read this as what it is, a comparison of two whole recipes: the loop's
# pairs are the policy's own answers ranked by what is right, offline DPO's are the demonstration maker's
# answers ranked by noisy annotators; the two end at different distances from $\pi_0$ (the KL column); and they
# do not train equally long: offline DPO ran {glue:text}`passes_off` pair passes, the gold loop
# {glue:text}`passes_gold` (the ties it dropped), {glue:text}`passes_cut`. {doc}`07_why_online` takes these
# apart: offline pairs ranked by $r^*$ too, written at several distances from $\pi_0$, the loop's own pairs
# replayed offline, and every arm compared at matched KL.
#
# The paper's recipe, ranked by the learned BT-MIX2 model with no penalty, {glue:text}`plain_words` offline
# DPO here (the paper: 31.3 against 22.5). Its true win rate is {glue:text}`win_plain:.3f` ± {glue:text}`win_plain_ci:.3f`,
# paired against offline {glue:text}`gap_plain:.3f` ± {glue:text}`gap_plain_ci:.3f`
# ({glue:text}`gap_plain_text`), at a length of {glue:text}`len_plain:.2f` words against
# {glue:text}`len_sft:.2f` for $\pi_0$. With the length penalty the same judge gives
# {glue:text}`win_it:.3f` ± {glue:text}`win_it_ci:.3f`, paired against offline {glue:text}`gap_it:.3f` ±
# {glue:text}`gap_it_ci:.3f` ({glue:text}`gap_it_text`).
#
# In absolute terms the paper's gaps are larger: its 60K prompts and 8B model leave much more to learn
# than our {glue:text}`total_prompts` short digit tasks for a tiny model, and its benchmarks do not cap
# the score at a tie with the SFT model.
#
# The comparison itself, seed by seed: each dot is one loop seed's $\pi_T$ minus offline DPO of the same
# seed, and the bar is the 95% interval of their mean ($t$ over the seeds). A filled marker is an interval
# clear of zero; a hollow one includes it.

# %% tags=hide-input
FOREST = (GOLD, PAPER, CONCISE, ULTRA)
fig, (ax_w, ax_r) = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, key, label in ((ax_w, "win_rate", "true win rate, online minus offline"), (ax_r, "reward", "mean $r^*$, online minus offline")):
    per_seed = {name: [r.evals[T][key][0] - o["eval"][key][0] for r, o in zip(runs[name], offline)] for name in FOREST}
    forest_plot(per_seed, {name: paired_gap(runs[name], key) for name in FOREST}, label, ax=ax, colors=COLORS)
fig.tight_layout()
plt.show()

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
# reward-modelling chapter ({doc}`04_reward_models`, "What the preference model needs") measures what it
# lacks, over epochs, pairs, a smaller $\pi_0$, and the same answers asked about under another prompt.
#
# **The step and the loss.** The first version of this chapter trained with the DPO loss alone at a
# learning rate of {glue:text}`lr_old:g`, and found iterative DPO barely ahead of offline DPO. The sweep
# shows why, with loop seed 0 of the gold and the paper's recipes:

# %% tags=hide-input
at_T = lambda run: round_summary(run, T)  # noqa: E731
MAIN_STEP = "lr, DPO + SFT term (the recipes above)"
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
fams = list(agg[PAPER][T]["by_family"])
rows4 = {}
for name in (CONCISE, PAPER, ULTRA):
    a = agg[name][T]
    rows4[name] = {**row(a), **{f"r* {f}": round(a["by_family"][f][0], 3) for f in fams}}
rows4["SFT (pi_0)"] = {**row(agg[PAPER][0]), **{f"r* {f}": round(agg[PAPER][0]["by_family"][f][0], 3) for f in fams}}
rows4["offline DPO"] = {**row(off), **{f"r* {f}": round(off["by_family"][f][0], 3) for f in fams}}
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
# A second test of the data: the gold loop run on to {glue:text}`max_rounds` rounds (the run the next chapter
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
# This is a measured association, not a proof of cause. Exercise 4 below is the experiment that would test it:
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
# trained with this chapter's loss (DPO plus the SFT term) only; the sweep's two runs with the DPO loss alone
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
ref_rows = {"reference = pi_0 (Algorithm 2)": row(agg[CONCISE][T]), "reference = previous iterate": row(agg[PREV][T])}
ref_table = pd.DataFrame(ref_rows).T
ref_diff = {key: seed_interval([b.evals[T][key][0] - a.evals[T][key][0] for a, b in zip(runs[CONCISE], runs[PREV])])
            for key in ("win_rate", "kl", "length", "reward")}
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
# ## Choosing the output policy
#
# Algorithm 2 outputs "the best policy in $\pi_{1:T}$ by a validation set". The only judge a practitioner
# has on a validation set is the proxy, so the loop picks the iterate with the best proxy win rate
# against $\pi_0$ on {glue:text}`val_prompts` validation prompts (apart from the evaluation prompts).
# The candidates are our $\pi_1, \dots, \pi_T$, the DPO iterates; under the paper's Figure 4 numbering
# its $\pi_{1:T}$ would also include the untrained $\pi_0$. In the lite world we can see what the truth
# would pick.

# %% tags=hide-input
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
glue("val_cost", float((val_table["true win rate of the best"] - val_table["true win rate of the pick"]).max()),
     display=False)
val_table

# %% [markdown]
# The proxy picks the truth's best iterate in {glue:text}`val_agree` of {glue:text}`val_total` runs.
# The largest cost of a wrong pick, in true win rate on the evaluation prompts, is
# {glue:text}`val_cost:.3f`. (The truth's "best" is itself measured on a finite sample, so small
# differences between iterates are noise.)

# %% [markdown]
# ## Samples: $\pi_0$, offline DPO and iterative DPO
#
# The paper's case studies (its Appendix C) set answers of offline and online RLHF side by side. Here
# are the first answers of $\pi_0$, offline DPO, the gold-judge loop and the paper's recipe with and without
# the penalty (seed 0, the last iterate) to one held-out prompt of each task family, with their true
# rewards.

# %% tags=hide-input
sources = {"pi_0": runs[PAPER][0].records(0), "offline DPO": offline_records(offline[0]),
           **{name: runs[name][0].records(T) for name in (GOLD, PAPER, CONCISE)}}
n_eval = cfg.online.eval_n
cases = []
families_seen = set()
for i in range(cfg.eval_prompts):
    rec = sources["pi_0"][i * n_eval]
    if rec["family"] in families_seen:
        continue
    families_seen.add(rec["family"])
    # one row per prompt and policy, r* in a column of its own: narrow enough for the page, nothing cut off
    cases += [{"prompt": rec["prompt"], "policy": k, "answer": v[i * n_eval]["response"], "r*": v[i * n_eval]["reward"]}
              for k, v in sources.items()]
pd.DataFrame(cases).set_index(["prompt", "policy"]).style.format({"r*": "{:.2f}"})

# %% [markdown]
# ## Results file

# %% tags=hide-cell
def pack(a):
    return {k: {"mean": v[0], "ci95": v[1]} for k, v in a.items() if k not in ("by_family", "echo_by_family")} | {
        "by_family_reward": {f: {"mean": v[0], "ci95": v[1]} for f, v in a["by_family"].items()},
        "by_family_echo": {f: {"mean": v[0], "ci95": v[1]} for f, v in a.get("echo_by_family", {}).items()}}


final = {name: {k: Interval(*agg[name][-1][k]) for k in ("win_rate", "chars")} for name in (GOLD, PAPER, CONCISE)}
headline = IterativeDpoHeadline(
    seeds=cfg.online.seeds, iterations=T, gold_recipe=GOLD, paper_recipe=PAPER, concise_recipe=CONCISE,
    gold_win_rate=final[GOLD]["win_rate"], paper_win_rate=final[PAPER]["win_rate"], paper_chars=final[PAPER]["chars"],
    concise_win_rate=final[CONCISE]["win_rate"], concise_chars=final[CONCISE]["chars"],
    offline_win_rate=Interval(*off["win_rate"]), concise_minus_paper_chars=Interval(*concise_minus_main["chars"]),
    concise_minus_paper_win_rate=Interval(*concise_minus_main["win_rate"]),
    previous_minus_pi0_win_rate=Interval(*ref_diff["win_rate"]),
    sweep_dpo_alone_win_rate=float(steps[(PAPER, "lr, DPO loss alone")]["true win rate"]),
    sweep_with_sft_win_rate=float(steps[(PAPER, MAIN_STEP)]["true win rate"]))
_ = save("06_iterative_dpo", headline, {  # the path it wrote names this machine: not shown
    "seeds": cfg.online.seeds, "iterations": T, "length_penalty": LAMBDA, "dpo_learning_rate": LR,
    "main_recipe": PAPER, "gold_recipe": GOLD, "concise_recipe": CONCISE,
    "history": cfg.online.history, "offline_pairs": offline[0]["train_metrics"]["train_pairs"],
    "win_rate_ceiling": ceiling, "repository_orientation_flip_share": flip_share,
    "per_iteration": {name: [pack(x) for x in a] for name, a in agg.items()},
    "offline_dpo": pack(off),
    "iterative_minus_offline_win_rate": {name: {"mean": m, "ci95": h} for name, (m, h) in gaps_off.items()},
    "concise_minus_main": {key: {"mean": m, "ci95": h} for key, (m, h) in concise_minus_main.items()},
    "pairs_under_truth": taught,
    "judge_agreement_by_length": {name: {side: {"agreement": v[0], "pairs": v[1]} for side, v in d.items()}
                                  for name, d in by_length.items()},
    "step_size_sweep_seed0": {f"{name} | {k}": v for (name, k), v in steps.items()},
    "overoptimisation": {"points": over, "summary": summary_over},
    "reference_ablation": {"pi0": pack(agg[CONCISE][T]), "previous": pack(agg[PREV][T]),
                           "previous_minus_pi0": {k: {"mean": m, "ci95": h} for k, (m, h) in ref_diff.items()}},
    "pi0_length_correlation": {k: {"mean": m, "ci95": h} for k, (m, h) in bias.items()},
    "echo_unsafe_change_paper_recipe": {"mean": float(unsafe_echo[0]), "ci95": float(unsafe_echo[1])},
    "validation_pick_matches_truth": f"{int((val_table['picked by proxy'] == val_table['best by truth']).sum())}/{len(val_table)}",
    "paper": {"table2_lc_alpacaeval2": {"sft": 10.2, "offline_dpo": 22.5, "iterative_dpo": 31.3},
              "table4_lc_alpacaeval2": {"ours": 31.3, "ours_concise": 38.1, "ultrarm_13b": 20.7},
              "figure3_mean_length_correlation": {"bt_mix2": 0.06, "ultrarm_13b": 0.19}},
}, profile)

# %% [markdown]
# ## Summary
#
# - `rlhf_lite.online.run_online` is Algorithm 2: per iteration it samples from the current policy on
#   fresh prompts, ranks by a judge (optionally length-penalised), keeps best against worst, and runs
#   TRL's DPO from the last iterate with $\pi_0$ as the reference. Each stage is cached, and the loop
#   resumes after a crash. `online.judge = "gold"` ranks by $r^*$ itself; `online.reference = "previous"`
#   is the reference ablation.
# - With a perfect judge the loop reaches a true win rate of {glue:text}`win_gold:.3f` against
#   {glue:text}`win_off:.3f` for offline DPO on the annotators' pairs ({glue:text}`passes_gold` DPO pair passes
#   against {glue:text}`passes_off`), {glue:text}`head_gold` of the possible gain against {glue:text}`head_off`.
#   That compares whole recipes: the labels, the data's authors, the KL and the training differ. Here the offline
#   data is near $\pi_0$ and its labels are noisier than $r^*$; {doc}`07_why_online` separates these and compares
#   the arms at matched KL, at several distances of the offline data from $\pi_0$, the property that decides it.
# - With a learned judge the loop learns what the judge's pairs say. Against the truth, a share of the
#   BT judges' pairs are ties that teach their taste for length, and the loop follows it: the paper's
#   recipe reaches {glue:text}`win_plain:.3f`, the penalised one {glue:text}`win_it:.3f`. The reward
#   model decides what the loop can learn (the paper's Section 2), and the gap between the gold row and
#   these rows is its price here.
# - The length penalty makes the answers {glue:text}`len_pen_text` than $\pi_0$'s and {glue:text}`keep_text`.
#   {glue:text}`safety_summary`
# - Along KL, for BT-MIX2, {glue:text}`over_short_text`.
# - {glue:text}`pm_loop_words`
#
# ## Exercises
#
# Most of these change the true win rate by a few hundredths, and one loop seed varies by more than that:
# in the book profile the gold recipe's final win rate spans {glue:text}`gold_seed_range` over its
# {glue:text}`n_seeds` seeds. So a difference from the `ci` profile's few short seeds is not evidence.
# Run at least three seeds in the book profile (`"online.seeds": 3`, as here) and compare seed by seed
# with the recipe you changed (`seed_interval` of the paired differences, as the forest plot does).
# Exercise 5's effect is large enough to see with one seed. What an unchanged `ci` run of this chapter
# prints, recorded from a fresh build, is in the course guide's table
# ({doc}`/book/course_guide`, "What the ci profile prints"): check your set-up against it first.
#
# 1. **Fewer samples.** Rerun the gold recipe with `n = 4` instead of 8
#    (`with_overrides(cfg, {"online.judge": "gold", "sampling.n": 4})`). The best and worst of fewer
#    samples are closer together, and more prompts have no right answer among them. What happens to the
#    pair report's dropped counts, to the KL after three iterations and to the true win rate?
# 2. **One temperature.** Sample all $n$ answers at temperature 0.7 (`"sampling.temperatures": [0.7]`).
#    Which panel of the per-iteration figure changes most? Why would lower-temperature samples explore
#    less?
# 3. **Other partners.** Use `"online.rule": "best-random"` and `"best-second"` with the gold judge.
#    Is the worst of $n$ a better partner for the best than a random sample or the runner-up? Relate
#    your answer to the theory chapter's argument for the enhancer.
# 4. **Drop the ties.** A judge cannot know which of its pairs are ties under the truth, but it can
#    drop pairs whose two answers have the same content up to filler. Write a pair rule that does this
#    (compare `rlhf_lite.world.content_tokens` of the two answers) and rerun the paper's recipe. How much
#    of the gap to the gold row closes? Does round 3 still lose refusals (the safety section's tables)?
#    Why is this rule cheating, in a world where "filler" is not defined?
# 5. **Without the SFT term.** Every run of this chapter adds an SFT term on the chosen answers to the DPO
#    loss (the default `"dpo.loss_type": ["sigmoid", "sft"]`). Run the gold recipe at three times the
#    learning rate with the DPO loss alone (`{"online.judge": "gold", "dpo.learning_rate": 3 * LR,
#    "dpo.loss_type": ["sigmoid"]}`) and compare it with the sweep's row "lr x 3, DPO + SFT term". Does the
#    large step drift without the term?
# 6. **The paper's shortcut.** Set `"online.history": "new"`, so that each round trains on its new pairs
#    only. It costs about half the DPO steps at $T = 3$. Does it keep up with Algorithm 2 as written at our
#    learning rate, with the gold judge and with BT-MIX2?
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. With 4 samples, more prompts give the same best and worst answer on easy prompts, and fewer hard
#    prompts have a right answer among the samples, so fewer pairs teach the right answer. Expect less
#    movement per iteration and a smaller gain. Measure it, though: the answer depends on how confident
#    $\pi_0$ is. The paper's choice of 8 trades sampling cost for signal.
# 2. At 0.7 alone the samples vary less: more identical pairs are dropped, and the worst answer tends to
#    be less bad. Temperature is one of the heuristics the paper lists for making $\pi^1_t$ and
#    $\pi^2_t$ differ, that is, for exploration. Compare the KL and win-rate panels of your run with ours.
# 3. The runner-up and a random partner both give pairs with smaller margins. With the gold judge every
#    pair is still right, but a smaller margin says less about what to avoid. Best against worst
#    maximises the difference between the two answers, the quantity the theory chapter's uncertainty
#    bound is built on. Whether that wins here is an empirical question the runs answer.
# 4. Dropping same-content pairs removes the ties that teach padding, so the paper's recipe should move
#    towards the gold row; the wrong pairs (the judge's mistakes on hard cases) remain. The rule uses
#    knowledge of the world that no practitioner has: on real prompts nobody can list the words that earn
#    nothing. The paper's length penalty is the practical, blunter version of the same idea.
# 5. The sweep's row with the term reaches a true win rate of {glue:text}`gold_big:.3f` at a KL of
#    {glue:text}`gold_big_kl:.2f` nats per answer (gold recipe, seed 0, book profile). The SFT term keeps the
#    likelihood of the chosen answers up, so DPO cannot lower its loss only by pushing both answers of a
#    pair down, one way a large step drifts; without it, expect a larger KL for the same or a lower win
#    rate. This is a large effect, visible with one seed.
# 6. Each shortcut round trains from the last iterate on fewer pairs, so the policy takes fewer steps
#    in total and the older pairs are not revisited. At a learning rate chosen for the full history, the
#    shortcut may move less. A larger learning rate or more epochs per round gives it back steps. The
#    paper reports no regression at its scale.
# :::
