"""Applying filters to preference pairs and reporting what each removed, per source.

``curate`` runs the filters of ``filters.py`` in order and returns the kept pairs, the removed ones
(tagged with the filter that removed them, so chapter 3 can ask what a filter actually threw away),
and one row of counts per (filter, source). No library does this bookkeeping for us:
``datasets.Dataset.filter`` keeps the rows but forgets why the others went.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from rlhf_lite import world
from rlhf_lite.data.filters import Filter, MinMargin
from rlhf_lite.data.schema import response_text
from rlhf_lite.data.truth import true_margin, truth_agreement
from rlhf_lite.stats import Interval, binomial_half, quad


@dataclass
class CurationResult:
    kept: list[dict]
    removed: list[tuple[str, dict]]  # (filter name, record)
    steps: list[dict] = field(default_factory=list)  # one row per (filter, source)

    def report(self, load_reports=()):
        """Before/after per filter per source, as a pandas DataFrame (columns: counts removed)."""
        import pandas as pd

        sources = sorted({s["source"] for s in self.steps} | {lr.source for lr in load_reports})
        names = list(dict.fromkeys(s["filter"] for s in self.steps))
        rows = []
        any_unpaired = any(lr.unpaired for lr in load_reports)  # the column only where some source has them (HelpSteer)
        for src in sources:
            row = {"source": src}
            lr = next((lr for lr in load_reports if lr.source == src), None)
            if load_reports:
                row["rows"] = lr.rows if lr else 0
                row["malformed"] = lr.malformed if lr else 0
                row["bad label"] = lr.bad_labels if lr else 0
                if any_unpaired:
                    row["unpaired"] = lr.unpaired if lr else 0
            steps = [s for s in self.steps if s["source"] == src]
            row["pairs"] = steps[0]["before"] if steps else (lr.pairs if lr else 0)
            for name in names:
                row[name] = sum(s["removed"] for s in steps if s["filter"] == name)
            row["kept"] = steps[-1]["after"] if steps else row["pairs"]
            row["kept %"] = round(100 * row["kept"] / row["pairs"], 1) if row["pairs"] else 0.0
            rows.append(row)
        df = pd.DataFrame(rows).set_index("source")
        total = df.drop(columns="kept %").sum(numeric_only=True)
        total["kept %"] = round(100 * total["kept"] / total["pairs"], 1) if total["pairs"] else 0.0
        df.loc["total"] = total
        return df


def curate(records: Sequence[dict], filters: Sequence[Filter], progress: bool = False) -> CurationResult:
    """Apply ``filters`` in order; every removed pair is kept with the name of the filter that removed it."""
    from tqdm.auto import tqdm

    names = [f.name for f in filters]
    if len(set(names)) != len(names):
        raise ValueError(f"two filters share a name in {names}; the report would merge them.")
    current = list(records)
    removed: list[tuple[str, dict]] = []
    steps: list[dict] = []
    sources = sorted({r["source"] for r in current})
    for f in tqdm(filters, desc="curation", disable=not progress):
        mask = f.keep(current)
        if len(mask) != len(current):
            raise RuntimeError(f"filter {f.name!r} returned {len(mask)} decisions for {len(current)} pairs.")
        before_by = Counter(r["source"] for r in current)
        gone_by = Counter(r["source"] for r, k in zip(current, mask) if not k)
        for src in sources:
            before, gone = before_by[src], gone_by[src]
            steps.append({"filter": f.name, "reason": f.describe(), "source": src,
                          "before": before, "removed": gone, "after": before - gone})
        removed.extend((f.name, r) for r, k in zip(current, mask) if not k)
        current = [r for r, k in zip(current, mask) if k]
    return CurationResult(current, removed, steps)


def removed_accuracy(before: float, after: float, n: int, kept: int) -> float:
    """The label accuracy of the pairs curation removed, from the accuracy of all ``n`` raw pairs (``before``) and of
    the ``kept`` ones (``after``): the removed ones are what the kept ones leave of the total."""
    removed = n - kept
    if removed <= 0 or kept <= 0:
        raise ValueError(f"curation kept {kept} of {n} pairs; it must keep some and remove some.")
    return (before * n - after * kept) / removed


def label_accuracy_change(before: float, after: float, n: int, kept: int) -> Interval:
    """Curation keeps ``kept`` of ``n`` raw pairs: after - before = (removed share) x (accuracy of the kept pairs -
    accuracy of the removed ones), two disjoint samples, so the half-width combines theirs in quadrature.
    Returns (after - before, its 95% half-width). The preference-data chapter prints this number."""
    removed = n - kept
    acc_removed = removed_accuracy(before, after, n, kept)
    return Interval(after - before, removed / n * quad(binomial_half(after, kept), binomial_half(acc_removed, removed)))


# The columns of a curation report (``Mixture.report()``) that say what a source's rows became before any filter.
LOADING = ("rows", "malformed", "bad label", "unpaired", "pairs", "kept", "kept %")


def per_filter(report):
    """A curation report (one row per source and a "total" row, a column per filter) turned round: per filter, the
    pairs it removed, their share of all pairs, and the sources they came from, most first."""
    import pandas as pd

    sources, total = report.drop(index="total"), report.loc["total"]
    return pd.DataFrame([{
        "filter": f, "pairs removed": int(total[f]), "% of pairs": round(100 * total[f] / total["pairs"], 1),
        "from (most first)": ", ".join(f"{s} {int(n)}" for s, n in sources[f].sort_values(ascending=False).items()
                                       if n > 0) or "none"} for f in report.columns if f not in LOADING]).set_index("filter")


def removal_shares(report) -> tuple[float, float]:
    """The share of a mixture's pairs curation removed, of all pairs and of those left once ties and identical
    answers are gone (the paper's Table 5 counts pairs "except those with the same score", so its ~10% is after
    ties)."""
    total = report.loc["total"]
    return (1 - total["kept"] / total["pairs"],
            1 - total["kept"] / (total["pairs"] - total["tie"] - total["identical"]))


def margin_sweep(pairs: Sequence[dict], thresholds: Sequence[float]) -> list[dict]:
    """Quantity against quality: for each threshold of the margin filter, the pairs it keeps and their labels'
    agreement with r* (accuracy, its 95% half-width, the share of true ties)."""
    rows = []
    for t in thresholds:
        kept = curate(pairs, [MinMargin(t)]).kept
        a = truth_agreement(kept)
        rows.append({"threshold": t, "pairs": len(kept), "accuracy": a["accuracy"], "±": a["ci"], "tie %": a["tie %"]})
    return rows


def length_gap(pairs: Sequence[dict]) -> tuple[float, float, int]:
    """The chosen answer's length minus the rejected one's, in words: mean, 95% half-width and pairs (NaN, NaN, 0
    for no pairs; the half-width NaN for one)."""
    d = np.array([world.response_length(response_text(p["chosen"])) - world.response_length(response_text(p["rejected"]))
                  for p in pairs], dtype=float)
    if len(d) == 0:
        return np.nan, np.nan, 0
    return d.mean(), 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan, len(d)



def length_gaps_by_source(pairs: Sequence[dict], sources: Sequence[str]) -> list[dict]:
    """Per source, :func:`length_gap` over all its pairs and over its true ties only (same r*, so any gap comes from
    the judge): one row each, ``{"source", "gap (all)", "± all", "gap (true ties)", "± ties", "true ties"}``."""
    rows = []
    for s in sources:
        ps = [p for p in pairs if p["source"] == s]
        (g, gh, _), (tg, tgh, tn) = length_gap(ps), length_gap([p for p in ps if true_margin(p) == 0])
        rows.append({"source": s, "gap (all)": g, "± all": gh, "gap (true ties)": tg, "± ties": tgh, "true ties": tn})
    return rows

def plot_report(df, ax=None, title: str = "What each filter removed"):
    """Horizontal stacked bars: per source, the share of pairs each filter removed."""
    import matplotlib.pyplot as plt

    cols = [c for c in df.columns if c not in ("rows", "pairs", "kept", "kept %")]
    data = df.drop(index="total", errors="ignore")
    pairs = data["pairs"].where(data["pairs"] > 0, 1)
    share = data[cols].div(pairs, axis=0) * 100
    for c in ("malformed", "bad label", "unpaired"):  # rows that never became pairs: a share of rows, not of pairs
        if c in data:
            share[c] = data[c] / data["rows"].where(data["rows"] > 0, 1) * 100
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 0.45 * len(share) + 1.2))
    left = None
    colors = plt.get_cmap("tab20").colors  # more filters than the default cycle's 10 colours
    for i, c in enumerate(cols):
        ax.barh(share.index, share[c], left=left, label=c, color=colors[(2 * i) % 20 + (2 * i) // 20])
        left = share[c] if left is None else left + share[c]
    ax.invert_yaxis()
    per_row = [c for c in ("malformed", "bad label", "unpaired") if c in data]
    ax.set_xlabel("% of pairs removed" + (f" ({', '.join(per_row)}: % of rows)" if per_row else ""))
    ax.set_title(title)
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax
