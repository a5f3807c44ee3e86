"""Judging samples by the true reward: the lite world's ground truth (full mode plugs in a judge)."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from rlhf_lite.world.tasks import parse_prompt, response_length, true_reward

Judge = Callable[[str, str], float]


def score_records(records: Sequence[dict], judge: Judge | None = true_reward) -> list[dict]:
    """Add ``reward``, ``length`` (words), ``chars`` and ``family`` to sampled records. ``judge=None``
    (full mode: no true reward is known) leaves ``reward`` None and puts every prompt in family "chat"."""
    out = []
    for r in records:
        out.append({**r, "reward": None if judge is None else judge(r["prompt"], r["response"]),
                    "length": response_length(r["response"]), "chars": len(r["response"]),
                    "family": "chat" if judge is None else parse_prompt(r["prompt"]).family})
    return out


def mean_ci(values, z: float = 1.96, groups=None) -> tuple[float, float]:
    """Mean and the half-width of a normal-approximation 95% interval.

    ``groups`` (one label per value) marks values that are not independent, e.g. the several pairs
    formed from one prompt's samples: the interval then uses the cluster-robust (sandwich) variance,
    sum over groups of (sum of the group's residuals)^2 / N^2 * G / (G - 1), which widens it by about
    sqrt(group size) when a group's values move together and leaves it as it is when they do not."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("mean_ci of an empty sample.")
    if groups is None:
        half = z * v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
        return float(v.mean()), float(half)
    g = np.asarray(groups)
    if g.shape != v.shape:
        raise ValueError(f"mean_ci: {v.size} values but {g.size} group labels; give one label per value.")
    _, idx = np.unique(g, return_inverse=True)
    n_groups = idx.max() + 1
    if n_groups < 2:
        return float(v.mean()), float("nan")
    resid_sums = np.bincount(idx, weights=v - v.mean(), minlength=n_groups)
    var = (resid_sums ** 2).sum() / v.size ** 2 * n_groups / (n_groups - 1)
    return float(v.mean()), float(z * np.sqrt(var))


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion: unlike the normal one it has width at 0% and 100%
    (an accuracy of 300/300 is not exactly 1)."""
    if n <= 0:
        raise ValueError(f"wilson_interval needs n > 0 trials, got {n}.")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def summarise_by(records: Sequence[dict], key: str, value: str) -> dict[str, tuple[float, float, int]]:
    """{group: (mean, 95% half-width, count)} of ``value`` grouped by ``key``."""
    groups: dict[str, list[float]] = {}
    for r in records:
        groups.setdefault(r[key], []).append(r[value])
    return {g: (*mean_ci(v), len(v)) for g, v in sorted(groups.items())}


# Two-sided 95% quantiles of Student's t with df = 1..30 degrees of freedom (scipy.stats.t.ppf(0.975, df)),
# written out to avoid a SciPy dependency for one table; beyond 30 the normal 1.96 is close enough.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def seed_interval(values) -> tuple[float, float]:
    """Mean over independent runs (seeds) and the half-width of its 95% t interval: with 3 seeds the
    quantile is 4.30, not 1.96, because the spread itself is estimated from 3 numbers."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError(f"seed_interval needs at least 2 runs to estimate a spread, got {v.size}.")
    q = T975[v.size - 2] if v.size - 1 <= len(T975) else 1.96
    return float(v.mean()), float(q * v.std(ddof=1) / np.sqrt(v.size))


def compare(diff: float, half: float, above: str, below: str, level: str, *, unclear: str, resolution: float) -> str:
    """The words a summary uses for a difference, chosen by its numbers so the prose cannot contradict the
    table: ``above`` when the 95% interval ``diff`` ± ``half`` lies above zero, ``below`` when it lies below.
    An interval that includes zero says "level" only when it is narrow: ``level`` when it lies wholly
    within ± ``resolution`` (the smallest difference the chapter would call real, in the same units), so
    the seeds rule out any difference that matters; otherwise ``unclear`` (a wide interval, say ± 0.5 on a
    scale of 1, is not evidence that two things are level, only that these runs cannot tell them apart).
    Chapters glue the result (e.g. "closes more of the gap than")."""
    if not (math.isfinite(diff) and math.isfinite(half)) or half < 0:
        raise ValueError(f"compare needs a finite difference and a half-width >= 0, got {diff} and {half}.")
    if not (math.isfinite(resolution) and resolution > 0):
        raise ValueError(f"compare needs a resolution > 0 (the smallest difference that matters), got {resolution}.")
    if diff - half > 0:
        return above
    if diff + half < 0:
        return below
    return level if abs(diff) + half <= resolution else unclear
