"""From n scored samples per prompt to DPO pairs: the ranking step of the paper's Algorithm 2.

Each iteration the policy writes n responses per prompt, a proxy reward scores them (optionally with
the length penalty of eq. 9, r~(x, a) = r(x, a) - lambda |a| with |a| the number of *characters*),
and one pair per prompt is kept. The paper takes the best against the worst (Section 3.3); the
other rules are the ablations people try. A prompt is dropped when the two chosen responses are the
same text (the paper: "we also drop the pair where pi^1_t and pi^2_t give the same response") or
when their rewards tie, since neither carries a preference.

Why our own code: choosing a pair from scored samples is a few lines that no library provides in
this form; TRL's DPOTrainer takes the resulting pairs. Chapter: the iterative DPO chapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from rlhf_lite.data.schema import make_pair, message

PAIR_RULES = ("best-worst", "best-random", "best-second", "random")


def length_penalised(rewards, responses: Sequence[str], lam: float) -> np.ndarray:
    """r~ = r - lambda * |a|, with |a| the number of characters of the response (paper, eq. 9)."""
    r = np.asarray(rewards, dtype=float)
    if r.shape != (len(responses),):
        raise ValueError(f"length_penalised: {r.size} rewards for {len(responses)} responses.")
    if lam < 0:
        raise ValueError(f"length_penalised: lambda must be >= 0, got {lam} (a negative penalty rewards length).")
    return r - lam * np.array([len(a) for a in responses], dtype=float)


class Pick(NamedTuple):
    chosen: int
    rejected: int
    dropped: str | None  # None, or why the pair carries no preference: "identical" or "tied"


def select_pair(responses: Sequence[str], rewards, rule: str = "best-worst",
                rng: np.random.Generator | None = None) -> Pick:
    """Indices of the chosen and rejected response among one prompt's samples, and whether the pair must
    be dropped (same text, or tied rewards). Ties in rank are broken at random, so a rule never favours
    the sample that happened to be drawn first."""
    if rule not in PAIR_RULES:
        raise ValueError(f"unknown pair rule {rule!r}; choose one of {PAIR_RULES}.")
    r = np.asarray(rewards, dtype=float)
    n = len(responses)
    if r.shape != (n,):
        raise ValueError(f"select_pair: {r.size} rewards for {n} responses.")
    if n < 2:
        raise ValueError("select_pair needs at least two responses.")
    rng = rng or np.random.default_rng(0)
    order = np.lexsort((rng.random(n), -r))  # best first; equal rewards in random order
    best = int(order[0])
    if rule == "best-worst":
        other = int(order[-1])
    elif rule == "best-second":
        other = int(order[1])
    elif rule == "best-random":
        other = int(rng.choice([i for i in range(n) if i != best]))
    else:  # random: two distinct samples, the higher-scored one is chosen
        i, j = (int(v) for v in rng.choice(n, size=2, replace=False))
        best, other = (i, j) if r[i] >= r[j] else (j, i)
    reason = "identical" if responses[best] == responses[other] else "tied" if r[best] == r[other] else None
    return Pick(best, other, reason)


@dataclass
class PairReport:
    """What happened to each prompt's samples."""

    prompts: int = 0
    pairs: int = 0
    dropped: dict = field(default_factory=lambda: {"identical": 0, "tied": 0, "too few samples": 0})


def build_pairs(prompts: Sequence, samples: Sequence[Sequence[str]], rewards: Sequence, rule: str = "best-worst",
                lam: float = 0.0, seed: int = 0, source: str = "online") -> tuple[list[dict], PairReport]:
    """One DPO pair per prompt in the pair schema of ``rlhf_lite.data.schema``, from n samples and their proxy rewards.

    ``lam`` > 0 ranks by the length-penalised reward (eq. 9); the scores kept in the pair are the
    ones used for ranking. Prompts are strings or chat messages."""
    if not (len(prompts) == len(samples) == len(rewards)):
        raise ValueError(f"build_pairs: {len(prompts)} prompts, {len(samples)} sample lists and "
                         f"{len(rewards)} reward lists; give one of each per prompt.")
    rng = np.random.default_rng(seed)
    report, out = PairReport(prompts=len(prompts)), []
    for k, (x, resp, r) in enumerate(zip(prompts, samples, rewards)):
        score = length_penalised(r, resp, lam) if lam else np.asarray(r, dtype=float)
        if len(resp) < 2:
            report.dropped["too few samples"] += 1
            continue
        c, rj, reason = select_pair(resp, score, rule, rng)
        if reason:
            report.dropped[reason] += 1
            continue
        prompt = [message("user", x)] if isinstance(x, str) else list(x)
        out.append(make_pair(prompt, resp[c], resp[rj], source=source, prompt_id=str(k),
                             score_chosen=float(score[c]), score_rejected=float(score[rj])))
    report.pairs = len(out)
    return out, report


def orientation_flips(rewards: Sequence, samples: Sequence[Sequence[str]], lam: float) -> tuple[int, int]:
    """How many prompts the public repository's pair selection would train on the other way round: its
    ``prepare_data`` (choose_type "max_min_p") picks the two samples with the highest and lowest *penalised*
    reward but makes the one with the higher *raw* reward the chosen answer. Eq. 9 penalises the reward
    itself, so both the pick and the orientation follow the penalised reward (:func:`build_pairs`). Returns
    (prompts where the two orientations differ, prompts whose pick gives a pair): without a penalty, none."""
    flips = kept = 0
    for r, resp in zip(rewards, samples):
        raw = np.asarray(r, dtype=float)
        pen = length_penalised(raw, resp, lam)
        best, worst = int(np.argmax(pen)), int(np.argmin(pen))
        if resp[best] == resp[worst] or pen[best] == pen[worst]:
            continue
        kept += 1
        flips += bool(raw[best] < raw[worst])
    return flips, kept
