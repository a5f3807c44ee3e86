"""The book's interval maths in one place: means with their 95% intervals, differences paired by unit, and the rule
that reads an interval against a line (zero, or a tie at 0.5).

Every chapter, the scorecard's claims and the plots use these, so a verdict cannot be worded one way on a page and
another way in the scorecard. The module sits at the bottom of the package (it imports numpy only).

- ``Interval``: a mean and the half-width of its 95% interval (a tuple: ``m, h = seed_interval(v)`` still works).
- ``mean_ci``: many independent values (pairs, prompts), normal quantile, optionally clustered by group.
- ``seed_interval``: few independent runs (seeds, bandits), Student's t quantile (4.30 for 3 runs).
- ``paired``: the interval of a unit-by-unit difference (the same seeds in two arms).
- ``wilson_interval``, ``binomial_half``, ``quad``: shares of n trials, and half-widths of disjoint samples.
- ``side`` and ``compare``: which side of a line an interval lies on, and the words a summary uses for it.
- ``share_of_gain``, ``largest_fall``: two summaries more than one chapter reads from a curve;
- ``gao_fit``, ``gao_curve``: the over-optimisation law of Gao et al. (2023), d(alpha - beta log d) with d = sqrt(KL),
  a two-parameter least-squares fit (numpy's lstsq) with a bootstrap interval of its peak over runs.

Why our own code: SciPy's ``t.interval`` would do the t quantile, but the book needs one table of 29 numbers, a
cluster-robust variance for pairs drawn from one prompt, and the verdict rule, which no library words for us.
"""

from __future__ import annotations

import math
from typing import Literal, Mapping, NamedTuple, Sequence

import numpy as np

Side = Literal["above", "below", "includes"]


class Interval(NamedTuple):
    """A mean and the half-width of its 95% interval (NaN: none, e.g. one run)."""

    mean: float
    half: float

    @property
    def lo(self) -> float:
        return self.mean - self.half

    @property
    def hi(self) -> float:
        return self.mean + self.half

    def side(self, at: float = 0.0) -> Side:
        return side(self.mean, self.half, at)

    def to_json(self) -> dict:
        """``{"mean": m, "ci95": h}``, the shape every chapter's results file uses for an interval."""
        return {"mean": self.mean, "ci95": self.half}


def mean_ci(values, z: float = 1.96, groups=None) -> Interval:
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
        return Interval(float(v.mean()), float(half))
    g = np.asarray(groups)
    if g.shape != v.shape:
        raise ValueError(f"mean_ci: {v.size} values but {g.size} group labels; give one label per value.")
    _, idx = np.unique(g, return_inverse=True)
    n_groups = idx.max() + 1
    if n_groups < 2:
        return Interval(float(v.mean()), float("nan"))
    resid_sums = np.bincount(idx, weights=v - v.mean(), minlength=n_groups)
    var = (resid_sums ** 2).sum() / v.size ** 2 * n_groups / (n_groups - 1)
    return Interval(float(v.mean()), float(z * np.sqrt(var)))


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (low, high) for a proportion: unlike the normal one it has width at 0% and 100%
    (an accuracy of 300/300 is not exactly 1)."""
    if n <= 0:
        raise ValueError(f"wilson_interval needs n > 0 trials, got {n}.")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


# Two-sided 95% quantiles of Student's t with df = 1..30 degrees of freedom (scipy.stats.t.ppf(0.975, df)),
# written out to avoid a SciPy dependency for one table; beyond 30 the normal 1.96 is close enough.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def seed_interval(values) -> Interval:
    """Mean over independent runs (seeds) and the half-width of its 95% t interval: with 3 seeds the
    quantile is 4.30, not 1.96, because the spread itself is estimated from 3 numbers."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError(f"seed_interval needs at least 2 runs to estimate a spread, got {v.size}.")
    q = T975[v.size - 2] if v.size - 1 <= len(T975) else 1.96
    return Interval(float(v.mean()), float(q * v.std(ddof=1) / np.sqrt(v.size)))


def paired(a: Sequence[float], b: Sequence[float]) -> Interval:
    """``a - b`` unit by unit (the same seeds, bandits or prompts in both), as a t interval over the units: the
    variation the two arms share cancels, which is why a paired interval is narrower than two separate ones."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired: {a.size} values against {b.size}; a paired difference needs the same units "
                         "(seeds, bandits, prompts) in the same order on both sides.")
    return seed_interval(a - b)


def quad(*half_widths: float) -> float:
    """Half-widths of independent (disjoint) samples combined in quadrature: the half-width of their difference."""
    return math.sqrt(sum(h * h for h in half_widths))


def binomial_half(p: float, n: int, z: float = 1.96) -> float:
    """Normal-approximation 95% half-width of a share ``p`` of ``n`` independent trials."""
    if n <= 0:
        raise ValueError(f"binomial_half needs n > 0 trials, got {n}.")
    return z * math.sqrt(max(p * (1 - p), 0.0) / n)


def side(mean: float, half: float, at: float = 0.0) -> Side:
    """Where the 95% interval ``mean`` ± ``half`` lies against the line ``at`` (zero for a difference, 0.5 for a win
    rate against pi_0): wholly "above", wholly "below", or it "includes" the line. The book's one rule: a point
    estimate inside an interval that includes the line decides nothing. A missing half-width (NaN: one run)
    includes every line."""
    if not math.isfinite(mean):
        raise ValueError(f"side needs a finite mean, got {mean}.")
    if not math.isfinite(half):
        return "includes"
    if half < 0:
        raise ValueError(f"side: a half-width must be >= 0, got {half}.")
    return "above" if mean - half > at else "below" if mean + half < at else "includes"


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
    s = side(diff, half)
    if s != "includes":
        return above if s == "above" else below
    return level if abs(diff) + half <= resolution else unclear


def share_of_gain(value, start: float, best: float):
    """How much of the possible gain from ``start`` to ``best`` a ``value`` (or an array of values) reached: 0 at the
    start, 1 at the best (a win rate's ceiling, the optimum's value)."""
    if not math.isfinite(best - start) or best == start:
        raise ValueError(f"share_of_gain: the best ({best}) must differ from the start ({start}); there is no gain "
                         "to share.")
    if np.ndim(value):
        return (np.asarray(value, dtype=float) - start) / (best - start)
    return (value - start) / (best - start)


def largest_fall(values: Sequence[float]) -> tuple[float, int]:
    """The largest drop between consecutive values of a curve (> 0 is a fall; <= 0 means it never fell) and the
    index it fell into: ``largest_fall([1, .9, .2, .3]) == (.7, 2)``."""
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError(f"largest_fall needs a curve of at least 2 points, got {v.size}.")
    drops = v[:-1] - v[1:]
    i = int(np.argmax(drops))
    return float(drops[i]), i + 1


# --- Gao et al.'s law of over-optimisation, fitted with a bootstrap interval of its peak ---

def _design(kl: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.clip(kl, 0.0, None))  # sampled KL estimates can be a hair below zero
    with np.errstate(divide="ignore", invalid="ignore"):
        dlogd = np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0)  # d log d -> 0 as d -> 0
    return np.column_stack([d, -dlogd])


def _fit(kl: np.ndarray, gain: np.ndarray) -> tuple[float, float]:
    coef, *_ = np.linalg.lstsq(_design(kl), gain, rcond=None)
    return float(coef[0]), float(coef[1])


def _peak(alpha: float, beta: float) -> tuple[float, float]:
    """KL and gain at the top of d(alpha - beta log d): d* = exp(alpha/beta - 1), gain = beta d*."""
    if beta <= 0:
        return float("inf"), float("inf")
    d = float(np.exp(min(alpha / beta - 1.0, 50.0)))
    return d * d, beta * d


def gao_fit(kl, gain, groups=None, n_boot: int = 2000, seed: int = 0) -> dict:
    """Fit gain = d (alpha - beta log d), d = sqrt(KL), the best-of-n law of Gao et al. (2023), by least
    squares, and bootstrap it by resampling whole runs (``groups``: one label per point; a run's iterates
    are not independent) or points when no groups are given.

    Returns alpha, beta, the fitted peak (KL and gain; infinite when beta <= 0, a curve that never turns
    down), the bootstrap 95% interval of the peak's KL, the share of bootstrap fits that turn down at all
    (beta > 0), whether the fitted peak lies inside the measured range of KL, and ``peak_claimed``: the rule a
    page follows before it names a peak, that at least 97.5% of the refits turn down and the whole 95% interval
    lies inside the measured KL (a fit cannot say where a curve turns beyond its points)."""
    kl, gain = np.asarray(kl, dtype=float), np.asarray(gain, dtype=float)
    if kl.shape != gain.shape or kl.ndim != 1 or kl.size < 3:
        raise ValueError(f"gao_fit needs two 1-d arrays of one length >= 3, got {kl.shape} and {gain.shape}.")
    groups = np.arange(kl.size) if groups is None else np.asarray(groups)
    if groups.shape != kl.shape:
        raise ValueError(f"gao_fit: groups must give one label per point, got {groups.shape} for {kl.shape}.")
    alpha, beta = _fit(kl, gain)
    kl_peak, gain_peak = _peak(alpha, beta)
    rng = np.random.default_rng(seed)
    labels = np.unique(groups)
    index = {g: np.flatnonzero(groups == g) for g in labels}
    peaks, turns = [], 0
    for _ in range(n_boot):
        take = np.concatenate([index[g] for g in rng.choice(labels, size=labels.size, replace=True)])
        a, b = _fit(kl[take], gain[take])
        turns += b > 0
        peaks.append(_peak(a, b)[0])
    # inverted_cdf picks sample values, so a few refits without a peak (infinite KL) do not poison the interval
    lo, hi = np.percentile(np.array(peaks), [2.5, 97.5], method="inverted_cdf")
    claimed = bool(turns / n_boot >= 0.975 and np.isfinite(hi) and hi <= kl.max())
    return {"alpha": alpha, "beta": beta, "kl_peak": kl_peak, "gain_peak": gain_peak,
            "kl_peak_ci95": (float(lo), float(hi)), "share_turning_down": turns / n_boot,
            "peak_inside_data": bool(np.isfinite(kl_peak) and kl_peak <= kl.max()), "max_kl": float(kl.max()),
            "peak_claimed": claimed, "points": int(kl.size), "runs": int(labels.size)}


def gao_curve(fit: Mapping, kl_max: float, num: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """The fitted curve on [0, kl_max], for plotting: points in even steps of d = sqrt(KL), so it is smooth on
    the square-root KL axis the over-optimisation figures use (even steps in KL leave its start jagged)."""
    kl = np.linspace(0.0, np.sqrt(max(kl_max, 0.0)), num) ** 2
    return kl, _design(kl) @ np.array([fit["alpha"], fit["beta"]])
