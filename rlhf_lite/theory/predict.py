"""What the tabular bandit predicts for a contrast the loop measures (the exploration chapter): the share of the
gap J(pi*) - J(pi_0) that online runs with different ways of making the pair close, over independent bandits.

Each arm of one bandit draws from the same random stream (common random numbers, as the theory chapter does), so
two arms are compared pair by bandit with a t interval. Why our own code: a loop over :func:`run_online` that no
library offers; the bandit and its learning are in ``bandit.py`` and ``learning.py``.
"""

from __future__ import annotations

import numpy as np

from rlhf_lite.stats import Interval, seed_interval
from rlhf_lite.theory.bandit import make_bandit, optimal_value, value
from rlhf_lite.theory.learning import offline_reward_model, run_online

OFFLINE_BT = "offline-bt"  # rank_by: the BT fit on offline pairs from pi_0 (the paper's judge, trained beforehand)


def bandit_for(th, seed: int):
    """The theory chapter's bandit of ``seed`` under settings ``th`` (config.TheorySettings)."""
    return make_bandit(th.prompts, th.responses, th.eta, seed=seed, reward_scale=th.reward_scale, best_gap=th.best_gap)


def gap_closed(th, arms: dict[str, dict], seed: int = 0) -> dict[str, np.ndarray]:
    """{arm: the share of the gap closed after each iteration, one row per bandit (``th.seeds`` of them, seeds
    ``seed``, ``seed`` + 1, ...)}. ``arms``: name -> :func:`run_online` keyword arguments; ``rank_by`` may be
    :data:`OFFLINE_BT`, the BT fit on ``th.iterations * th.batch`` offline pairs from pi_0 of that bandit."""
    if not arms:
        raise ValueError("gap_closed: no arms to run.")
    out = {name: [] for name in arms}
    for s in range(th.seeds):
        b = bandit_for(th, seed + s)
        j0, js = value(b.pi0, b), optimal_value(b)
        rm = None
        for name, how in arms.items():
            how = dict(how)
            if isinstance(how.get("rank_by"), str) and how["rank_by"] == OFFLINE_BT:
                if rm is None:  # the same offline model for every arm of this bandit
                    rm = offline_reward_model(b, th.iterations * th.batch, np.random.default_rng(3000 + s))
                how["rank_by"] = rm
            hist = run_online(b, th.iterations, th.batch, np.random.default_rng(1000 + s), n=th.best_of,
                              bonus=th.bonus, l2=th.l2, **how)
            out[name].append((np.array(hist) - j0) / (js - j0))
    return {name: np.array(v) for name, v in out.items()}


def contrast(shares: dict[str, np.ndarray], a: str, b: str) -> Interval:
    """Arm ``a`` minus arm ``b`` at the last iteration, paired by bandit: (mean, 95% t half-width)."""
    return seed_interval(shares[a][:, -1] - shares[b][:, -1])
