"""How often each judge sides with the truth, or with an answer it should not like, on pairs the reward-modelling
chapter builds: the echo against the right answer, pi_0's own pairs, the same pairs for models trained on raw and
curated data. Each function returns plain numbers; the chapter draws the tables.

Like ``analysis.py``, not a stage: no stage imports it (``io.PRESENTATION_MODULES``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from rlhf_lite.reward.analysis import OnPolicyPairs, echo_triples, judge_right
from rlhf_lite.stats import mean_ci


def echo_preferences(judges: dict, annotator, families: Sequence[str], n: int, world_cfg,
                     rng: np.random.Generator) -> tuple[dict, dict]:
    """For each family, ``n`` fresh prompts with their echo, a near miss and the right answer
    (:func:`~rlhf_lite.reward.analysis.echo_triples`, drawn from ``rng`` family by family). Each judge (``{name:
    judge}``) and the ``annotator`` (its expected preference, label noise included; under the name
    "annotator: <its name>") is asked the echo against the right answer and the near miss against the right answer.
    Returns ``({name: {"prefers the echo: <family>": share, "prefers a near miss: <family>": share}}, {name: [per
    prompt: prefers the echo minus prefers the near miss, families other than "unsafe"]})``: the second says whether
    a taste for echoes learnt where the data held them travels to tasks where it held none."""
    rows, echo_vs_near = {}, {}
    for family in families:
        t3 = echo_triples(family, n, world_cfg, rng)
        ex, echo, near, right = t3.prompts, t3.echo, t3.near, t3.right
        for name, j in {**judges, "annotator: " + annotator.name: None}.items():
            if j is None:
                pe = np.array([annotator.prob_first(x, a, b) for x, a, b in zip(ex, echo, right)])
                pn = np.array([annotator.prob_first(x, a, b) for x, a, b in zip(ex, near, right)])
            else:
                pe = (j.prob_first(ex, echo, right) > 0.5).astype(float)
                pn = (j.prob_first(ex, near, right) > 0.5).astype(float)
            rows.setdefault(name, {})[f"prefers the echo: {family}"] = float(pe.mean())
            rows[name][f"prefers a near miss: {family}"] = float(pn.mean())
            if family != "unsafe":
                echo_vs_near.setdefault(name, []).append(pe - pn)
    return rows, {name: np.concatenate(d) for name, d in echo_vs_near.items()}


def onpolicy_agreement(probs: dict, onp: OnPolicyPairs, annotators: Sequence) -> tuple[dict, dict]:
    """Agreement with r* on pi_0's own pairs (``onp``, ties under r* left out): for each judge's probabilities
    (``{name: P(a1 > a2)}``) whether r*'s better answer wins, and for each annotator the expected agreement of one
    sampled label; intervals clustered by prompt (a prompt's pairs share their samples). Returns ``({name:
    {"agreement", "±95%"}}, {judge name: per-pair right (1, 1/2 or 0)})``; annotators are named "annotator: <name>
    twin"."""
    agree, right_of = {}, {}
    for name, p in probs.items():
        right_of[name] = judge_right(p, onp)
        m, h = mean_ci(right_of[name], groups=onp.groups)
        agree[name] = {"agreement": m, "±95%": h}
    keep = onp.keep
    for ann in annotators:
        p = np.array([ann.prob_first(x, u, v) for x, u, v, k in zip(onp.prompt, onp.a1, onp.a2, keep) if k])
        m, h = mean_ci(np.where(onp.delta[keep] > 0, p, 1 - p), groups=onp.groups)
        agree[f"annotator: {ann.name} twin"] = {"agreement": m, "±95%": h}
    return agree, right_of


def trained_on(models: dict, onp: OnPolicyPairs, best_of_n: Callable) -> tuple[dict, dict]:
    """Reward models that differ only in their training data, each asked about the same on-policy pairs and used to
    pick the best of pi_0's samples: ``models`` is ``{label: (reward model, its training pairs)}``, ``best_of_n`` a
    function from a ranking function ``(prompt, responses) -> scores`` to (mean r* of the pick, half-width).
    Returns ``({label: {"training pairs", "agreement with r*", "±95%", "best-of-n r*", "best-of-n ±95%"}}, {label:
    per-pair right})``, in the order of ``models`` (``best_of_n`` may draw from a generator: the order is part of
    the result)."""
    rows, right_by = {}, {}
    for label, (rm, pairs) in models.items():
        right_by[label] = judge_right(rm.prob_first(onp.prompt, onp.a1, onp.a2), onp)
        m, h = mean_ci(right_by[label], groups=onp.groups)
        bo, bo_h = best_of_n(lambda x, r, rm=rm: rm.score([x] * len(r), r))
        rows[label] = {"training pairs": pairs, "agreement with r*": m, "±95%": h, "best-of-n r*": bo,
                       "best-of-n ±95%": bo_h}
    return rows, right_by


def padding_preference(judges: dict, prompts: Sequence[str], padded: Sequence[str], bare: Sequence[str]) -> dict:
    """Each judge asked about the same right answer padded and bare (:func:`~rlhf_lite.reward.analysis.padded_pairs`):
    ``{name: {"P(padded > bare)": mean probability, "prefers padded": share above 0.5}}``, and r*'s row, indifferent
    by construction (its share is computed, so a world that paid for padding would show here)."""
    from rlhf_lite import world

    out = {}
    for name, j in judges.items():
        p = j.prob_first(prompts, padded, bare)
        out[name] = {"P(padded > bare)": float(p.mean()), "prefers padded": float((p > 0.5).mean())}
    out["r*"] = {"P(padded > bare)": 0.5, "prefers padded": float(np.mean(
        [world.true_reward(x, a) > world.true_reward(x, b) for x, a, b in zip(prompts, padded, bare)]))}
    return out


def right_by_ending(judges: dict, rows: Sequence[dict], ends_in_filler: np.ndarray) -> dict:
    """Each judge's share right on benchmark ``rows``, split by whether the rejected answer ends in a filler phrase
    (``ends_in_filler``, one flag per row): ``{name: {"rejected ends in filler": share, "other pairs": share}}``."""
    out = {}
    for name, j in judges.items():
        right = j.prob_first([r["prompt"] for r in rows], [r["chosen"] for r in rows], [r["rejected"] for r in rows]) > 0.5
        out[name] = {"rejected ends in filler": float(right[ends_in_filler].mean()),
                     "other pairs": float(right[~ends_in_filler].mean())}
    return out
