"""Judging samples by the true reward: the lite world's ground truth (full mode plugs in a judge)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .world import parse_prompt, response_length, true_reward

Judge = Callable[[str, str], float]


def score_records(records: Sequence[dict], judge: Judge = true_reward) -> list[dict]:
    """Add ``reward``, ``length`` (words), ``chars`` and ``family`` to sampled records."""
    out = []
    for r in records:
        out.append({**r, "reward": judge(r["prompt"], r["response"]), "length": response_length(r["response"]),
                    "chars": len(r["response"]), "family": parse_prompt(r["prompt"]).family})
    return out


def mean_ci(values, z: float = 1.96) -> tuple[float, float]:
    """Mean and the half-width of a normal-approximation 95% interval."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("mean_ci of an empty sample.")
    half = z * v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
    return float(v.mean()), float(half)


def summarise_by(records: Sequence[dict], key: str, value: str) -> dict[str, tuple[float, float, int]]:
    """{group: (mean, 95% half-width, count)} of ``value`` grouped by ``key``."""
    groups: dict[str, list[float]] = {}
    for r in records:
        groups.setdefault(r[key], []).append(r[value])
    return {g: (*mean_ci(v), len(v)) for g, v in sorted(groups.items())}
