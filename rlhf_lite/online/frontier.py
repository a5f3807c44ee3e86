"""True win rate against KL(pi || pi_0): each arm's frontier, and arms compared at matched KL and at their peaks.

A policy's place is a point (KL to pi_0 per token, true win rate against pi_0), both from its own samples
(:func:`rlhf_lite.online.evaluate.summarise`). An arm (a recipe, with one seed) gives several points: pi_0
itself (0, 1/2), the loop's iterates, an offline run's checkpoints. Its frontier is the upper-left edge of its
points: the points that no point of lower KL beats, joined by straight lines, and level after the best one.
It reads as a budget: the highest win rate the arm reached with at most that much KL. A straight line between
two measured policies is reachable: the mixture that answers with the first policy with probability p and the
second otherwise has the interpolated win rate and, KL being convex, at most the interpolated KL; the level
part is the best policy itself, whose KL is lower. Beyond the largest KL an arm measured, its frontier is not
defined: comparisons there would be extrapolation.

Tang et al. (2024) compare online and offline alignment this way, so that an arm cannot look better by just
moving further from the reference; giving the offline arm several checkpoints (and settings) gives it its
best frontier. Why our own code: a few lines of numpy that no library offers in this form.
Chapter: why online beats offline.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rlhf_lite.stats import seed_interval


def front(points: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(KL, win rate) of the frontier's corners, by increasing KL: each point whose win rate is above that of
    every point with lower (or equal) KL. ``points``: dicts with "kl" and "win"."""
    if not points:
        raise ValueError("front: no points.")
    kl = np.array([p["kl"] for p in points], dtype=float)
    win = np.array([p["win"] for p in points], dtype=float)
    if not (np.isfinite(kl).all() and np.isfinite(win).all()):
        raise ValueError("front: every point needs a finite KL and win rate.")
    order = np.lexsort((-win, kl))  # by KL, the best first among equal KLs
    keep, best = [], -np.inf
    for i in order:
        if win[i] > best:
            keep.append(i)
            best = win[i]
    return kl[keep], win[keep]


def win_at_kl(points: Sequence[dict], kl: float) -> float:
    """The frontier's win rate at ``kl``: interpolated between the two corners around it, or the best corner's
    beyond it. NaN when ``kl`` lies outside the KLs the arm measured (below the smallest or above the largest):
    no extrapolation."""
    k, w = front(points)
    if kl < k[0] or kl > reach(points):
        return float("nan")
    return float(np.interp(kl, k, w))  # np.interp holds the last corner's value to its right


def reach(points: Sequence[dict]) -> float:
    """The largest KL the arm measured: where its frontier ends."""
    return float(max(p["kl"] for p in points))


def peak(points: Sequence[dict]) -> dict:
    """The arm's best point (highest win rate; the lower KL among equals)."""
    k, w = front(points)
    return {"kl": float(k[-1]), "win": float(w[-1])}


def matched(arms: dict[str, Sequence[Sequence[dict]]], a: str, b: str, kl: float) -> dict:
    """Arm ``a`` minus arm ``b`` at the same KL, paired by seed: ``arms[name][s]`` are seed s's points. Returns
    {"kl", "a", "b": (mean, half-width) of each arm's win rate there, "diff": (mean, half-width) of the paired
    differences, "per_seed": the differences}, 95% t intervals over seeds. Raises if ``kl`` is beyond the
    reach of either arm in some seed (no extrapolation)."""
    if len(arms[a]) != len(arms[b]):
        raise ValueError(f"matched: arm {a!r} has {len(arms[a])} seeds and arm {b!r} {len(arms[b])}; pair them by seed.")
    wa = np.array([win_at_kl(p, kl) for p in arms[a]])
    wb = np.array([win_at_kl(p, kl) for p in arms[b]])
    if np.isnan(wa).any() or np.isnan(wb).any():
        raise ValueError(f"matched: KL {kl:.3f} is beyond what {a!r} or {b!r} measured in some seed "
                         f"(reach {min(map(reach, arms[a])):.3f} and {min(map(reach, arms[b])):.3f}); compare at a "
                         f"smaller KL.")
    return {"kl": float(kl), "a": seed_interval(wa), "b": seed_interval(wb), "diff": seed_interval(wa - wb),
            "per_seed": (wa - wb).tolist()}


def common_reach(arms: dict[str, Sequence[Sequence[dict]]], names: Sequence[str]) -> float:
    """The largest KL every seed of every arm in ``names`` reaches: where they can all be compared."""
    return min(reach(p) for n in names for p in arms[n])


def peaks(arms: dict[str, Sequence[Sequence[dict]]], a: str, b: str) -> dict:
    """Each arm's peak win rate (its best point, whatever its KL), ``a`` minus ``b`` paired by seed. A peak is a
    maximum over points, so an arm with more points (a sweep, checkpoints) is favoured a little: the offline
    arms get that advantage here."""
    wa = np.array([peak(p)["win"] for p in arms[a]])
    wb = np.array([peak(p)["win"] for p in arms[b]])
    return {"a": seed_interval(wa), "b": seed_interval(wb), "diff": seed_interval(wa - wb), "per_seed": (wa - wb).tolist(),
            "kl_a": seed_interval([peak(p)["kl"] for p in arms[a]]), "kl_b": seed_interval([peak(p)["kl"] for p in arms[b]])}


def contrast(arms: dict[str, Sequence[Sequence[dict]]], a: str, b: str) -> dict:
    """Arm ``a`` against arm ``b``, paired by seed, at the largest KL both reach in every seed (interpolated
    between measured points, never beyond them) and at their peaks: {"kl": that KL, "matched": :func:`matched`
    there (None when some seed's frontier is pi_0 alone: KL 0, nothing to compare along KL), "peaks":
    :func:`peaks`, "both_at_peaks": every seed of both arms already level at its best point at that KL (then the
    matched comparison and the peaks' are the same numbers)}."""
    k = common_reach(arms, [a, b])
    m = matched(arms, a, b, k) if k > 0 else None
    level = m is not None and all(np.isclose(win_at_kl(p, k), peak(p)["win"]) for n in (a, b) for p in arms[n])
    return {"kl": float(k), "matched": m, "peaks": peaks(arms, a, b), "both_at_peaks": bool(level)}
