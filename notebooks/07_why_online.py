# %% [markdown]
# # Why online beats offline, measured
#
# The paper's reason to exist is that online iterative DPO beats offline DPO {cite:p}`dong2024rlhf`
# (Table 2: 31.3 against 22.5 on LC AlpacaEval-2). {doc}`06_iterative_dpo` compared the two in the lite world
# as the earlier chapters built it. This chapter varies the one property of the data that controlled studies
# of the question single out {cite:p}`tang2024understanding`: **how far the offline data is from $\pi_0$**.
#
# :::{admonition} What we found
# :class: tip
# This run, {glue:text}`n_seeds` seeds, 95% intervals paired by seed:
#
# - The lite datasets' responses are {glue:text}`mix2_gap_words` under $\pi_0$ than its own answers: MIX2's chosen
#   responses sit at {glue:text}`mix2_gap:+.2f` nats per token from $\pi_0$'s own samples (positive: more likely). The paper's
#   offline data was written by GPT-4, GPT-3.5, LLaMA-2 and other models, not by its SFT model.
# - With the gold judge, offline DPO on data written like pi_0's demonstrations (distance
#   {glue:text}`near_gap:+.2f`) {glue:text}`near_words` the online loop at matched KL
#   ({glue:text}`near_diff:+.3f` ± {glue:text}`near_diff_ci:.3f`, online minus offline). On data
#   {glue:text}`far_gap_abs:.2f` nats per token further from pi_0 than pi_0's own samples, online
#   {glue:text}`far_words` it ({glue:text}`far_diff:+.3f` ± {glue:text}`far_diff_ci:.3f`).
# - The loop's own stream of pairs, replayed offline from pi_0 in the order collected, {glue:text}`replay_words`
#   the loop ({glue:text}`replay_diff:+.3f` ± {glue:text}`replay_diff_ci:.3f`); shuffled, the same stream
#   {glue:text}`shuffle_words` it ({glue:text}`shuffle_diff:+.3f` ± {glue:text}`shuffle_diff_ci:.3f`).
# - With the learned BT-MIX2 judge ranking both arms' samples, the loop {glue:text}`bt_near_words` offline DPO
#   at matched KL on data near $\pi_0$ ({glue:text}`bt_near_diff:+.3f` ± {glue:text}`bt_near_diff_ci:.3f`,
#   online minus offline) and {glue:text}`bt_far_words` it on data far from $\pi_0$
#   ({glue:text}`bt_far_diff:+.3f` ± {glue:text}`bt_far_diff_ci:.3f`).
# - Given the rounds it wants, the gold-judge loop {glue:text}`rounds_stop_text` after
#   {glue:text}`rounds_run` rounds, with {glue:text}`share_best` of the possible gain at its best
#   ({glue:text}`share_T` at the paper's three).
# :::
#
# Whether online beats offline here depends on the regime, and the regime is set by who wrote the offline
# data. The sections below measure each step.

# %% tags=parameters
profile = "book"  # "ci": seconds, for the test suite; "book": the results quoted in the text
seed = 0

# %% tags=remove-cell
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue

from datasets import load_from_disk

from rlhf_lite.config import Config, with_overrides
from rlhf_lite.notebook import quiet_libraries
from rlhf_lite.headlines import Matched, WhyOnlineHeadline, save
from rlhf_lite.wording import ranks_and_generates
from rlhf_lite.online import (Writer, calibrate, common_reach, front, implicit_accuracy, iterate_points, loop_prompts,
                              matched, peak, peaks, run_arms, run_recipes, win_at_kl, write_samples)
from rlhf_lite.online.analysis import mean_ceiling
from rlhf_lite.online.analysis import own_samples, pairs_distance
from rlhf_lite.online.offpolicy import samples_distance
from rlhf_lite.online.runs import arm_pairs
from rlhf_lite.plots import forest_plot
from rlhf_lite.policy import load_policy
from rlhf_lite.policy.sampling import HFSampler
from rlhf_lite.stages import prepare_pi0, prepare_preference_data, without_held_out
from rlhf_lite.stats import Interval, compare, seed_interval, share_of_gain
from rlhf_lite.world import true_reward
from rlhf_lite.data.truth import as_world_prompt

quiet_libraries()  # one line per stage: not the libraries' per-model bars and renamed-argument notices
pd.set_option("display.precision", 3)
cfg = Config.preset(profile, seed=seed)
seeds = list(range(cfg.online.seeds))
GOLD, BT = "gold judge (r*)", "BT-MIX2"
RECIPES = {GOLD: with_overrides(cfg, {"online.judge": "gold"}), BT: cfg}
glue("n_seeds", len(seeds), display=False)


def quiet(msg):
    """One line per stage that really runs (a DPO round of the loop or an offline arm, not each evaluation), on
    stderr: shown while the notebook runs in JupyterLab, left out of the book's pages."""
    if msg.startswith(("[study]", "[iter")) and " DPO " in msg:
        print(msg, file=sys.stderr)


# the loops of the iterative DPO chapter (the same recipes and seeds: reused from runs/ when that chapter ran),
# and its gold loop run on to more rounds (below), in one pool
MAX_ROUNDS = 8 if profile == "book" else cfg.online.iterations + 1
more = with_overrides(RECIPES[GOLD], {"online.iterations": MAX_ROUNDS, "online.reuse_prompts": True})
every, _ = run_recipes({**RECIPES, "longer": (more, seeds)}, seeds, log=quiet)
runs, longer = {name: every[name] for name in RECIPES}, every["longer"]

# %% [markdown]
# ## Enough rounds?
#
# The iterative DPO chapter stops the loop after the paper's three iterations. A comparison with offline DPO
# is only fair if the loop has had the rounds it needs, so first we run the gold-judge loop on to
# {glue:text}`max_rounds` rounds and read where its true win rate stops rising: the first round whose win
# rate (mean over seeds) is not above the best so far. Rounds after that one are not used below. The lite prompt pool holds
# {glue:text}`pool_rounds` subsets of the loop's size, so later rounds sample the same prompt subsets again,
# with fresh answers from the current policy (`online.reuse_prompts`). A longer loop continues the shorter
# one: its first iterations are the same artifacts.

# %% tags=hide-input
ceiling = mean_ceiling(runs[GOLD])
# All the rounds at once (run above), then the stop read from the curve: the same artifacts as deciding round by
# round (a longer loop continues a shorter one), but the seeds' loops run through without waiting for each other
# at every round, which on two cores left one core idle for a third of each round. The rounds after the stop are
# not wasted: {doc}`08_what_the_judge_teaches` reads all of them in its safety section (round 6 samples round 3's prompts).
means = [float(np.mean([r.evals[t]["win_rate"][0] for r in longer])) for t in range(MAX_ROUNDS + 1)]
rounds = next((t for t in range(cfg.online.iterations + 1, MAX_ROUNDS + 1) if means[t] <= max(means[1:t])), MAX_ROUNDS)
curve = [seed_interval([r.evals[t]["win_rate"][0] for r in longer]) for t in range(rounds + 1)]
best_round = int(np.argmax([m for m, _ in curve[1:]])) + 1
share = lambda w: share_of_gain(w, 0.5, ceiling)  # noqa: E731  the share of the possible gain (0.5 -> ceiling)
glue("max_rounds", MAX_ROUNDS, display=False)
glue("pool_rounds", cfg.data.iterations, display=False)
glue("rounds_run", rounds, display=False)
glue("best_round", best_round, display=False)
glue("share_T", f"{share(curve[cfg.online.iterations][0]):.0%}", display=False)
glue("share_best", f"{share(curve[best_round][0]):.0%}", display=False)
glue("T_paper", cfg.online.iterations, display=False)
glue("rounds_stop_text", "stopped rising" if rounds < MAX_ROUNDS or best_round < rounds else
     "was still rising when we stopped at the limit", display=False)

fig, ax = plt.subplots(figsize=(6, 3.4))
m, h = np.array(curve).T
ax.plot(range(rounds + 1), m, marker="o", color="goldenrod", lw=2, label="gold-judge loop")
ax.fill_between(range(rounds + 1), m - h, m + h, color="goldenrod", alpha=0.2)
ax.axhline(ceiling, color="gray", ls=":", lw=1, label="highest possible")
ax.axvline(cfg.online.iterations, color="k", lw=0.8, ls="--", label="the paper's T")
ax.set_xlabel("iteration t")
ax.set_ylabel("true win rate against π₀")
ax.legend(fontsize=9, loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# The gold-judge loop {glue:text}`rounds_stop_text` after {glue:text}`rounds_run` rounds. At the paper's
# {glue:text}`T_paper` it had taken {glue:text}`share_T` of the possible gain; at its best round
# ({glue:text}`best_round`), {glue:text}`share_best`. The online arm below uses all these iterates as its
# points, so the comparison gives the loop the rounds it wanted.

# %% [markdown]
# :::{admonition} Evidence and illustration in this chapter
# :class: note
# Measured, so evidence: every distance, every win rate and KL, and the comparisons between arms. Built
# into the world: how the lite datasets' responses were written (by the demonstration maker that trained
# pi_0), which is why their distance is near zero, and the writers' style, filler words woven into the
# answer, which r* ignores by construction (see {doc}`02_lite_world`).
# :::
#
# ## How far is the data from $\pi_0$?
#
# A response's distance from $\pi_0$ is its log-likelihood under $\pi_0$ per token, beside the same number
# for $\pi_0$'s own samples on the same prompts (temperature 1): 0 means "as likely as what $\pi_0$ would
# have written", $-1$ means one nat per token less likely, about $e$ times less likely at every word.
# This is what DPO's gradient sees: it raises and lowers log-probabilities of the responses in its data,
# and a response $\pi_0$ would never write moves probability mass that $\pi_0$'s samples never visit.

# %% tags=hide-input
pi0 = prepare_pi0(cfg, log=lambda *a: None).pi0
model, tok = load_policy(pi0)
sampler = HFSampler(model, tok, batch_size=cfg.sampling.batch_size, progress=False)
N_DIST = 400 if profile == "book" else 80  # pairs per data set in the distance table


def own_per_token(prompts, s=0):
    """pi_0's own samples on ``prompts`` (four each, temperature 1): their per-token log-likelihood, and mean r*."""
    return own_samples(sampler, model, tok, prompts, cfg.sampling.max_new_tokens, seed=4242 + s)


def distance_row(pairs, what):
    """The first ``N_DIST`` of ``pairs``: how far each side is from pi_0's own samples on the same prompts."""
    pairs = pairs[:N_DIST]
    return {"data set": what, **pairs_distance(model, tok, pairs, *own_per_token([p["prompt"] for p in pairs]))}


data = prepare_preference_data(cfg, log=lambda *a: None)
mixes = {m: without_held_out(cfg, load_from_disk(str(data.mixtures[m])).to_list()) for m in ("mix1", "mix2")}
rng = np.random.default_rng(0)
dist_rows = [distance_row([mixes[m][i] for i in rng.permutation(len(mixes[m]))], m.upper()) for m in ("mix2", "mix1")]
for name, rs in runs.items():
    stream = rs[0].pair_stream(cfg.online.iterations)
    dist_rows.append(distance_row([stream[i] for i in rng.permutation(len(stream))], f"online pairs, {name} (seed 0)"))
distances = pd.DataFrame(dist_rows).set_index("data set")
glue("mix2_gap", float(distances.loc["MIX2", "distance (chosen), nats/token"]), display=False)
glue("mix2_rej_gap", float(distances.loc["MIX2", "distance (rejected), nats/token"]), display=False)
glue("mix2_gap_words", "more likely" if distances.loc["MIX2", "distance (chosen), nats/token"] > 0
     else "less likely", display=False)
SHOW = {"distance (chosen), nats/token": "chosen: distance", "distance (rejected), nats/token": "rejected: distance",
        "chosen: mean r*": "chosen: mean r*", "rejected: mean r*": "rejected: mean r*",
        "pi_0's own: mean r*": "π₀'s own: mean r*", "pairs right under r*": "pairs right under r*",
        "pairs tied under r*": "pairs tied under r*"}
SHORT = {"MIX2": "MIX2", "MIX1": "MIX1", f"online pairs, {GOLD} (seed 0)": "loop, r* (seed 0)",
         f"online pairs, {BT} (seed 0)": "loop, BT (seed 0)"}
# transposed, with short names, so that it fits the page's column; distances in nats per token
distances[list(SHOW)].rename(columns=SHOW, index=SHORT).T.round(2)

# %% [markdown]
# MIX2's chosen responses sit at {glue:text}`mix2_gap:+.2f` and its rejected ones at
# {glue:text}`mix2_rej_gap:+.2f` nats per token from $\pi_0$'s own samples (the writers below show where data
# written unlike $\pi_0$ sits on this scale): the lite twins write with the demonstration maker that trained
# $\pi_0$.
# The loop's own pairs are $\pi_0$'s and its iterates' samples by construction. In this world, "offline" has
# meant "written like $\pi_0$, but fixed".
#
# The paper's setting is another regime. Its SFT model is LLaMA-3-8B fine-tuned on its own SFT mixture; its
# offline baseline trains on Nectar, and its reward models on MIX2. Who wrote their responses, by the paper's
# Table 5 and its descriptions of the datasets (Nectar, which the paper does not describe, by its dataset card):
#
# | data | written by | used for |
# | --- | --- | --- |
# | Nectar | seven answers a prompt, mostly by GPT-4, GPT-3.5-turbo(-instruct) and LLaMA-2-7B-chat, among other models | the offline DPO baseline |
# | HH-RLHF | an early 52B Claude model | MIX1, MIX2 |
# | SHP | Reddit users | MIX1, MIX2 |
# | UltraFeedback, CodeUltraFeedback | four of a pool of open and proprietary LLMs per prompt | MIX1, MIX2 |
# | HelpSteer | an in-house LLM | MIX2 |
# | PKU-SafeRLHF, Capybara, Orca, UltraInteract | open-source chat models ("LLM" in Table 5) | MIX2 |
#
# None of it was written by the SFT model being aligned. We cannot run the paper's SFT model here, so we have
# no number for its distance; but text written by other models, in their own
# styles and lengths, is far less likely under an 8B SFT model than its own samples: the regime that the
# controlled studies of this question set against on-policy data {cite:p}`tang2024understanding,tajwar2024preference`.
# This is an argument from who wrote the data, not a measurement. The next section builds that regime in the
# lite world, where it can be measured.
#
# ## Writers that are not $\pi_0$: a dial of distance, at the same quality
#
# A *writer* is a behaviour policy other than $\pi_0$: it gives the demonstration maker's answers (the same
# answers at every setting) and weaves on average `foreign` filler words into them where $\pi_0$'s
# demonstrations never put them ("1 well 2 3"). $r^*$ ignores filler, so every writer is exactly as good;
# only its distance changes. The near writer is the demonstration maker itself (the lite twins' writer); for
# the others we calibrate `foreign` on a few hundred of the loop's prompts so that the writer's samples sit at
# a target distance below $\pi_0$'s own, and the table measures them again on other prompts.

# %% tags=hide-input
# target nats per token from pi_0's own samples; "near" is the demonstration maker itself (foreign 0), not calibrated
DIAL = {"near": np.nan, "mid": -0.5, "far": -1.3}
calib = [as_world_prompt(p) for p in loop_prompts(cfg)[:200]]
own_calib, _ = own_per_token(calib, s=1)
writers = {"near": Writer("near", 0.0)}
for name, target in DIAL.items():
    if np.isfinite(target):
        foreign, _ = calibrate(target, model, tok, calib, own_calib, cfg.world, seed=3)
        writers[name] = Writer(name, round(foreign, 4))
# every offline arm of this chapter, run here once (each seed's pairs are saved beside its policy)
# The BT judge's arms run at the two ends of the dial only: its differences are several times noisier than the
# gold judge's, and a middle arm (three more DPO runs) added little but minutes to the build.
specs = [(RECIPES[j], {"kind": "writer", "name": f"{w} [{j}]", "foreign": writers[w].foreign})
         for j in RECIPES for w in writers if j == GOLD or w != "mid"]
specs += [(RECIPES[GOLD], {"kind": "replay", "name": f"replay {o} [{GOLD}]", "order": o}) for o in ("in order", "shuffled")]
results = run_arms(specs, seeds, log=quiet)
texts = [as_world_prompt(p) for p in loop_prompts(cfg)[-N_DIST:]]  # not the calibration prompts
own_all, _ = own_per_token(texts, s=2)
whole = {}  # per writer: the distance and mean r* of all its samples on the held-out prompts (judge-free)
for name, w in writers.items():
    samples = write_samples(w, texts, cfg.sampling.n, cfg.world, seed=0)
    whole[name] = {"distance (all samples), nats/token": samples_distance(model, tok, texts, samples, own_all),
                   "all samples: mean r*": float(np.mean([true_reward(x, a) for x, r in zip(texts, samples)
                                                          for a in r]))}
dial_rows = []
for (c, spec), out in zip(specs, results):
    if spec["kind"] != "writer":
        continue
    name, judge_name = spec["name"].split(" [")[0], spec["name"].split(" [")[1][:-1]
    pairs = arm_pairs(out[0])
    row = distance_row(pairs, f"writer '{name}', ranked by {judge_name}")
    dial_rows.append({**row, "writer": name, "judge": judge_name, "foreign": writers[name].foreign,
                      "target": DIAL[name], **whole[name], "pairs": len(pairs)})
dial = pd.DataFrame(dial_rows).set_index("data set")


def chosen_distance(writer, judge):
    """How far the chosen answers of an offline arm (``writer``'s samples ranked by ``judge``) sit from pi_0's own
    samples, nats per token: each arm's own data, not another judge's."""
    return float(dial.loc[(dial["writer"] == writer) & (dial["judge"] == judge), "distance (chosen), nats/token"].iloc[0])


DIAL_SHOW = {"foreign": "filler words (foreign)", "target": "target distance",
             "distance (all samples), nats/token": "all samples: distance", "distance (chosen), nats/token":
             "chosen: distance", "all samples: mean r*": "all samples: mean r*", "pi_0's own: mean r*":
             "π₀'s own: mean r*", "pairs right under r*": "pairs right under r*",
             "pairs tied under r*": "pairs tied under r*"}
dial_short = {k: f"{r['writer']}, {'r*' if r['judge'] == GOLD else 'BT'}" for k, r in dial.iterrows()}
dial[list(DIAL_SHOW)].rename(columns=DIAL_SHOW, index=dial_short).T.round(2)

# %% [markdown]
# Each writer's samples have the same mean $r^*$, above $\pi_0$'s own: the offline data at every distance
# is *better* than what $\pi_0$ writes, as GPT-4's answers were better than the SFT model's. A gap between
# the arms below therefore cannot come from offline data that is simply worse.
#
# ## True win rate against KL
#
# Each offline arm is one DPO run from $\pi_0$ (reference $\pi_0$) on one pair per prompt of the loop's own
# prompts: a writer's {glue:text}`n_samples` samples, ranked by the *loop's judge* and paired by the loop's
# rule (best against worst). Online and offline arms therefore learn from the same preference source and the
# same prompts, and differ in who wrote the samples. They do not train equally long, and the tables below
# count each arm's **DPO pair passes** (pairs times epochs, summed over rounds): a writer's arm trains for one
# pair per prompt of the loop's first {glue:text}`T_paper` rounds, as if the loop never dropped a prompt
# ({glue:text}`writer_passes` pair passes), while the loop drops every prompt whose best and worst answers
# tie, so its first {glue:text}`T_paper` rounds ran about {glue:text}`loop_passes_T` (mean over seeds of the
# gold loop), and the rounds after them more. The replays train on exactly the loop's pairs. Every
# offline run saves its policy at {glue:text}`n_ckpt` points along the way, and every saved policy is
# evaluated like the loop's iterates: true win rate against $\pi_0$'s samples, and KL($\pi \| \pi_0$) per
# token from its **own** samples (summed over them, divided by their tokens, so that a policy is not further
# from $\pi_0$ only because it writes longer answers). An arm's frontier is the upper-left edge of its points; a straight line
# between two points is reachable (mixing the two policies), and no frontier is extended beyond the largest
# KL it measured.
#
# The checkpoints are the offline arms' sweep over the number of steps (Tang et al.'s protocol gives the
# offline arm the sweep): an offline arm can stop wherever along its run it does best.

# %% tags=hide-input
arms = {f"online [{GOLD}]": [iterate_points(r)[:rounds + 1] for r in longer],  # up to where it stopped
        f"online [{BT}]": [iterate_points(r) for r in runs[BT]]}
arms.update({spec["name"]: [res["points"] for res in out] for (_, spec), out in zip(specs, results)})


# every arm's DPO pair passes, per seed: the loops' up to the rounds used here, the offline arms' as recorded
passes = {f"online [{GOLD}]": [r.pair_passes(cfg.dpo.epochs, upto=rounds) for r in longer],
          f"online [{BT}]": [r.pair_passes(cfg.dpo.epochs, upto=cfg.online.iterations) for r in runs[BT]]}
passes.update({spec["name"]: [res["train_metrics"]["pair_passes"] for res in out] for (_, spec), out in zip(specs, results)})
glue("writer_passes", f"{np.mean(passes[f'near [{GOLD}]']):,.0f}", display=False)
glue("loop_passes_T", f"{np.mean([r.pair_passes(cfg.dpo.epochs, upto=cfg.online.iterations) for r in longer]):,.0f}",
     display=False)
glue("n_samples", cfg.sampling.n, display=False)
glue("n_ckpt", len(results[0][0]["points"]) - 1, display=False)

COLORS = {"online": "k", "near": "C0", "mid": "C1", "far": "C3", "replay in order": "C2", "replay shuffled": "C4"}


def colour(name):
    return next(c for k, c in COLORS.items() if name.startswith(k))


fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.4), sharey=True)  # read at the column's width: text of 9 pt or more
for ax, j in zip(axes, RECIPES):
    names = [n for n in arms if n.endswith(f"[{j}]")]
    for n in names:
        for s, p in enumerate(arms[n]):
            k, w = front(p)
            k, w = np.append(k, max(q["kl"] for q in p)), np.append(w, w[-1])  # level after the best point
            ax.plot(k, w, color=colour(n), lw=2 if n.startswith("online") else 1.2, alpha=0.8,
                    marker="o" if n.startswith("online") else ".", label=n.split(" [")[0] if s == 0 else None)
    ax.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("KL(π || π₀), nats per token")
    ax.set_title(f"judge: {j}", fontsize=11)
axes[0].set_ylabel("true win rate against π₀")
handles = {}  # one legend for both panels: the replays are in the gold panel only
for ax in axes:
    for h, lab in zip(*ax.get_legend_handles_labels()):
        handles.setdefault(lab, h)
fig.legend(handles.values(), handles.keys(), fontsize=9, loc="lower center", ncol=(len(handles) + 1) // 2,
           frameon=False)
fig.tight_layout(rect=(0, 0.13, 1, 1))
plt.show()

# %% [markdown]
# Each line is one seed's frontier: the best win rate the arm reached within each budget of KL, level after
# its best point up to the largest KL it measured. Read them left to right: an arm that reaches a higher win
# rate at the same KL buys more truth per nat of distance from $\pi_0$.
#
# The comparison, paired by seed, at the largest KL both arms reached in every seed (so that neither is
# extrapolated), and at each arm's peak:

# %% tags=hide-input
def at_peak(name, k):
    """Whether every seed of arm ``name`` is already at its peak at KL ``k`` (its frontier level there)."""
    return all(np.isclose(win_at_kl(p, k), peak(p)["win"]) for p in arms[name])


def versus(online, offline):
    """Online minus offline at the largest KL both reached in every seed, and at their peaks. Where some seed of
    an arm never beat pi_0, its frontier is pi_0 alone and the two cannot be compared along KL (NaN). "both at
    their peaks": at the matched KL every seed of both arms is already level at its best point, so the matched
    comparison and the comparison of peaks are the same numbers."""
    k = common_reach(arms, [online, offline])
    pk = peaks(arms, online, offline)
    m = matched(arms, online, offline, k) if k > 0 else {"a": (np.nan,) * 2, "b": (np.nan,) * 2, "diff": (np.nan,) * 2}
    return {"online": online.split(" [")[0], "offline arm": offline.split(" [")[0], "matched KL": k,
            "online at that KL": m["a"][0], "online at that KL ±": m["a"][1],
            "offline at that KL": m["b"][0], "offline at that KL ±": m["b"][1],
            "online - offline": m["diff"][0], "± (95%)": m["diff"][1],
            "peak: online - offline": pk["diff"][0], "peak ±": pk["diff"][1],
            "both at their peaks": bool(k > 0 and at_peak(online, k) and at_peak(offline, k)),
            "online pair passes": float(np.mean(passes[online])), "offline pair passes": float(np.mean(passes[offline]))}


PM = "\u00a0±\u00a0"  # no-break spaces keep "0.612 ± 0.010" on one line in a narrow column


def shown(tab):
    """The comparison as the page shows it: few columns, each value with its interval, to fit the column."""
    return pd.DataFrame({
        "KL (per token)": tab["matched KL"].map("{:.2f}".format),
        "online": [f"{a:.3f}{PM}{h:.3f}" for a, h in zip(tab["online at that KL"], tab["online at that KL ±"])],
        "offline": [f"{a:.3f}{PM}{h:.3f}" for a, h in zip(tab["offline at that KL"], tab["offline at that KL ±"])],
        "online − offline": [f"{a:+.3f}{PM}{h:.3f}" for a, h in zip(tab["online - offline"], tab["± (95%)"])],
        "at the peaks": [("same" if same else f"{a:+.3f}{PM}{h:.3f}")
                         for a, h, same in zip(tab["peak: online - offline"], tab["peak ±"], tab["both at their peaks"])],
    }, index=tab.index)


def passes_shown(tab):
    """Each arm's DPO pair passes (pairs x epochs, summed over rounds), in a table of its own so that both fit."""
    return pd.DataFrame({"online": tab["online pair passes"].map("{:,.0f}".format),
                         "offline": tab["offline pair passes"].map("{:,.0f}".format)}, index=tab.index)


comparisons = {j: pd.DataFrame([versus(f"online [{j}]", n) for n in arms if n.endswith(f"[{j}]") and
                                not n.startswith("online")]).set_index("offline arm") for j in RECIPES}
for j, tab in comparisons.items():
    display(shown(tab).style.set_caption(f"judge: {j}; win rates against π₀, 95% intervals paired by seed"))
    display(passes_shown(tab).style.set_caption(f"judge: {j}; DPO pair passes of each arm"))

# %% [markdown]
# Read the two kinds of comparison differently. At matched KL both arms are held to the same distance from
# $\pi_0$ and neither is extrapolated; that is the comparison the summary and the {doc}`../book/scorecard`
# quote. The peaks are matched neither in KL nor in training: the second table of each judge gives each arm's DPO pair passes.
# The gold loop's peak is its best round of the {glue:text}`rounds_run` it ran
# ({glue:text}`gold_loop_passes` pair passes over those rounds, mean over seeds), the writers' arms ran
# {glue:text}`writer_passes` and the replays exactly the loop's first {glue:text}`T_paper` rounds'. So a peak
# difference in the gold loop's favour includes its extra rounds, and one in a writer's favour its extra passes.
# Where "at the peaks" reads "same", every seed of both arms had already reached its best
# point by the matched KL, so the two comparisons are the same numbers. Arms where that happens in this run:
# {glue:text}`same_as_peak_arms`.

# %% tags=hide-input
per_seed, intervals, colours = {}, {}, {}  # the arms that can be compared along KL, gold judge first
for j, tab in comparisons.items():
    for name, r in tab.iterrows():
        if np.isfinite(r["online - offline"]):
            label = f"{name} [{j.split(' ')[0]}]"
            per_seed[label] = matched(arms, f"online [{j}]", f"{name} [{j}]", r["matched KL"])["per_seed"]
            intervals[label], colours[label] = (r["online - offline"], r["± (95%)"]), colour(name)
fig = forest_plot(per_seed, intervals, "online minus offline, true win rate at matched KL (dots: seeds)", colors=colours)
fig.tight_layout()
plt.show()

for key, arm_name in (("bt_near", "near"), ("bt_far", "far")):
    d, h = float(comparisons[BT].loc[arm_name, "online - offline"]), float(comparisons[BT].loc[arm_name, "± (95%)"])
    glue(f"{key}_diff", d, display=False)
    glue(f"{key}_diff_ci", h, display=False)
    glue(f"{key}_words", compare(d, h, "beats", "falls short of", "matches", unclear="cannot be told apart from",
                                 resolution=0.02) if np.isfinite(d) else "cannot be compared along KL with",
         display=False)
glue("gold_loop_passes", f"{np.mean(passes[f'online [{GOLD}]']):,.0f}", display=False)
same_peak = [f"{n} [{'r*' if j == GOLD else 'BT'}]" for j, tab in comparisons.items()
             for n, r in tab.iterrows() if r["both at their peaks"]]
glue("same_as_peak_arms", ", ".join(same_peak) if same_peak else "none", display=False)
g = comparisons[GOLD]
for key, arm_name in (("near", "near"), ("far", "far"), ("replay", "replay in order"), ("shuffle", "replay shuffled")):
    d, h = float(g.loc[arm_name, "online - offline"]), float(g.loc[arm_name, "± (95%)"])
    glue(f"{key}_diff", d, display=False)
    glue(f"{key}_diff_ci", h, display=False)
    glue(f"{key}_kl", float(g.loc[arm_name, "matched KL"]), display=False)
    offline_first = key != "far"  # the summary's sentence names the offline arm first, except for "far"
    glue(f"{key}_words", compare(d, h, "falls short of" if offline_first else "beats",
                                 "beats" if offline_first else "falls short of", "matches",
                                 unclear="cannot be told apart from", resolution=0.02) if np.isfinite(d)
         else "cannot be compared along KL with", display=False)
near_gap, far_gap = chosen_distance("near", GOLD), chosen_distance("far", GOLD)
glue("near_gap", near_gap, display=False)
glue("far_gap_abs", abs(far_gap), display=False)

# %% [markdown]
# ## Does the data explain the gap, or the sampling as the policy moves?
#
# The two replay arms train offline, from $\pi_0$, on every pair the gold loop collected: the same pairs,
# the same number of passes. "In order" feeds them as the loop's rounds did (round 1's pairs, then rounds 1
# and 2, and so on); "shuffled" is the same list in one random order. If the replayed stream does as well as
# the loop, the loop's advantage lies in *what* it collected, pairs drawn from where the policy was going;
# if it falls short, in the interaction itself. Tang et al. found that shuffling lost most of the gain.
#
# The replayed streams are the loop's own pairs, checked here for seed 0: the in-order stream is every round's
# data once per DPO epoch, rounds in order, and the shuffled one is a permutation of the same list.

# %% tags=nbval-check-output,hide-input
from rlhf_lite.online import replay_stream  # noqa: E402

key = lambda p: (str(p["prompt"]), str(p["chosen"]), str(p["rejected"]))  # noqa: E731
rounds_ = [[key(p) for p in runs[GOLD][0].pairs(t)] for t in range(1, cfg.online.iterations + 1)]
in_order = [key(p) for p in replay_stream(RECIPES[GOLD], 0, "in order")]
shuffled = [key(p) for p in replay_stream(RECIPES[GOLD], 0, "shuffled")]
expected = [x for t in range(1, len(rounds_) + 1) for _ in range(int(cfg.dpo.epochs))
            for x in sorted(y for r in rounds_[:t] for y in r)]
blocks, k = [], 0
for t in range(1, len(rounds_) + 1):
    size = sum(len(r) for r in rounds_[:t])
    for _ in range(int(cfg.dpo.epochs)):
        blocks.append(sorted(in_order[k:k + size]))
        k += size
print("in order: each pass is one round's data, rounds in order:", [x for b in blocks for x in b] == expected)
print("shuffled: a permutation of the in-order stream:", sorted(shuffled) == sorted(in_order) and shuffled != in_order)
print("the arms trained on these streams:", [res[0]["pairs"] == len(in_order) for (_, sp), res in zip(specs, results)
                                             if sp["kind"] == "replay"])

# %% [markdown]
# Replayed in the order collected, the loop's stream of pairs {glue:text}`replay_words` the loop at a KL of
# {glue:text}`replay_kl:.2f` nats per token ({glue:text}`replay_diff:+.3f` ± {glue:text}`replay_diff_ci:.3f`,
# online minus replay); shuffled, the same stream {glue:text}`shuffle_words` it ({glue:text}`shuffle_diff:+.3f` ±
# {glue:text}`shuffle_diff_ci:.3f` at {glue:text}`shuffle_kl:.2f`). The replays stop at a smaller KL than the
# writers' arms, so this is the comparison at the start of the frontier, where the loop's first round is.
# Where a replay matches the loop, the pairs carry the loop's advantage and the interaction adds nothing
# we can measure at that KL; where it falls short, the difference is the sampling as the policy moves.
# Tang et al.'s shuffled replay lost most of the online gain; the verdicts above are ours, with their
# intervals.
#
# ## Discrimination against generation
#
# A DPO policy is also a reward model: its implicit reward $\beta \log \pi(a|x)/\pi_0(a|x)$ ranks any two
# answers. Tang et al. asked whether offline policies fail because they rank badly, and found the opposite:
# offline policies can rank held-out pairs well and still generate badly. Here is each arm's final policy
# on held-out pairs of $\pi_0$'s answers whose $r^*$ differ, beside its true win rate, with 95% intervals over
# seeds. (An arm's last point is its final policy, the one ranked here; the loop's is its last iterate.)

# %% tags=hide-input
bases = [r.records(0) for r in runs[GOLD]]  # pi_0's held-out answers, per seed
finals = {f"online [{GOLD}]": [r.policies[rounds - 1] for r in longer], f"online [{BT}]": [r.policies[-1] for r in runs[BT]]}
finals.update({spec["name"]: [res["policy"] for res in out] for (_, spec), out in zip(specs, results)})


def arm_words(name):
    """An arm's name as a sentence says it: "online [gold judge (r*)]" -> "the loop ranked by r*"."""
    what, judge = name.split(" [")
    by = "r*" if judge[:-1] == GOLD else judge[:-1]
    return f"the loop ranked by {by}" if what == "online" else f"offline DPO on the {what} data ranked by {by}"


disc = []
for name, paths in finals.items():
    acc = [implicit_accuracy(path, base) for path, base in zip(paths, bases)]
    (a, ha), (w, hw) = seed_interval([x for x, _ in acc]), seed_interval([p[-1]["win"] for p in arms[name]])
    disc.append({"arm": name, "implicit-reward accuracy": a, "±": ha, "true win rate (final)": w, "± ": hw,
                 "KL per token (final)": float(np.mean([p[-1]["kl"] for p in arms[name]])),
                 "held-out pairs": acc[0][1]})
disc = pd.DataFrame(disc).set_index("arm").round(3)
glue("disc_words", ranks_and_generates(arm_words(disc["implicit-reward accuracy"].idxmax()),
                                        arm_words(disc["true win rate (final)"].idxmax())), display=False)
glue("disc_pairs", int(disc["held-out pairs"].iloc[0]), display=False)
disc

# %% [markdown]
# Ranking and generating, in means over seeds (each seed's accuracy rests on about {glue:text}`disc_pairs`
# pairs): {glue:text}`disc_words`.
#
# ## What this says about the paper's claim
#
# The lite world as the earlier chapters built it is the near regime: its offline data is written like
# $\pi_0$'s own demonstrations, and there offline DPO {glue:text}`near_words` the online loop at matched KL.
# Data written by other models puts the paper's offline baseline in the far regime, and there online
# {glue:text}`far_words` offline. The {doc}`../book/scorecard` quotes these matched-KL comparisons, near and far,
# for both judges. The iterative DPO chapter's comparison of whole recipes (the loop ranked by $r^*$ against
# offline DPO on the annotators' pairs, at different KL and pair passes) stays in that chapter, named for what it
# compares.

# %% tags=hide-input
def pack(tab):
    return {n: {k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v) for k, v in r.items()}
            for n, r in tab.iterrows()}


def matched_of(judge, regime):
    """One controlled comparison of the tables above, as the scorecard reads it."""
    row = comparisons[judge].loc[regime]
    iv = lambda col, half: Interval(float(row[col]), float(row[half]))  # noqa: E731
    return Matched(kl=float(row["matched KL"]), online=iv("online at that KL", "online at that KL ±"),
                   offline=iv("offline at that KL", "offline at that KL ±"), difference=iv("online - offline", "± (95%)"),
                   offline_distance=chosen_distance(regime, judge))


headline = WhyOnlineHeadline(seeds=len(seeds), gold_judge=GOLD, learned_judge=BT,
                             **{f"{role}_{regime}": matched_of(judge, regime) for role, judge in (("gold", GOLD),
                                                                                                   ("learned", BT))
                                for regime in ("near", "far")})
_ = save("07_why_online", headline, {  # the path it wrote names this machine: not shown
    "seeds": len(seeds), "win_rate_ceiling": ceiling,
    "rounds": {"run": rounds, "best": best_round, "win_rate": [{"mean": a, "ci95": b} for a, b in curve],
               "share_at_paper_T": share(curve[cfg.online.iterations][0]), "share_at_best": share(curve[best_round][0])},
    "dial": {k: {"target": DIAL[k], "foreign": w.foreign} for k, w in writers.items()},
    "distances": pack(distances),
    "dial_table": pack(dial),
    "distances_by_writer": {w: chosen_distance(w, GOLD) for w in writers},
    "matched_kl": {j: pack(t) for j, t in comparisons.items()},
    "points": {n: p for n, p in arms.items()},
    "discrimination": pack(disc),
    "paper": {"table2_lc_alpacaeval2": {"offline_dpo": 22.5, "iterative_dpo": 31.3}},
}, profile)

# %% [markdown]
# ## Summary
#
# - The distance of a data set from $\pi_0$ (`rlhf_lite.online.offpolicy`) is the property that decides
#   this comparison; measure it before reading an online-against-offline result.
# - Writers (`Writer`, `calibrate`) give offline data at a chosen distance and the same quality; offline arms
#   (`rlhf_lite.online.arms.run_arms`) train on it with checkpoints, and `rlhf_lite.online.frontier`
#   compares arms at matched KL, paired by seed, without extrapolation.
#
# ## Exercises
#
# 1. **Worse and far.** Give the far writer worse answers (a `WorldConfig` with `demo_wrong=0.5`). Does the
#    online loop's lead grow? Which of distance and quality matters more here?
# 2. **No SFT term.** Rerun the far arm with the DPO loss alone (`"dpo.loss_type": ["sigmoid"]`). The SFT
#    term pulls the policy towards the chosen answers' style; what happens to the far arm's KL?
# 3. **Coverage.** Count, for each writer, the share of prompts whose best sample is right. Is the near
#    writer's advantage coverage or distance?
#
# :::{admonition} Solutions
# :class: dropdown
#
# 1. Worse answers lower the chosen responses' $r^*$ and make fewer pairs teach the right answer, so the
#    offline arm gains less; distance still costs KL. Measure both: the dial table gives the distances, the
#    frontier figure the gains.
# 2. Without the SFT term DPO only moves the margin between chosen and rejected, so it imitates the far
#    style less and its KL grows more slowly; whether its win rate at matched KL rises is what the run says.
# 3. The near writer's samples are the demonstration maker's, right about three times in four, so nearly
#    every prompt has a right best sample; coverage is the same at every distance by construction (the same
#    answers underneath), so the difference between the writers is distance alone.
# :::
