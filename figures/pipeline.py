"""Draw the book's pipeline diagram (figures/pipeline.png): the stages of the paper's workflow.
Run by the book build (rlhf_lite.site.book), so the picture never goes stale.

Two parts, as in the paper's Algorithm 2: the reward model is trained once from the preference data and then
stays fixed; the online loop samples from the current policy, ranks the samples with that fixed model, and
trains the next policy by DPO with pi_0 as the reference. The loop's pairs feed only its own DPO rounds."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rlhf_lite.plots import save_png  # noqa: E402

W, H = 2.7, 1.0  # box size, in data units
X = (0.0, 3.3, 6.6)  # the three columns
ONCE, LOOP = "#e8f0fa", "#fbeaea"  # trained once, before the loop / each iteration of the loop
# key: (column, row, label, colour); row 2 is trained once, rows 1 and 0 are the policy's side
BOXES = {
    "world": (0, 2, "prompts $x \\sim d_0$,\ntrue reward $r^*$", ONCE),
    "prefs": (1, 2, "preference pairs\n(annotators, curation)", ONCE),
    "rm": (2, 2, "reward model $\\hat r$:\ntrained once, then fixed", ONCE),
    "sft": (0, 1, "SFT policy $\\pi_0$", ONCE),
    "sample": (1, 1, "sample $n$ answers per\nprompt from $\\pi_{t-1}$", LOOP),
    "rank": (2, 1, "rank them by $\\hat r$: best\nand worst $\\to \\mathcal{D}_t$", LOOP),
    "dpo": (2, 0, "DPO on $\\mathcal{D}_1 \\cup \\dots \\cup \\mathcal{D}_t$,\nreference $\\pi_0$ $\\to \\pi_t$", LOOP),
    "eval": (0, 0, "evaluation\nagainst $r^*$", ONCE),
}
ROW_Y = {2: 3.0, 1: 1.5, 0: 0.0}


def _box(key):
    col, row, _, _ = BOXES[key]
    return X[col], ROW_Y[row]


def _side(key, side):
    x, y = _box(key)
    return {"left": (x, y + H / 2), "right": (x + W, y + H / 2), "top": (x + W / 2, y + H),
            "bottom": (x + W / 2, y)}[side]


def _arrow(ax, a, b, label="", color="#333333", dx=0.0, dy=0.0, rad=0.0, ha="center"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, lw=1.4, color=color, shrinkA=4,
                                 shrinkB=4, connectionstyle=f"arc3,rad={rad}"))
    if label:
        ax.text((a[0] + b[0]) / 2 + dx, (a[1] + b[1]) / 2 + dy, label, ha=ha, va="center", fontsize=10, color=color)


def draw(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8.0, 4.1))
    for key, (col, row, label, colour) in BOXES.items():
        x, y = _box(key)
        ax.add_patch(FancyBboxPatch((x, y), W, H, boxstyle="round,pad=0.06", fc=colour, ec="#3b6ea5", lw=1.2))
        ax.text(x + W / 2, y + H / 2, label, ha="center", va="center", fontsize=11)
    loop = "#a53b3b"
    _arrow(ax, _side("world", "right"), _side("prefs", "left"))
    _arrow(ax, _side("prefs", "right"), _side("rm", "left"), "BT fit", dy=0.2)
    _arrow(ax, _side("world", "bottom"), _side("sft", "top"), "demonstrations", dx=0.1, ha="left")
    _arrow(ax, _side("rm", "bottom"), _side("rank", "top"), "scores", dx=0.1, ha="left")
    _arrow(ax, _side("sft", "right"), _side("sample", "left"), "$t = 1$", dy=0.2)
    _arrow(ax, _side("sample", "right"), _side("rank", "left"), color=loop)
    _arrow(ax, _side("rank", "bottom"), _side("dpo", "top"), color=loop)
    _arrow(ax, (X[2], ROW_Y[0] + 0.72), _side("sample", "bottom"), "$t \\to t + 1$", color=loop, rad=-0.3,
           dx=0.25, dy=0.17, ha="left")
    _arrow(ax, (X[2], ROW_Y[0] + 0.25), (X[0] + W, ROW_Y[0] + 0.25), "the best $\\pi_t$ by validation", dy=0.2)
    ax.text(X[1] + 0.1, ROW_Y[1] - 0.3, "online loop,\nAlgorithm 2", ha="left", va="center", fontsize=10,
            color=loop, style="italic")
    ax.set_xlim(-0.15, X[2] + W + 0.15)
    ax.set_ylim(-0.2, ROW_Y[2] + H + 0.15)
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    save_png(fig, path, dpi=150)  # a PNG that says its smallest text, for the book's check
    plt.close(fig)
    return path


if __name__ == "__main__":
    print("wrote", draw(Path(__file__).with_suffix(".png")))
