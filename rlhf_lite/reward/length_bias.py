"""Length bias of a reward model, as in the paper's Figure 3.

For each prompt, the SFT policy samples n responses (the paper: 8; 16 in Figure 3's caption); the
reward model scores them, and we compute the Pearson correlation between reward and response length
*within that prompt*. A reward model that prefers longer answers gives mostly positive coefficients.
The heatmap counts prompts by (correlation coefficient, mean response length); the paper reports a mean coefficient of 0.19 for
UltraRM-13B and 0.06 for its BT model on MIX2. Full mode calls the same functions on real reward
models. Chapter 5 (notebooks/05_length_bias) draws the figure, with r* itself as the reference.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


MIN_SAMPLES = 3  # per prompt, for a Pearson coefficient that is not just a sign


def length_correlations(rewards, lengths, flat: float = np.nan) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt Pearson r(reward, length) and mean length, for arrays of shape (prompts, n).

    A prompt whose lengths do not vary has no defined correlation (NaN). One whose lengths vary but
    whose rewards are all equal gets ``flat``: NaN by default (Pearson is undefined), or 0 to say
    "this reward ignores length here", which is what a truth that gives every sample the same reward
    means (the length-bias chapter compares r* to reward models that way).

    At least 3 samples per prompt: with 2, every defined coefficient is +1 or -1 (two points always lie on
    a line), so a mean of them counts signs rather than measuring a correlation.
    """
    r, ln = np.asarray(rewards, dtype=float), np.asarray(lengths, dtype=float)
    if r.shape != ln.shape or r.ndim != 2:
        raise ValueError(f"length_correlations needs two (prompts, n) arrays of one shape, got {r.shape} and {ln.shape}.")
    if r.shape[1] < MIN_SAMPLES:
        raise ValueError(f"length_correlations got {r.shape[1]} samples per prompt; a per-prompt correlation needs at "
                         f"least {MIN_SAMPLES} (with 2, every coefficient is +1 or -1). Sample more answers per prompt, "
                         f"e.g. the loop's n = 8 samples of its first iteration.")
    rc, lc = r - r.mean(1, keepdims=True), ln - ln.mean(1, keepdims=True)
    den = np.sqrt((rc ** 2).sum(1) * (lc ** 2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(den > 1e-12, (rc * lc).sum(1) / np.where(den > 1e-12, den, 1.0), np.nan)
    lengths_vary, rewards_flat = (lc ** 2).sum(1) > 1e-12, (rc ** 2).sum(1) <= 1e-12
    corr = np.where(lengths_vary & rewards_flat, flat, corr)
    return corr, ln.mean(1)


def heatmap_counts(corr, mean_len, corr_bins=np.linspace(-1, 1, 11), len_bins=None):
    """Prompts counted by (mean-length bin, correlation bin); NaN correlations are left out."""
    corr, mean_len = np.asarray(corr), np.asarray(mean_len)
    ok = ~np.isnan(corr)
    if len_bins is None:
        len_bins = length_bins(mean_len[ok]) if ok.any() else np.linspace(0, 1, 7)
    counts, _, _ = np.histogram2d(mean_len[ok], corr[ok], bins=[len_bins, corr_bins])
    return counts, len_bins, corr_bins


def length_bins(mean_len, k: int = 6) -> np.ndarray:
    """k bins of mean length with about equally many prompts, edges on a 0.1 grid that cover every value."""
    q = np.quantile(np.asarray(mean_len, dtype=float), np.linspace(0, 1, k + 1))
    q[0], q[-1] = np.floor(q[0] * 10) / 10, np.ceil(q[-1] * 10 + 1e-9) / 10
    return np.unique(np.round(q, 1))


def plot_heatmaps(results: Mapping[str, tuple[np.ndarray, np.ndarray]], len_bins=None, corr_bins=np.linspace(-1, 1, 11)):
    """Side-by-side heatmaps (one per reward model), shared length bins and one colour scale (the same
    count is the same colour in every panel, so panels can be compared); titles carry the mean r."""
    import matplotlib.pyplot as plt

    if len_bins is None:
        len_bins = length_bins(np.concatenate([m for c, m in results.values()]))
    # 2.5 in a panel: three panels and the colour bar fit a book page's column (about 7 in) at 0.8 scale or more
    fig, axes = plt.subplots(1, len(results), figsize=(2.5 * len(results) + 1.0, 3.3), sharey=True)
    axes = np.atleast_1d(axes)
    counts = {name: heatmap_counts(corr, mean_len, corr_bins, len_bins) for name, (corr, mean_len) in results.items()}
    vmax = max(float(c.max()) for c, _, _ in counts.values()) or 1.0
    for ax, (name, (corr, mean_len)) in zip(axes, results.items()):
        c, lb, cb = counts[name]
        im = ax.imshow(c, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=vmax,
                       extent=[cb[0], cb[-1], 0, len(lb) - 1])
        ax.set_yticks(np.arange(len(lb) - 1) + 0.5, [f"{a:g}-{b:g}" for a, b in zip(lb[:-1], lb[1:])])
        ax.axvline(0, color="w", lw=0.8, ls="--")
        ax.set_xlabel("r(reward, length) per prompt", fontsize=9)
        ax.set_title(f"{name}\nmean r = {np.nanmean(corr):.2f}", fontsize=9)
    axes[0].set_ylabel("mean response length (words)")
    plt.tight_layout()
    fig.colorbar(im, ax=list(axes), label="prompts (one scale for all panels)", fraction=0.03, pad=0.02)
    return fig
