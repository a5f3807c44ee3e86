"""How often each judge sides with the truth, or with an answer it should not like, on pairs the reward-modelling
chapter builds: the echo against the right answer, pi_0's own pairs, the same pairs for models trained on raw and
curated data; and section 4.1's preference model with each answer after its own prompt against BT
(:class:`FormatFindings`). Each function returns plain numbers; the chapter draws the tables.

Like ``analysis.py``, not a stage: no stage imports it (``io.PRESENTATION_MODULES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rlhf_lite.reward.analysis import SECTIONS, OnPolicyPairs, echo_triples, judge_right, reads_prompt_less
from rlhf_lite.reward.rewardbench import credit
from rlhf_lite.stats import Interval, mean_ci


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


@dataclass(frozen=True)
class FormatFindings:
    """Issue 41's format study (chapter 4, section "Where each answer sits"): the preference model with each answer
    after its own prompt ("own"), against the book's format ("markers") and BT, all three on the same pairs (MIX2).

    ``*_sections``: lite RewardBench shares after training (``markers_sections`` at the book's epochs); ``gaps``:
    BT's share minus the own-format model's, by section; ``regime``: within ``tolerance`` of BT on chat and safety
    (the paper's preference model is level with its BT there); ``drop``: the fall of the share of all pairs right
    under another prompt; ``reads_less``: the own-format model's fall clearly below BT's (as in
    :class:`PMStudyFindings`); ``reasoning_diff``: own minus BT on reasoning, paired by pair; ``chat_per_doubling``:
    the change in chat per doubling of epochs over the last doubling of its curve (None under 2 epochs) and
    ``epochs_to_regime`` the epochs that rate would need to close the chat gap (None: not closing, or closed);
    ``first_level_epoch``: the first epoch from which every later point of the own-format curve is level with BT's
    last score on chat and safety (None: not by the end), the cheapest length of this training on these rows;
    ``chat_gap``: BT minus the own-format model on chat, pair by pair, with its 95% half-width (whether the
    tolerance lies inside it: these rows cannot then tell level from not), and ``chat_late`` the lowest and highest
    chat share of the own-format model over the last half of its epochs (how far one epoch moves it). A
    gap counts as level up to ``tolerance`` plus a billionth: shares of 500 pairs are read to three decimals, and
    1.000 - 0.970 is a hair above 0.03 in floating point."""

    epochs: float
    markers_epochs: float
    own_sections: dict
    markers_sections: dict
    own_at_markers_epochs: dict
    bt_sections: dict
    gaps: dict
    tolerance: float
    regime: bool
    own_drop: float
    bt_drop: float
    cell_h: float
    reasoning_diff: Interval
    chat_per_doubling: float | None
    epochs_to_regime: float | None
    first_level_epoch: float | None
    chat_gap: Interval
    chat_late: tuple

    @property
    def reads_less(self) -> bool:
        return reads_prompt_less(self.own_drop, self.bt_drop, self.cell_h)


def _sections_at(curve, k: int) -> dict:
    return {s: float(curve[f"lite-{s}"].iloc[k]) for s in SECTIONS}


# How close to BT counts as level on a section (issue 41's target: the paper's preference model is within 1.1 points
# of its BT on chat and ahead on safety, Table 1)
LEVEL_WITH_BT = 0.03


def format_findings(own, markers, bt, own_p, bt_p, rows, tolerance: float = LEVEL_WITH_BT) -> FormatFindings:
    """:class:`FormatFindings` from the three runs' probe curves (DataFrames by epoch: the own-format preference
    model, the book's format, BT, all on the same pairs) and the two judges' probabilities ``own_p`` and ``bt_p``
    that the chosen answer is better on benchmark ``rows`` (for the paired reasoning difference)."""
    n_sec = sum(r["subset"] == "lite-reasoning" for r in rows)
    if n_sec == 0:
        raise ValueError("format_findings: the benchmark rows have no reasoning pairs to compare the judges on.")
    at = int(np.argmin(np.abs(own["epoch"].to_numpy() - markers["epoch"].iloc[-1])))  # its point at markers' epochs
    own_s, bt_s = _sections_at(own, -1), _sections_at(bt, -1)
    gaps = {s: bt_s[s] - own_s[s] for s in SECTIONS}
    level = [all(bt_s[s] - float(own[f"lite-{s}"].iloc[k]) <= tolerance + 1e-9 for s in ("chat", "safety"))
             for k in range(len(own))]
    first = next((k for k in range(len(level)) if all(level[k:])), None)
    on = np.array([r["subset"] == "lite-reasoning" for r in rows])
    on_chat = np.array([r["subset"] == "lite-chat" for r in rows])
    if not on_chat.any():
        raise ValueError("format_findings: the benchmark rows have no chat pairs to measure the gap to BT on.")
    per_doubling = steps = None
    e = own["epoch"].to_numpy()
    if e[-1] >= 2:
        half = int(np.argmin(np.abs(e - e[-1] / 2)))
        per_doubling = float((own["lite-chat"].iloc[-1] - own["lite-chat"].iloc[half]) / np.log2(e[-1] / e[half]))
        if gaps["chat"] > tolerance + 1e-9 and per_doubling > 0:
            steps = float(e[-1] * 2 ** ((gaps["chat"] - tolerance) / per_doubling))
    late = own["lite-chat"][e > e[-1] / 2]  # the own-format model's chat over the last half of its epochs
    return FormatFindings(
        epochs=float(e[-1]), markers_epochs=float(markers["epoch"].iloc[-1]), own_sections=own_s,
        markers_sections=_sections_at(markers, -1), own_at_markers_epochs=_sections_at(own, at), bt_sections=bt_s,
        gaps=gaps, tolerance=tolerance, regime=bool(level[-1]),
        own_drop=float(own["all"].iloc[-1] - own["other prompt"].iloc[-1]),
        bt_drop=float(bt["all"].iloc[-1] - bt["other prompt"].iloc[-1]),
        cell_h=float(1.96 * np.sqrt(0.25 / n_sec)),
        reasoning_diff=mean_ci(credit(np.asarray(own_p)[on]) - credit(np.asarray(bt_p)[on])),
        chat_per_doubling=per_doubling, epochs_to_regime=steps,
        first_level_epoch=None if first is None else float(own["epoch"].iloc[first]),
        chat_gap=mean_ci(credit(np.asarray(bt_p)[on_chat]) - credit(np.asarray(own_p)[on_chat])),
        chat_late=(float(late.min()), float(late.max())))
