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
# 2. the same loop ranked by the BT reward models, with and without the length penalty (Tables 2 and 4);
# 3. how the output policy is chosen, and what the policies write.
#
# What each judge's pairs teach, the length penalty's costs, safety round by round, over-optimisation and the
# reference of each DPO round are {doc}`08_what_the_judge_teaches`, which reads the runs of this chapter.
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
#   the loop learns that taste ({doc}`08_what_the_judge_teaches`).
# - **The length penalty** changes the answers' length by {glue:text}`pen_chars_diff:+.1f` ±
#   {glue:text}`pen_chars_diff_h:.1f` characters and the true win rate by {glue:text}`pen_win_diff:+.3f` ±
#   {glue:text}`pen_win_diff_h:.3f` (penalised minus unpenalised, paired by seed).
#
# The offline data here is near $\pi_0$ (the lite twins write with $\pi_0$'s demonstration maker);
# {doc}`07_why_online` measures that distance and what changes when it grows.
# :::

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=hide-cell
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Image, display
from myst_nb import glue

from rlhf_lite.config import Config
from rlhf_lite.notebook import quiet_libraries
from rlhf_lite.headlines import IterativeDpoHeadline, save
from rlhf_lite.stats import Interval, compare, paired, share_of_gain
from rlhf_lite.wording import against_tie, interval_words, training_cut
from rlhf_lite.io import PACKAGE_DIR, project_root
from rlhf_lite.online import across_seeds, loop_pair_passes, orientation_flips
from rlhf_lite.online.analysis import case_table, mean_ceiling, output_picks, pack, paired_by_seed, table_row
from rlhf_lite.online.runs import offline_records
from rlhf_lite.online.book_recipes import COLORS, CONCISE, GOLD, LAMBDA, PAPER, PREV, ULTRA, chapter_loops
from rlhf_lite.plots import forest_plot, iteration_panels
from rlhf_lite.policy import load_policy, num_parameters
from rlhf_lite.stages import prepare_pi0

quiet_libraries()  # one line per stage: not the libraries' per-model bars and renamed-argument notices
pd.set_option("display.precision", 3)
cfg = Config.preset(profile, seed=seed)
print(f"profile={cfg.profile} seed={cfg.seed}")
print(cfg.online)
print(cfg.dpo)

# %% [markdown]
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Measured, so evidence: online against offline DPO with a perfect and with learned judges, the length
# penalty's effect, which iterate the proxy picks. Not yet a claim about why: the two arms differ in who
# labelled the pairs, who wrote them and how far they moved from $\pi_0$ ({doc}`07_why_online` takes these apart).
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
# trained from scratch needs larger steps ({doc}`08_what_the_judge_teaches` measures three step
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
#   last iterate instead of $\pi_0$ (the ablation of the reference, in {doc}`08_what_the_judge_teaches`).
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
# version, and at three times the step; {doc}`08_what_the_judge_teaches` reads it.
#
# The intervals below are over loop seeds only: $\pi_0$, the reward models and the evaluation prompts
# stay fixed, so they do not include the variation from retraining those. Every stage is cached under
# `runs/`: rerunning this notebook after an interruption resumes where it stopped.

# %% tags=hide-output
# The recipes, the sweep (loop seed 0), the gold loop run on to more rounds (for the next two chapters; a longer
# loop continues a shorter one) and the offline baseline, named once in rlhf_lite.online.book_recipes (chapter 8
# reads the same runs). The runs are independent, so `run_recipes` runs them side by side, one per core, each with
# one torch thread (the same artifacts as one after another; bench/bench_races.py measures the time saved).
loops = chapter_loops(cfg)  # its stage lines go to stderr: in JupyterLab, not on the page
runs, offline, T_LOOP = loops.runs, loops.offline, cfg.online.iterations
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
# The paper's public repository does one thing differently here, beside the reference (its loop scripts pass
# the previous iterate; {doc}`08_what_the_judge_teaches` measures that). Its `prepare_data` (choose_type
# `max_min_p`) picks the two samples with the highest and the lowest *penalised*
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
def headroom(a):
    """The share of the possible gain in win rate (0.5 -> ceiling) that a policy took."""
    return share_of_gain(a["win_rate"][0], 0.5, ceiling)


table2 = pd.DataFrame({"SFT (pi_0)": table_row(agg[PAPER][0]), "offline DPO": table_row(off),
                       **{f"iterative, {name} (pi_{T})": table_row(agg[name][T]) for name in (GOLD, PAPER, CONCISE)}}).T
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
concise_minus_main = paired_by_seed(runs[PAPER], runs[CONCISE], ("chars", "win_rate"), T)
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
# ## Choosing the output policy
#
# Algorithm 2 outputs "the best policy in $\pi_{1:T}$ by a validation set". The only judge a practitioner
# has on a validation set is the proxy, so the loop picks the iterate with the best proxy win rate
# against $\pi_0$ on {glue:text}`val_prompts` validation prompts (apart from the evaluation prompts).
# The candidates are our $\pi_1, \dots, \pi_T$, the DPO iterates; under the paper's Figure 4 numbering
# its $\pi_{1:T}$ would also include the untrained $\pi_0$. In the lite world we can see what the truth
# would pick.

# %% tags=hide-input
val_table = pd.DataFrame(output_picks(runs)).T
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
pd.DataFrame(case_table(sources, cfg.eval_prompts, cfg.online.eval_n)).set_index(["prompt", "policy"]).style.format(
    {"r*": "{:.2f}"})

# %% [markdown]
# ## Results file

# %% tags=hide-cell
final = {name: {k: Interval(*agg[name][-1][k]) for k in ("win_rate", "chars")} for name in (GOLD, PAPER, CONCISE)}
headline = IterativeDpoHeadline(
    seeds=cfg.online.seeds, iterations=T, gold_recipe=GOLD, paper_recipe=PAPER, concise_recipe=CONCISE,
    gold_win_rate=final[GOLD]["win_rate"], paper_win_rate=final[PAPER]["win_rate"], paper_chars=final[PAPER]["chars"],
    concise_win_rate=final[CONCISE]["win_rate"], concise_chars=final[CONCISE]["chars"],
    offline_win_rate=Interval(*off["win_rate"]), concise_minus_paper_chars=Interval(*concise_minus_main["chars"]),
    concise_minus_paper_win_rate=Interval(*concise_minus_main["win_rate"]))
_ = save("06_iterative_dpo", headline, {  # the path it wrote names this machine: not shown
    "seeds": cfg.online.seeds, "iterations": T, "length_penalty": LAMBDA, "dpo_learning_rate": cfg.dpo.learning_rate,
    "main_recipe": PAPER, "gold_recipe": GOLD, "concise_recipe": CONCISE,
    "history": cfg.online.history, "offline_pairs": offline[0]["train_metrics"]["train_pairs"],
    "win_rate_ceiling": ceiling, "repository_orientation_flip_share": flip_share,
    "per_iteration": {name: [pack(x) for x in a] for name, a in agg.items()},
    "offline_dpo": pack(off),
    "iterative_minus_offline_win_rate": {name: {"mean": m, "ci95": h} for name, (m, h) in gaps_off.items()},
    "concise_minus_main": {key: {"mean": m, "ci95": h} for key, (m, h) in concise_minus_main.items()},
    "validation_pick_matches_truth": f"{int((val_table['picked by proxy'] == val_table['best by truth']).sum())}/{len(val_table)}",
    "paper": {"table2_lc_alpacaeval2": {"sft": 10.2, "offline_dpo": 22.5, "iterative_dpo": 31.3}},
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
# - With the learned BT-MIX2 judge the paper's recipe reaches {glue:text}`win_plain:.3f`, the penalised one
#   {glue:text}`win_it:.3f`; {doc}`08_what_the_judge_teaches` reads what their judges' pairs taught.
# - The proxy picks the truth's best iterate in {glue:text}`val_agree` of {glue:text}`val_total` runs.
#
# ## Exercises
#
# Most of these change the true win rate by a few hundredths, and one loop seed varies by more than that:
# in the book profile the gold recipe's final win rate spans {glue:text}`gold_seed_range` over its
# {glue:text}`n_seeds` seeds. So a difference from the `ci` profile's few short seeds is not evidence.
# Run at least three seeds in the book profile (`"online.seeds": 3`, as here) and compare seed by seed
# with the recipe you changed (`seed_interval` of the paired differences, as the forest plot does).
# What an unchanged `ci` run of this chapter prints, recorded from a fresh build, is in the course guide's table
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
# 4. **The paper's shortcut.** Set `"online.history": "new"`, so that each round trains on its new pairs
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
# 4. Each shortcut round trains from the last iterate on fewer pairs, so the policy takes fewer steps
#    in total and the older pairs are not revisited. At a learning rate chosen for the full history, the
#    shortcut may move less. A larger learning rate or more epochs per round gives it back steps. The
#    paper reports no regression at its scale.
# :::
