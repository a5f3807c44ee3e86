"""Figures more than one chapter draws, or that a chapter draws from the package's numbers: the forest plot of
paired differences, per-seed panels, the over-optimisation figure (its law fitted in ``rlhf_lite.stats``) and the
preference-model study. No stage imports this module, so it is a page-writing module (``io.PRESENTATION_MODULES``):
editing it re-runs chapters, not their training.

Written here because no library has them: matplotlib draws error bars but not a forest plot with the
units (seeds) beside each interval.

It also measures the figures a chapter shows: ``record_text_sizes`` (turned on for every chapter the book
executes, ``rlhf_lite.site.book.execute_notebook``) writes into each figure's PNG the smallest text it draws, which
tests/test_browser.py turns into CSS pixels at the width the page shows the image.
Our own code because no library does it: matplotlib knows each text's size in points, the browser knows how
much the image is scaled, and nothing carries the first to the second but the image itself."""
from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Mapping, Sequence

import numpy as np

from rlhf_lite.stats import gao_curve, side


def forest_plot(rows: Mapping[str, Sequence[float]], intervals: Mapping[str, tuple[float, float]], xlabel: str,
                ax=None, colors: Mapping[str, str] | None = None, title: str | None = None):
    """One row per comparison: its per-unit differences (small dots, one per seed) and its mean with the 95%
    interval (a bar), against a line at zero. ``rows``: {label: per-seed differences}; ``intervals``:
    {label: (mean, half-width)}, computed by the caller with the chapter's own interval method (the plot
    does not invent one). An interval wholly right of zero is drawn filled, one that includes zero hollow."""
    import matplotlib.pyplot as plt

    missing = set(rows) ^ set(intervals)
    if missing:
        raise ValueError(f"forest_plot: rows and intervals must name the same comparisons; only in one: {sorted(missing)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.6 * len(rows) + 1.2))
    labels = list(rows)[::-1]  # the first row on top
    for y, label in enumerate(labels):
        m, h = intervals[label]
        c = (colors or {}).get(label, "C0")
        decided = side(m, h) != "includes"
        ax.errorbar([m], [y], xerr=[[h], [h]], fmt="o", color=c, ms=7, capsize=4, lw=2,
                    mfc=c if decided else "white", zorder=3)
        pts = np.asarray(rows[label], dtype=float)
        ax.scatter(pts, y + np.linspace(-0.18, 0.18, len(pts)) if len(pts) > 1 else [y], s=14, color=c,
                   alpha=0.55, zorder=2)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return ax.figure


def per_seed_panels(curves: Mapping[str, Sequence[Sequence[float]]], colors: Mapping[str, str], ylabel: str,
                    ylim: tuple | None = None):
    """One panel per recipe (up to five, the sixth cell holds the legend), one line per seed: ``curves`` {recipe:
    [values at t = 0..T, one list per seed]}. For what a mean would hide, e.g. one seed that loses its refusals."""
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 3, figsize=(9, 5.4), sharex=True, sharey=True)
    axes = grid.ravel()
    for ax, (name, seeds) in zip(axes, curves.items()):
        for k, values in enumerate(seeds):
            ax.plot(range(len(values)), values, marker="os^Dv"[k % 5], color=colors[name], lw=1.3, ms=5, alpha=0.8,
                    label=f"loop seed {k}")
            ax.set_xticks(range(len(values)))
        ax.set_title(name, fontsize=10)
    for ax in grid[:, 0]:
        ax.set_ylabel(ylabel)
    for ax in grid[1]:
        ax.set_xlabel("iteration t")
    if ylim:
        axes[0].set_ylim(*ylim)
    axes[-1].axis("off")
    axes[-1].legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=9, frameon=False,
                    title="one line per seed")
    fig.tight_layout()
    return fig


def iteration_panels(agg: Mapping[str, list], offline: Mapping, ceiling: float, colors: Mapping[str, str],
                     emphasise: str | None = None):
    """The paper's Figure 8 in the lite world: per metric (true and judge's win rate, mean r*, length, KL) the mean
    over seeds of each recipe's pi_0..pi_T with its 95% band, offline DPO as a dashed line with its band, and the
    win rate's ceiling. ``agg`` {recipe: [summary over seeds of pi_t, t = 0..T]}, ``offline`` the same of offline
    DPO; ``emphasise`` draws one recipe thicker. The sixth cell holds the legend, at a readable size."""
    import matplotlib.pyplot as plt

    panels = [("win_rate", "true win rate vs $\\pi_0$"), ("reward", "mean $r^*$"), ("length", "length (words)"),
              ("kl", "KL($\\pi_t \\| \\pi_0$), nats per answer"), ("proxy_win_rate", "judge's win rate vs $\\pi_0$")]
    fig, grid = plt.subplots(2, 3, figsize=(9, 6.4), sharex=True)
    axes = grid.ravel()
    for ax, (key, title) in zip(axes, panels):
        for name, a in agg.items():
            m, h = np.array([x[key][0] for x in a]), np.array([x[key][1] for x in a])
            ax.plot(range(len(a)), m, marker="o", label=name, color=colors[name], lw=2.5 if name == emphasise else 1.5)
            ax.fill_between(range(len(a)), m - h, m + h, color=colors[name], alpha=0.15)
            ax.set_xticks(range(len(a)))
        ax.axhline(offline[key][0], color="k", ls="--", lw=1, label="offline DPO")
        ax.axhspan(offline[key][0] - offline[key][1], offline[key][0] + offline[key][1], color="k", alpha=0.07)
        ax.set_title(title, fontsize=10)
    for ax in grid[1]:
        ax.set_xlabel("iteration t")
    axes[0].axhline(ceiling, color="gray", ls=":", lw=1, label="highest possible (ceiling)")
    axes[-1].axis("off")
    axes[-1].legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def overoptimisation_figure(over: Mapping[str, list], summaries: Mapping[str, dict], fitted):
    """Chapter 8's over-optimisation figure: per judge (a column), each iterate's proxy gain (top) and true gain
    (bottom) against its KL on a square-root axis, as Gao et al. plot it, with the fitted law and its peak's
    interval where one is claimed. ``over`` {judge: points}, ``summaries`` {judge: the fits of
    ``online.analysis.overoptimisation_summary``}, ``fitted(point)``: whether the fit used it (else hollow)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(over), figsize=(9, 6.4), sharex="col", squeeze=False)
    recipe_colors: dict = {}
    for col, (judge_name, pts) in enumerate(over.items()):
        kl = np.array([max(q["kl"], 0.0) for q in pts])
        used = np.array([fitted(q) for q in pts])
        top, bottom = axes[0, col], axes[1, col]
        for q, x in zip(pts, kl):
            c = recipe_colors.setdefault(q["recipe"], f"C{len(recipe_colors)}")
            face = c if fitted(q) else "none"  # hollow: left out of the fit
            top.scatter(x, q["proxy_gain"], facecolors=face, edgecolors=c, s=16, label=q["recipe"])
            bottom.scatter(x, q["true_gain"], facecolors=face, edgecolors=c, s=16, marker="s", label=q["recipe"])
        for ax, which in ((top, "fit_proxy"), (bottom, "fit_truth")):
            f = summaries[judge_name][which]
            ax.plot(*gao_curve(f, kl[used].max()), color="k", lw=1.2, label="fit (DPO + SFT term): d(α − β log d), d = √KL")
            if f["peak_claimed"]:
                ax.axvspan(*f["kl_peak_ci95"], color="k", alpha=0.08, label="fitted peak, 95% interval")
            ax.axhline(0, color="gray", lw=0.6, ls=":")
            # a square-root axis spreads the iterates near pi_0 and keeps the ticks in nats
            ax.set_xscale("function", functions=(lambda x: np.sqrt(np.clip(x, 0, None)), np.square))
            step = 1.0 if kl.max() > 4 else 0.5  # ticks evenly spaced in d: KL = 0, 1, 4, 9, ... or 0, 0.25, 1, ...
            ticks = [(step * i) ** 2 for i in range(int(np.sqrt(kl.max()) / step) + 2)]
            ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        top.set_title(f"judge {judge_name}", fontsize=10)
        top.set_ylabel("proxy reward gain\n(judge's units)")
        bottom.set_ylabel("mean $r^*$ gain")
        bottom.set_xlabel("KL(π_t ‖ π₀), nats per answer (√ scale)")
    handles: dict = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.19, 1, 1))
    return fig


def pm_study_figure(curves: Mapping, pairs: Mapping[str, int]):
    """Chapter 4's study of the preference model, one panel per row to read at the column's width: reasoning against
    the pairs shown (pairs times epochs, log scale), both models' agreement by which answer is right over epochs, and
    after training under the answers' own prompt against another. ``curves`` {run label: DataFrame of the probe's
    rows by epoch}, ``pairs`` {run label: the pairs it trains on}."""
    import matplotlib.pyplot as plt
    import pandas as pd

    style = {"preference, all pairs": ("C0", "-"), "preference, 1/3 of the pairs": ("C0", "--"),
             "preference, small pi_0": ("C2", "-"), "BT, all pairs": ("C3", "-"), "BT, small pi_0": ("C1", "-")}
    fig, axes = plt.subplots(3, 1, figsize=(7.2, 10))
    for label, c in curves.items():  # x: pairs shown so far, the pairs a model trains on times the epochs done
        col, ls = style[label]
        axes[0].plot(c["epoch"] * pairs[label] / 1000, c["lite-reasoning"], color=col, ls=ls, marker="o", ms=3,
                     label=label)
    for label in ("preference, all pairs", "BT, all pairs"):
        c, col = curves[label], style[label][0]
        axes[1].plot(c["epoch"], c["longer better"], color=col, marker="o", ms=3,
                     label=f"{label.split(',')[0]}: longer is right")
        axes[1].plot(c["epoch"], c["shorter better"], color=col, ls="--", marker="s", ms=3,
                     label=f"{label.split(',')[0]}: shorter is right")
    x = np.arange(len(curves))
    last = pd.DataFrame({label: c.iloc[-1] for label, c in curves.items()}).T
    axes[2].bar(x - 0.2, last["all"], 0.4, label="its own prompt", color="C0")
    axes[2].bar(x + 0.2, last["other prompt"], 0.4, label="another prompt", color="C7")
    short = [("PM" if k.startswith("pref") else "BT") + "\n"
             + k.split(", ")[1].replace(" of the pairs", "").replace("all pairs", "all") for k in curves]
    axes[2].set_xticks(x, short)  # two lines each, so five fit under the bars
    for ax in axes:
        ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.set_ylim(0, 1.02)
    axes[0].set(xlabel="pairs shown (thousands, log scale)", ylabel="agreement with r*", title="reasoning (sort, add)")
    axes[0].set_xscale("log")
    axes[0].minorticks_off()
    lo_hi = [float(pairs[k]) / 1000 * f for k in curves for f in (1, len(curves["BT, all pairs"]))]
    t = [t for t in (0.5, 1, 2, 5, 10, 20, 50, 100, 200) if min(lo_hi) / 1.5 <= t <= max(lo_hi) * 1.5]
    axes[0].set_xticks(t, [f"{v:g}" for v in t])
    axes[1].set(xlabel="epoch", title="all sections, by which answer is right")
    axes[2].set(title="after training: own or another prompt")
    axes[1].set_xticks(curves["preference, all pairs"]["epoch"])
    for ax in axes:
        ax.set_ylabel("agreement with r*")
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


# --- the smallest text of a figure, carried in its PNG -------------------------------------------------------------
TEXT_KEY = "rlhf_lite:text"  # the PNG tEXt keyword of the record (PNG allows 1-79 Latin-1 characters)


def smallest_text(fig) -> dict:
    """Draw ``fig`` once and note every piece of text the renderer draws (tick labels, legends, titles, annotations,
    colour bars; empty strings and hidden artists are never drawn): the smallest size in points and the text set in
    it, with the figure's size in inches. ``min_pt`` is None for a figure without text."""
    from matplotlib.backends.backend_agg import RendererAgg

    drawn: list[tuple[float, str]] = []

    class Recording(RendererAgg):  # what reaches the renderer is what the reader sees, ticks outside the view not
        def draw_text(self, gc, x, y, s, prop, angle, *args, **kwargs):
            if s.strip():
                drawn.append((prop.get_size_in_points(), s))
            return super().draw_text(gc, x, y, s, prop, angle, *args, **kwargs)

        def draw_tex(self, gc, x, y, s, prop, angle, *args, **kwargs):
            if s.strip():
                drawn.append((prop.get_size_in_points(), s))
            return super().draw_tex(gc, x, y, s, prop, angle, *args, **kwargs)

    w, h = fig.get_size_inches()
    fig.draw(Recording(max(int(fig.bbox.width), 1), max(int(fig.bbox.height), 1), fig.dpi))
    pt, text = min(drawn, key=lambda d: d[0]) if drawn else (None, "")
    return {"min_pt": None if pt is None else round(float(pt), 2), "text": text[:60],
            "size_in": [round(float(w), 2), round(float(h), 2)]}


def _chunks(png: bytes):
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG: its first bytes are not the PNG signature.")
    at = 8
    while at < len(png):
        n, kind = struct.unpack(">I4s", png[at:at + 8])
        yield kind, png[at + 8:at + 8 + n], at
        at += 12 + n


def png_dpi(png: bytes) -> float | None:
    """Pixels per inch that the PNG's pHYs chunk states (matplotlib writes its savefig dpi there), else None."""
    for kind, data, _ in _chunks(png):
        if kind == b"pHYs":
            x, _y, unit = struct.unpack(">IIB", data)
            return x * 0.0254 if unit == 1 else None
    return None


def with_text_record(png: bytes, record: Mapping) -> bytes:
    """``png`` with ``record`` (JSON) in a tEXt chunk before its end, plus ``min_px``: the smallest text's height
    in the PNG's own pixels (points times its dpi / 72). Any earlier record is replaced."""
    dpi = png_dpi(png) or record.get("dpi")
    record = {**record, "dpi": None if dpi is None else round(float(dpi), 1)}
    record["min_px"] = (None if record.get("min_pt") is None or dpi is None
                        else round(record["min_pt"] * dpi / 72, 2))
    data = TEXT_KEY.encode("latin-1") + b"\0" + json.dumps(record, ensure_ascii=True).encode("ascii")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    kept = b"".join(png[at:at + 12 + len(d)] for kind, d, at in _chunks(png)
                    if not (kind == b"tEXt" and d.startswith(TEXT_KEY.encode() + b"\0")) and kind != b"IEND")
    return png[:8] + kept + chunk + png[-12:]


def text_record(png: bytes) -> dict | None:
    """The record ``with_text_record`` wrote into ``png``, or None."""
    for kind, data, _ in _chunks(png):
        if kind == b"tEXt" and data.startswith(TEXT_KEY.encode() + b"\0"):
            return json.loads(data.split(b"\0", 1)[1])
    return None


def save_png(fig, path, dpi: float = 150, **savefig_kwargs):
    """``fig.savefig(path, dpi=dpi)`` as a PNG that carries its ``smallest_text`` record: how the drawing scripts
    under figures/ save, so the book's check measures their diagrams like a chapter's figures."""
    import io
    from pathlib import Path

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, **savefig_kwargs)
    Path(path).write_bytes(with_text_record(buf.getvalue(), {**smallest_text(fig), "dpi": dpi}))
    return Path(path)


def _recording(show_png):
    """Wrap IPython's PNG formatter for figures (png or retina; base64 text, bytes, or (data, metadata))."""
    def png(fig, *args, **kwargs):
        record = smallest_text(fig)
        out = show_png(fig, *args, **kwargs)
        data, meta = out if isinstance(out, tuple) else (out, None)
        if data is None:
            return out
        raw = base64.b64decode(data) if isinstance(data, str) else data
        raw = with_text_record(raw, {**record, "dpi": fig.dpi})
        data = base64.b64encode(raw).decode("ascii") if isinstance(data, str) else raw
        return (data, meta) if isinstance(out, tuple) else data

    png.records_text = True
    return png


def record_text_sizes() -> bool:
    """In an IPython kernel whose figures show through matplotlib's inline backend, every figure shown from now on
    (plt.show, the end of a cell, display, glue) carries the record of ``smallest_text`` in its PNG. Returns
    whether it is on; outside such a kernel it does nothing. Idempotent."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    import matplotlib
    from matplotlib.figure import Figure

    if matplotlib.get_backend(auto_select=False) in ("inline", "module://matplotlib_inline.backend_inline"):
        # importing the backend registers its PNG formatter; done now, it cannot replace ours at the first figure
        import matplotlib_inline.backend_inline  # noqa: F401
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        current = formatter.lookup_by_type(Figure)
    except KeyError:
        return False
    if not getattr(current, "records_text", False):
        formatter.for_type(Figure, _recording(current))
    return True
