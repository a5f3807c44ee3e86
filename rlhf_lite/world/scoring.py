"""Judging samples by the true reward: the lite world's ground truth (full mode plugs in a judge). The intervals
every chapter reports are in :mod:`rlhf_lite.stats`."""

from __future__ import annotations

from typing import Callable, Sequence

from rlhf_lite.stats import mean_ci
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


def summarise_by(records: Sequence[dict], key: str, value: str) -> dict[str, tuple[float, float, int]]:
    """{group: (mean, 95% half-width, count)} of ``value`` grouped by ``key``."""
    groups: dict[str, list[float]] = {}
    for r in records:
        groups.setdefault(r[key], []).append(r[value])
    return {g: (*mean_ci(v), len(v)) for g, v in sorted(groups.items())}
