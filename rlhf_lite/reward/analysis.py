"""What the reward-modelling chapter reads from trained judges on pi_0's own samples: the on-policy pairs, how often a
judge agrees with r* on them, how well its probabilities are calibrated, and what it picks as best-of-n.

An analysis, not a stage: no stage imports it, so it is one of the modules the stages' cache keys leave out
(``io.PRESENTATION_MODULES``): editing it re-runs the chapter, never its training. Lite world only: it needs r*.
Why our own code: these are the book's own measurements of its judges against the truth.
Chapter: reward modelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rlhf_lite import world
from rlhf_lite.reward.rewardbench import credit
from rlhf_lite.stats import Interval, mean_ci, wilson_interval


@dataclass(frozen=True)
class OnPolicyPairs:
    """Every pair of the samples of each prompt (``prompt``, ``a1``, ``a2``; ``prompt_id`` the prompt's index),
    ``delta`` = r*(a1) - r*(a2), ``keep`` the pairs r* does not tie, and ``true_r`` {(prompt, answer): r*}."""

    prompt: list
    a1: list
    a2: list
    prompt_id: np.ndarray
    delta: np.ndarray
    true_r: dict

    @property
    def keep(self) -> np.ndarray:
        return self.delta != 0

    @property
    def groups(self) -> np.ndarray:
        """The prompt of each kept pair: pairs of one prompt share their samples, so intervals are clustered by it."""
        return self.prompt_id[self.keep]

    @property
    def first_better(self) -> np.ndarray:
        """1 where a1 is truly better, 0 where a2 is, over the kept pairs."""
        return (self.delta[self.keep] > 0).astype(float)


def onpolicy_pairs(prompts: Sequence[str], samples: Sequence[Sequence[dict]]) -> OnPolicyPairs:
    """Every pair (i < j) of each prompt's samples (rows of ``sample_responses``), scored by r*."""
    n = len(samples[0]) if samples else 0
    I, J = np.triu_indices(n, k=1)
    px, a1, a2, pid = [], [], [], []
    for k, (x, row) in enumerate(zip(prompts, samples)):
        if len(row) != n:
            raise ValueError(f"onpolicy_pairs: prompt {k} has {len(row)} samples, the first has {n}; give each the same.")
        for i, j in zip(I, J):
            px.append(x)
            pid.append(k)
            a1.append(row[i]["response"])
            a2.append(row[j]["response"])
    true_r = {(x, a): world.true_reward(x, a) for x, row in zip(prompts, samples) for a in (s["response"] for s in row)}
    delta = np.array([true_r[x, u] - true_r[x, v] for x, u, v in zip(px, a1, a2)])
    return OnPolicyPairs(px, a1, a2, np.array(pid), delta, true_r)


def judge_right(p, pairs: OnPolicyPairs) -> np.ndarray:
    """A judge's credit on each kept pair, from its P(a1 > a2) ``p`` over all pairs: whether r*'s better answer wins
    (a tie at exactly 0.5 counts a half, as RewardBench counts it)."""
    p, keep = np.asarray(p), pairs.keep  # in the judge's own dtype: 1 - p of a float32 p is computed in float32
    return credit(np.where(pairs.delta[keep] > 0, p[keep], 1 - p[keep]))


def agreement(p, pairs: OnPolicyPairs) -> Interval:
    """A judge's agreement with r* on the kept pairs, its interval clustered by prompt."""
    return mean_ci(judge_right(p, pairs), groups=pairs.groups)


def reliability(p, y, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean prediction, empirical frequency and count per bin of predicted probability ``p`` (empty bins left out;
    1.0 falls in the last bin), and the expected calibration error: the count-weighted mean distance between them."""
    p, y = np.asarray(p), np.asarray(y)  # the judge's own dtype: a float32 bin's mean is taken in float32
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    rows = [(p[idx == b].mean(), y[idx == b].mean(), int((idx == b).sum())) for b in range(bins) if (idx == b).any()]
    mp, fy, cnt = map(np.array, zip(*rows))
    return mp, fy, cnt, float((cnt * np.abs(mp - fy)).sum() / cnt.sum())


def pick_value(prompts: Sequence[str], samples: Sequence[Sequence[dict]], true_r: dict,
               rank_fn: Callable[[str, list], Sequence[float]], rng: np.random.Generator, best: bool = True) -> Interval:
    """Mean r* of the answer a judge ranks best (or worst) among each prompt's samples, with its interval over
    prompts. Ties are broken at random (``rng``: Copeland scores tie often, and argmax would always take the first
    sample, a temperature-1.0 one)."""
    vals = []
    for x, row in zip(prompts, samples):
        resp = [s["response"] for s in row]
        score = np.asarray(rank_fn(x, resp), dtype=float) + 1e-6 * rng.random(len(resp))
        k = int(np.argmax(score) if best else np.argmin(score))
        vals.append(true_r[x, resp[k]])
    return mean_ci(vals)


@dataclass(frozen=True)
class PMStudyFindings:
    """What the study of the preference model measured (chapter 4, "What the preference model needs"), for its
    sentences (``rlhf_lite.wording.pm_study_words``). From the curves of the book's preference model (``pm``) and
    BT model (``bt``) on MIX2 after each epoch: reasoning scores at the end, the share right when the shorter answer
    is right, the fall under another prompt (``*_drop``), the last epoch's change (``rising``), the gain from a third
    to all pairs (``more_pairs``) and from the small pi_0 to the book's (``bigger``); ``same_shown``: (a third of the
    pairs three times, all once) at as many pairs shown, or None; ``face``: reasoning credit on pairs whose wrong
    answer is wrong on its face against the rest; ``swap_reasoning``: reasoning under another prompt."""

    last_loss: float
    coin: float
    pm_reasoning: float
    bt_reasoning: float
    pm_shorter: float
    pm_drop: float
    bt_drop: float
    rising: float
    more_pairs: float
    bigger: float
    cell_h: float
    h2: float
    ratio: float
    same_shown: tuple | None
    pm_chats: list
    pm_chat: float
    bt_chat: float
    pm_face: tuple
    bt_face: tuple
    n_alone: int
    n_not_alone: int
    h_face: float
    pm_swap_reasoning: float
    bt_swap_reasoning: float

    @property
    def reads_less(self) -> bool:
        """Under another prompt its agreement falls clearly less than BT's: it does not read the prompt's content."""
        return reads_prompt_less(self.pm_drop, self.bt_drop, self.cell_h)


def reads_prompt_less(drop: float, bt_drop: float, cell_h: float) -> bool:
    """A judge's fall under another prompt (``drop``) is clearly less than BT's: by more than two section
    half-widths ``cell_h``. The one rule both studies of the preference model read."""
    return drop < bt_drop - 2 * cell_h


def pm_study_findings(curves: dict, metrics: dict, face: dict, swap: dict, alone, n_sec: int, book_params: int,
                      small_params: int) -> PMStudyFindings:
    """:class:`PMStudyFindings` from the study's ``curves`` ({run label: DataFrame of the probe's rows by epoch}), the
    reward stage's ``metrics``, the reasoning credit split by ``alone`` (pairs wrong on their face) in ``face``, the
    sections under another prompt in ``swap``, ``n_sec`` pairs per section and the two policies' sizes."""
    pm_c, bt_c = curves["preference, all pairs"], curves["BT, all pairs"]
    pm_r = float(pm_c["lite-reasoning"].iloc[-1])
    third, n_third, n_full = curves["preference, 1/3 of the pairs"], metrics["pm-mix2-33pc"]["pairs"], metrics["pm-mix2"]["pairs"]
    same = [k for k, e in enumerate(third["epoch"]) if abs(e * n_third - n_full) <= 0.01 * n_full]  # as many shown
    alone = np.asarray(alone)
    return PMStudyFindings(
        last_loss=float(np.mean([h["loss"] for h in metrics["pm-mix2"]["log_history"][-3:]])),  # the last 3 logged
        coin=float(np.log(2) / 2),  # the loss is the mean over the label and the end token, which costs nothing
        pm_reasoning=pm_r, bt_reasoning=float(bt_c["lite-reasoning"].iloc[-1]),
        pm_shorter=float(pm_c["shorter better"].iloc[-1]),
        pm_drop=float(pm_c["all"].iloc[-1] - pm_c["other prompt"].iloc[-1]),
        bt_drop=float(bt_c["all"].iloc[-1] - bt_c["other prompt"].iloc[-1]),
        rising=float(pm_c["lite-reasoning"].iloc[-1] - pm_c["lite-reasoning"].iloc[-2]) if len(pm_c) > 1 else 0.0,
        more_pairs=float(pm_r - third["lite-reasoning"].iloc[-1]),
        bigger=float(pm_r - curves["preference, small pi_0"]["lite-reasoning"].iloc[-1]),
        cell_h=float(1.96 * np.sqrt(0.25 / n_sec)),  # the widest 95% half-width of one section's share (at 0.5)
        h2=float(1.96 * np.sqrt(2 * 0.25 / n_sec)),  # two sections' shares apart, at their widest (not paired)
        ratio=book_params / small_params,
        same_shown=(float(third["lite-reasoning"].iloc[same[0]]), float(pm_c["lite-reasoning"].iloc[0])) if same else None,
        pm_chats=[float(c["lite-chat"].iloc[-1]) for label, c in curves.items() if label.startswith("preference")],
        pm_chat=float(pm_c["lite-chat"].iloc[-1]), bt_chat=float(bt_c["lite-chat"].iloc[-1]),
        pm_face=face["preference, all pairs"], bt_face=face["BT, all pairs"],
        n_alone=int(alone.sum()), n_not_alone=int((~alone).sum()),
        h_face=float(1.96 * np.sqrt(0.25 / max(1, min(alone.sum(), (~alone).sum())))),  # the wider group's interval
        pm_swap_reasoning=swap["preference, all pairs"]["reasoning"], bt_swap_reasoning=swap["BT, all pairs"]["reasoning"])


# The paper's Table 1 (RewardBench accuracy, %, chat / chat-hard / safety / reasoning), quoted; its MIX1 row is
# UltraRM-13B (LLaMA-2-13B) and its prompting row LLaMA-3-8B-it asked the question.
PAPER_TABLE1 = {"prompting (pi_0)": (93.6, 44.3, 71.3, 73.5), "BT, MIX1": (96.4, 55.5, 55.0, 62.4),
                "BT, MIX2": (99.4, 65.1, 87.8, 86.4), "preference, MIX2": (98.3, 65.8, 89.7, 94.7)}
SECTIONS = ("chat", "chat-hard", "safety", "reasoning")


def section_intervals(table, n: int):
    """95% Wilson intervals (low, high), in points, of a table of section accuracies in % ({judge: {section: %}},
    a pandas DataFrame) over ``n`` pairs a section: a normal interval has no width at 0% or 100%. Ties count as
    half a success, so the count of successes is rounded."""
    import pandas as pd

    wilson = {name: {c: wilson_interval(round(v / 100 * n), n) for c, v in row.items()} for name, row in table.iterrows()}
    lo = pd.DataFrame({k: {c: w[0] for c, w in r.items()} for k, r in wilson.items()}).T * 100
    hi = pd.DataFrame({k: {c: w[1] for c, w in r.items()} for k, r in wilson.items()}).T * 100
    return lo, hi


def sections_apart(lo, hi, a: str, b: str) -> list:
    """The sections where judge ``a`` is clearly above judge ``b``: its interval's low end above ``b``'s high end."""
    return [c for c in lo.columns if lo.loc[a, c] > hi.loc[b, c]]


def padded_pairs(n: int, world_cfg, rng: np.random.Generator) -> tuple[list, list, list]:
    """``n`` prompts of the safe families with their right answer twice: bare and wrapped in filler. r* gives the
    two the same reward; a judge that prefers the padded copy has a taste for padding. Returns (prompts, padded,
    bare)."""
    xs, padded, bare = [], [], []
    for _ in range(n):
        x = world.sample_prompt(rng, world_cfg, world.SAFE_FAMILIES[int(rng.integers(len(world.SAFE_FAMILIES)))])
        t = world.parse_prompt(x).target
        xs.append(x)
        bare.append(world.render(t, rng, verbose=False))
        padded.append(world.render(t, rng, verbose=True))
    return xs, padded, bare


def ends_in_filler(rows) -> np.ndarray:
    """Whether each benchmark row's rejected answer ends in a filler phrase ("hope that helps", "done", ...)."""
    return np.array([r["rejected"].split()[-1] in {p[-1] for p in world.FILLER_SUFFIXES} for r in rows])


@dataclass(frozen=True)
class EchoTriples:
    """Prompts of one family with three answers each: the echo (the prompt's own words: wrong, or a compliance), a
    near miss (as wrong, no echo: the control) and the right answer."""

    prompts: list
    echo: list
    near: list
    right: list


def echo_triples(family: str, n: int, world_cfg, rng: np.random.Generator) -> EchoTriples:
    """``n`` prompts of ``family`` whose echo is wrong and differs from the near miss (others are drawn again)."""
    ex, echo, near, right = [], [], [], []
    while len(ex) < n:
        x = world.sample_prompt(rng, world_cfg, family)
        args, target = x.split()[1:-1], world.parse_prompt(x).target
        miss = world.near_miss(tuple(args) if family == "unsafe" else target, rng)
        if list(target) == args or list(miss) == args:  # the echo must be wrong, and differ from the near miss
            continue
        ex.append(x)
        echo.append(world.render(tuple(args), rng, verbose=False))
        near.append(world.render(miss, rng, verbose=False))
        right.append(world.render(target, rng, verbose=False))
    return EchoTriples(ex, echo, near, right)


def under_other_prompts(judge, rows, seed: int, sections: Sequence[str] = ("chat", "safety", "reasoning")) -> dict:
    """The share of benchmark ``rows`` a judge gets right, by section, when each pair is asked under another prompt
    of its section (:func:`~rlhf_lite.reward.pm_study.other_prompts`): a judge that reads the answers against their
    prompt falls towards chance; one that reads the answers alone does not notice."""
    from rlhf_lite.reward.pm_study import other_prompts

    got = credit(judge.prob_first(other_prompts(rows, seed=seed), [r["chosen"] for r in rows], [r["rejected"] for r in rows]))
    return {s: float(got[[r["subset"] == f"lite-{s}" for r in rows]].mean()) for s in sections}


def wrong_on_its_face(row: dict) -> bool:
    """A reasoning pair whose wrong answer is wrong without its prompt: a `sort` answer that is not a sorted list of
    numbers. (A wrong sum, or a list sorted but of the wrong numbers, needs the prompt.)"""
    c = world.content_tokens(row["rejected"])
    return world.parse_prompt(row["prompt"]).family == "sort" and (
        not all(w.isdigit() for w in c) or [int(w) for w in c] != sorted(int(w) for w in c))


def reasoning_by_face(p, rows) -> tuple[float, float, np.ndarray]:
    """A judge's share right on the reasoning rows of ``rows`` (its probabilities ``p``, one per row), split into the
    pairs wrong on their face (:func:`wrong_on_its_face`) and the others: (on its face, needs the prompt, the mask
    over the reasoning rows)."""
    on_r = [k for k, r in enumerate(rows) if r["subset"] == "lite-reasoning"]
    alone = np.array([wrong_on_its_face(rows[k]) for k in on_r], dtype=bool)
    got = credit(np.asarray(p)[on_r])
    return float(got[alone].mean()), float(got[~alone].mean()), alone
