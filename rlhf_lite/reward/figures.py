"""The reward-modelling chapter's own figures: the models' training curves, the lite Table 1 as bars with their
intervals, calibration on pi_0's own pairs, and section 4.1's sections against epochs in two formats. (Figures more than one chapter draws live in ``plots.py``.)

Like ``analysis.py``, not a stage: no stage imports it (``io.PRESENTATION_MODULES``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from rlhf_lite.reward.analysis import reliability


def training_curves(metrics: dict, skip: Sequence[str] = ()):
    """Each model's training loss against epoch from its trainer's log (``{name: {"log_history": [...]}}``), BT
    models on the left with log 2 (a coin flip) dotted, preference models (names starting "pm") on the right on a
    log scale; models named in ``skip`` are left out. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, (ax_bt, ax_pm) = plt.subplots(1, 2, figsize=(7.4, 3.2))  # read at the column's width
    for name, m in metrics.items():
        if name in skip:
            continue
        h = m["log_history"]
        ax = ax_pm if name.startswith("pm") else ax_bt
        ax.plot([e["epoch"] for e in h], [e["loss"] for e in h], label=name)
    ax_bt.axhline(np.log(2), color="grey", ls=":", lw=1)
    ax_bt.set_title("BT models (dotted: log 2, a coin flip)", fontsize=10)
    ax_pm.set_title("preference model (label + end token)", fontsize=10)
    ax_pm.set_yscale("log")
    for ax in (ax_bt, ax_pm):
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=9, loc="upper right")  # where the falling curves are not
    fig.tight_layout()
    return fig


def section_bars(table, lo, hi):
    """The lite RewardBench: one group of bars per section, one bar per judge (``table``: judges x sections, in %),
    with the 95% intervals ``lo``/``hi`` (same shape) as error bars and chance (50%) dotted. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 4))  # read at the column's width
    width, n = 0.8 / len(table), len(table.columns)
    for k, (name, row) in enumerate(table.iterrows()):
        err = np.vstack([row.values - lo.loc[name].values, hi.loc[name].values - row.values]).clip(min=0)
        ax.bar(np.arange(n) + k * width, row.values, width, yerr=err, label=name, capsize=2)
    ax.axhline(50, color="grey", ls=":", lw=1)
    ax.set_xticks(np.arange(n) + width * (len(table) - 1) / 2, table.columns)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=9, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    ax.set_title("Lite RewardBench (95% intervals; dotted: chance)")
    fig.tight_layout()
    return fig


def calibration(probs: dict, y_true, min_pairs: int = 10):
    """Reliability curves of judges' probabilities ``{name: P(a1 > a2) on the kept pairs}`` against ``y_true`` (1 where
    a1 is truly better), bins with fewer than ``min_pairs`` pairs not drawn (noise), the diagonal dotted. Returns
    (figure, {name: expected calibration error})."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    ece = {}
    for name, p in probs.items():
        mp, fy, cnt, ece[name] = reliability(p, y_true)
        shown = cnt >= min_pairs
        ax.plot(mp[shown], fy[shown], marker="o", ms=3, label=f"{name} (ECE {ece[name]:.2f})")
    ax.set_xlabel(r"predicted $\hat P(a^1 \succ a^2)$")
    ax.set_ylabel(r"fraction with $r^*(a^1) > r^*(a^2)$")
    ax.legend(fontsize=7)
    ax.set_title("Calibration on on-policy pairs")
    fig.tight_layout()
    return fig, ece


def pm_format_figure(curves: Mapping, bt_label: str, tolerance: float = 0.03):
    """Issue 41's figure: each lite RewardBench section against epochs for the preference models in two formats and
    BT, all on the same pairs, with BT's last score and the band ``tolerance`` below it that counts as level (the
    paper's preference model is level with its BT on chat and safety). ``curves`` {run label: DataFrame of the
    probe's rows by epoch}, ``bt_label`` the BT run's label. A 2 x 2 grid to read at the column's width."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(7.2, 6.2), sharex=True, sharey=True)
    for ax, sec in zip(axes.flat, ("chat", "chat-hard", "safety", "reasoning")):
        for k, (label, c) in enumerate(curves.items()):
            ax.plot(c["epoch"], c[f"lite-{sec}"], marker="o", ms=3, color="C3" if label == bt_label else f"C{k}",
                    ls="-" if label == bt_label or k % 2 else "--", label=label)  # the first run (the book's) dashed
        top = float(curves[bt_label][f"lite-{sec}"].iloc[-1])
        ax.axhspan(top - tolerance, top, color="C3", alpha=0.12, lw=0)
        ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.set(title=sec, ylim=(0, 1.02))
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("agreement with r*")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(plt.Rectangle((0, 0), 1, 1, color="C3", alpha=0.12))
    labels.append(f"within {tolerance:.2f} of BT's last score")
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
