"""What the chapters read from finished loops: numbers computed from a loop's artifacts (its samples, pairs and
evaluations, through :class:`~rlhf_lite.online.runs.OnlineRun`), never a stage's work.

Like ``safety.py``, an analysis, not a stage: no stage imports it, so it is one of the modules the stages' cache
keys leave out (``io.PRESENTATION_MODULES``): editing it re-runs chapters, never their training.
Chapters: the iterative DPO chapter, why online beats offline, and what the loop learns from its judge.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rlhf_lite import world
from rlhf_lite.data.truth import as_world_prompt
from rlhf_lite.online.evaluate import pair_truth, win_rate_ceiling
from rlhf_lite.online.offpolicy import per_token, response_logliks
from rlhf_lite.policy.sampling import sample_responses
from rlhf_lite.reward.length_bias import length_correlations
from rlhf_lite.stats import Interval, gao_fit, seed_interval


def mean_ceiling(runs) -> float:
    """The win-rate ceiling (:func:`win_rate_ceiling`) of pi_0's held-out samples, mean over the loop seeds ``runs``
    (each an :class:`~rlhf_lite.online.runs.OnlineRun`, with pi_0's samples of its own seed)."""
    return float(np.mean([win_rate_ceiling(r.records(0)) for r in runs]))


def pair_truth_by_round(runs, rounds: int) -> list[dict]:
    """:func:`pair_truth` of the pairs of each round 1..``rounds``, mean over the loop seeds ``runs``."""
    per_t = []
    for t in range(1, rounds + 1):
        reports = [pair_truth(r.samples(t), r.pairs(t)) for r in runs]
        per_t.append({k: float(np.mean([p[k] for p in reports])) for k in reports[0]})
    return per_t


def pair_information(run, t: int) -> dict:
    """How much preference round ``t``'s pair rule extracted from its samples (the exploration chapter): the mean
    margin of the kept pairs under the loop's judge (as ranked, with any length penalty) and under r*
    (:func:`pair_truth`'s ``true_margin``, with its right / tie / wrong shares), and the share of prompts dropped
    ("identical": one text twice; "tied": equal scores; "too few samples")."""
    report, pairs = run.pair_reports[t - 1], run.pairs(t)
    out = {**pair_truth(run.samples(t), pairs), "judge_margin": float(np.mean([p["margin"] for p in pairs]))}
    out["dropped"] = 1.0 - report["pairs"] / report["prompts"]
    out.update({f"dropped_{why.replace(' ', '_')}": n / report["prompts"] for why, n in report["dropped"].items()})
    return out


def overall_agreement(by_length: dict) -> float:
    """Agreement over all pairs of :func:`agreement_by_length`'s split, whatever the lengths (weighted by pairs)."""
    n = sum(k for _, k in by_length.values())
    return sum(v * k for v, k in by_length.values() if k) / n


def length_lean(by_length: dict) -> Interval:
    """How much a judge leans on length (:func:`agreement_by_length`): agreement where the better answer is longer
    minus where it is shorter, with its 95% half-width (two disjoint sets of pairs: binomial half-widths in
    quadrature; pairs of one prompt are few, so not clustered)."""
    (a, na), (b, nb) = by_length["longer"], by_length["shorter"]
    return Interval(a - b, 1.96 * np.sqrt(a * (1 - a) / na + b * (1 - b) / nb))


def proxy_length_correlation(run, t: int = 1) -> float:
    """How much the loop's judge likes length before any penalty: over the prompts of round ``t`` (round 1:
    pi_0's own n samples), the mean per-prompt Pearson correlation between the judge's score and the answer's
    length in words (:func:`~rlhf_lite.reward.length_bias.length_correlations`)."""
    rows = run.samples(t)
    corr, _ = length_correlations(np.array([x["proxy"] for x in rows]),
                                  np.array([[len(a.split()) for a in x["responses"]] for x in rows]), flat=0.0)
    return float(np.nanmean(corr))


def fitted_loss(point: dict) -> bool:
    """Whether an over-optimisation point is fitted: the runs trained with the chapter's loss (DPO plus the SFT term);
    the step sweep's runs with the DPO loss alone optimise another objective and are left out of the fit."""
    return "DPO loss alone" not in point["recipe"]


def overoptimisation_summary(points: list) -> dict:
    """Gao et al.'s law fitted to the proxy's gain and to the true gain against KL
    (:func:`~rlhf_lite.stats.gao_fit`, bootstrapped over runs: a run's iterates are not independent), over the
    points of :func:`~rlhf_lite.online.evaluate.overoptimisation_points` trained with the chapter's loss; and where,
    over all points, the truth and the proxy were best."""
    kl = np.array([max(q["kl"], 0.0) for q in points])
    proxy = np.array([q["proxy_gain"] for q in points])
    truth = np.array([q["true_gain"] for q in points])
    groups = np.array([f"{q['recipe']}|{q['seed']}" for q in points])
    fit = np.array([fitted_loss(q) for q in points])
    fit_truth, fit_proxy = (gao_fit(kl[fit], y[fit], groups[fit]) for y in (truth, proxy))
    return {"kl_best_truth": float(kl[np.argmax(truth)]), "kl_best_proxy": float(kl[np.argmax(proxy)]),
            "best_true_gain": float(truth.max()), "true_gain_at_best_proxy": float(truth[np.argmax(proxy)]),
            "points": int(fit.sum()), "fit_truth": fit_truth, "fit_proxy": fit_proxy}


def own_samples(sampler, model, tokenizer, prompts: Sequence, max_new_tokens: int, n: int = 4,
                seed: int = 4242) -> tuple[float, float]:
    """pi_0's own samples on ``prompts`` (``n`` each, temperature 1, through ``sampler``): their per-token
    log-likelihood under pi_0 (the zero of the distance scale) and their mean r*."""
    rows = sample_responses(sampler, [as_world_prompt(p) for p in prompts], n, (1.0,), max_new_tokens, seed=seed)
    flat = [r for row in rows for r in row]
    return (per_token(*response_logliks(model, tokenizer, [r["prompt"] for r in flat], [r["response"] for r in flat])),
            float(np.mean([world.true_reward(r["prompt"], r["response"]) for r in flat])))


def pairs_distance(model, tokenizer, pairs: Sequence[dict], own: float, own_reward: float) -> dict:
    """How far a set of preference ``pairs`` is from pi_0 and how good it is by r*: per side (chosen, rejected) the
    per-token log-likelihood, its distance from pi_0's own samples (``own``) and mean r*, and the shares of pairs
    right and tied under r*."""
    prompts = [p["prompt"] for p in pairs]
    row = {}
    for side in ("chosen", "rejected"):
        texts = [p[side][-1]["content"] for p in pairs]
        row[f"{side}: per token"] = per_token(*response_logliks(model, tokenizer, prompts, texts))
        row[f"{side}: mean r*"] = float(np.mean([world.true_reward(as_world_prompt(x), a)
                                                 for x, a in zip(prompts, texts)]))
    row["pi_0's own: per token"], row["pi_0's own: mean r*"] = own, own_reward
    row["distance (chosen), nats/token"] = row["chosen: per token"] - own
    row["distance (rejected), nats/token"] = row["rejected: per token"] - own
    margin = np.array([world.true_reward(as_world_prompt(p["prompt"]), p["chosen"][-1]["content"]) -
                       world.true_reward(as_world_prompt(p["prompt"]), p["rejected"][-1]["content"]) for p in pairs])
    row["pairs right under r*"], row["pairs tied under r*"] = float((margin > 0).mean()), float((margin == 0).mean())
    return row


def round_summary(run, t: int = -1) -> dict:
    """pi_t's headline numbers as the step-sweep table shows them (true and judge's win rate against pi_0, mean r*,
    length in words, KL to pi_0 per answer), rounded for the page."""
    e = run.evals[t]
    return {"true win rate": round(e["win_rate"][0], 3), "mean r*": round(e["reward"][0], 3),
            "length": round(e["length"][0], 2), "KL to pi_0": round(e["kl"][0], 2),
            "judge's win rate": round(e["proxy_win_rate"][0], 3)}


def paired_by_seed(before, after, keys: Sequence[str], t: int) -> dict:
    """``after`` minus ``before`` at round ``t``, seed by seed: two recipes' runs of the same loop seeds (``[OnlineRun]``
    in seed order) share pi_0 and the prompts, so each key's difference is taken per seed, then its mean and 95% t
    interval (:func:`~rlhf_lite.stats.seed_interval`): ``{key: (mean, half-width)}``."""
    return {k: seed_interval([b.evals[t][k][0] - a.evals[t][k][0] for a, b in zip(before, after)]) for k in keys}


PM = "\u00a0±\u00a0"  # no-break spaces: "0.612 ± 0.010" stays on one line in a narrow column


def table_row(a: dict) -> dict:
    """One policy's row of the online chapters' tables, from :func:`~rlhf_lite.online.evaluate.across_seeds`'s
    summary ``a``: true win rate against pi_0, mean r*, length in words and KL to pi_0, each "mean ± half-width"."""
    return {"win rate vs pi_0": f"{a['win_rate'][0]:.3f}{PM}{a['win_rate'][1]:.3f}",
            "mean r*": f"{a['reward'][0]:.3f}{PM}{a['reward'][1]:.3f}",
            "length (words)": f"{a['length'][0]:.2f}{PM}{a['length'][1]:.2f}",
            "KL to pi_0": f"{a['kl'][0]:.2f}{PM}{a['kl'][1]:.2f}"}


def pack(a: dict) -> dict:
    """An :func:`~rlhf_lite.online.evaluate.across_seeds` summary as the results file holds it: every (mean,
    half-width) as ``{"mean", "ci95"}``, the per-family rewards and echo shares under their own keys."""
    return {k: {"mean": v[0], "ci95": v[1]} for k, v in a.items() if k not in ("by_family", "echo_by_family")} | {
        "by_family_reward": {f: {"mean": v[0], "ci95": v[1]} for f, v in a["by_family"].items()},
        "by_family_echo": {f: {"mean": v[0], "ci95": v[1]} for f, v in a.get("echo_by_family", {}).items()}}


def output_picks(runs: dict) -> dict:
    """Algorithm 2's output policy against the truth's: for every recipe and seed (``{name: [OnlineRun]}``), the
    iterate the proxy picked on the validation prompts (``run.best``), the iterate with the best true win rate on
    the evaluation prompts (of pi_1..pi_T; ties go to the earliest), and the true win rates of both."""
    out = {}
    for name, rs in runs.items():
        for k, r in enumerate(rs):
            true_best = int(np.argmax([e["win_rate"][0] for e in r.evals[1:]])) + 1
            out[(name, k)] = {"picked by proxy": r.best, "best by truth": true_best,
                              "true win rate of the pick": round(r.evals[r.best]["win_rate"][0], 3),
                              "true win rate of the best": round(r.evals[true_best]["win_rate"][0], 3)}
    return out


def case_table(sources: dict, eval_prompts: int, eval_n: int) -> list[dict]:
    """Case studies: for the first held-out prompt of each task family, every policy's first answer and its r*,
    one row per prompt and policy. ``sources`` maps a policy's name to its evaluation records (``eval_n`` answers
    per prompt, prompt by prompt, as :meth:`OnlineRun.records` gives them); the first source decides the families."""
    first = next(iter(sources.values()))
    cases, seen = [], set()
    for i in range(eval_prompts):
        rec = first[i * eval_n]
        if rec["family"] in seen:
            continue
        seen.add(rec["family"])
        cases += [{"prompt": rec["prompt"], "policy": k, "answer": v[i * eval_n]["response"], "r*": v[i * eval_n]["reward"]}
                  for k, v in sources.items()]
    return cases
