"""The page-side fits and figures (rlhf_lite/plots.py): the over-optimisation law and the forest plot."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from rlhf_lite.plots import forest_plot
from rlhf_lite.stats import gao_curve, gao_fit


def _planted(alpha, beta, runs=6, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    kl = np.tile(np.array([0.0, 0.5, 1.5, 3.0, 6.0, 10.0]), runs)
    d = np.sqrt(kl)
    dlogd = np.where(d > 0, d * np.log(np.where(d > 0, d, 1)), 0)
    gain = alpha * d - beta * dlogd + rng.normal(0, noise, kl.size)
    return kl, gain, np.repeat(np.arange(runs), 6)


def test_gao_fit_recovers_a_planted_curve_and_its_peak():
    kl, gain, groups = _planted(0.3, 0.25)
    fit = gao_fit(kl, gain, groups, n_boot=300)
    assert fit["alpha"] == pytest.approx(0.3, abs=0.02) and fit["beta"] == pytest.approx(0.25, abs=0.02)
    d_star = np.exp(0.3 / 0.25 - 1)  # the peak of d(alpha - beta log d)
    assert fit["kl_peak"] == pytest.approx(d_star ** 2, rel=0.1)
    assert fit["gain_peak"] == pytest.approx(0.25 * d_star, rel=0.1)
    lo, hi = fit["kl_peak_ci95"]
    assert lo < d_star ** 2 < hi and fit["share_turning_down"] > 0.99 and fit["peak_inside_data"]
    assert fit["peak_claimed"]  # the whole interval is inside the data (KL up to 25)
    assert fit["runs"] == 6 and fit["points"] == 36
    x, y = gao_curve(fit, 10.0)
    assert x[np.argmax(y)] == pytest.approx(fit["kl_peak"], abs=0.1)
    assert x[0] == 0 and x[-1] == pytest.approx(10.0) and np.allclose(np.diff(np.sqrt(x)), np.sqrt(10.0) / 299)
    # the same curve measured only up to a KL below its peak: it may turn down, but no peak is claimed
    near = kl < 0.5 * d_star ** 2
    short = gao_fit(kl[near], gain[near], groups[near], n_boot=300)
    assert not short["peak_claimed"]


def test_gao_fit_claims_no_peak_for_a_curve_that_keeps_rising():
    kl, gain, groups = _planted(0.3, -0.05)
    fit = gao_fit(kl, gain, groups, n_boot=300)
    assert fit["beta"] < 0 and fit["kl_peak"] == float("inf") and not fit["peak_inside_data"]
    assert not fit["peak_claimed"]
    assert fit["share_turning_down"] < 0.05
    with pytest.raises(ValueError, match="one label per point"):
        gao_fit(kl, gain, groups[:-1])
    with pytest.raises(ValueError, match=">= 3"):
        gao_fit(kl[:2], gain[:2])


def test_forest_plot_draws_one_row_per_comparison_with_its_seeds():
    rows = {"gold - offline": [0.05, 0.06, 0.04], "BT - offline": [-0.05, 0.02, 0.01]}
    ivals = {"gold - offline": (0.05, 0.02), "BT - offline": (-0.007, 0.09)}
    fig = forest_plot(rows, ivals, "win rate difference")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["BT - offline", "gold - offline"]  # first on top
    assert sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")) >= 6  # every seed drawn
    with pytest.raises(ValueError, match="only in one"):
        forest_plot(rows, {"gold - offline": (0.05, 0.02)}, "x")


def test_the_chapters_figures_draw_what_they_are_given():
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from rlhf_lite.plots import iteration_panels, per_seed_panels, pm_study_figure

    keys = ("win_rate", "reward", "length", "kl", "proxy_win_rate")
    summary = lambda v: {k: (v, 0.01) for k in keys}  # noqa: E731
    fig = iteration_panels({"a": [summary(0.5), summary(0.6)], "b": [summary(0.5), summary(0.55)]}, summary(0.52),
                           0.8, {"a": "C0", "b": "C1"}, emphasise="a")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["true win rate vs $\\pi_0$", "mean $r^*$"]
    assert len(fig.axes[0].lines) == 4  # two recipes, offline DPO and the ceiling
    fig = per_seed_panels({"a": [[1, 0.5, 0.2], [1, 0.9, 0.8]]}, {"a": "C0"}, "r*", ylim=(0, 1))
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_ylim() == (0, 1)
    curve = pd.DataFrame({"epoch": [1, 2], "lite-reasoning": [0.6, 0.7], "longer better": [0.8, 0.9],
                          "shorter better": [0.4, 0.5], "all": [0.7, 0.8], "other prompt": [0.6, 0.6]})
    labels = ["preference, all pairs", "preference, 1/3 of the pairs", "preference, small pi_0", "BT, all pairs",
              "BT, small pi_0"]
    fig = pm_study_figure({k: curve for k in labels}, {k: 3000 for k in labels})
    assert len(fig.axes) == 3 and fig.axes[2].get_title() == "after training: own or another prompt"
