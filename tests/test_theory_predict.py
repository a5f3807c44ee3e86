"""The bandit's prediction for the exploration chapter: its arms are the theory chapter's runs, paired by bandit."""

import dataclasses

import numpy as np
import pytest

from rlhf_lite import theory as T
from rlhf_lite.config import Config
from rlhf_lite.theory.predict import OFFLINE_BT, bandit_for, contrast, gap_closed

TH = dataclasses.replace(Config.preset("ci").theory, seeds=2, iterations=3, batch=100)


def test_gap_closed_is_the_theory_chapters_run_for_each_arm_and_bandit():
    arms = {"best vs worst": dict(explore="best-worst", rank_by="oracle"), "random pairs": dict(explore="none"),
            "bt": dict(explore="best-worst", rank_by=OFFLINE_BT)}
    shares = gap_closed(TH, arms, seed=7)
    assert {k: v.shape for k, v in shares.items()} == {k: (2, 4) for k in arms}
    b = bandit_for(TH, 8)  # the second bandit, by hand
    j0, js = T.value(b.pi0, b), T.optimal_value(b)
    hist = T.run_online(b, TH.iterations, TH.batch, np.random.default_rng(1001), explore="none", n=TH.best_of,
                        bonus=TH.bonus, l2=TH.l2)
    assert shares["random pairs"][1] == pytest.approx((np.array(hist) - j0) / (js - j0))
    assert (shares["best vs worst"][:, 0] == 0).all()  # every run starts at pi_0
    d = contrast(shares, "best vs worst", "random pairs")
    assert d.mean == pytest.approx(np.mean(shares["best vs worst"][:, -1] - shares["random pairs"][:, -1]))
    with pytest.raises(ValueError, match="no arms"):
        gap_closed(TH, {})
