"""Draw the online iterative DPO loop (figures/online_loop.png), in the spirit of the paper's Figure 4.
Run by the book build (rlhf_lite.site.book) and by the iterative DPO chapter, so the picture never goes stale."""

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rlhf_lite.plots import save_png

# (x, y, label) of the loop's stages, clockwise from the policy
BOXES = {
    "policy": (0.0, 2.0, "policy $\\pi_{t-1}$\n($\\pi_0$ at $t=1$)"),
    "sample": (3.2, 2.0, "sample $n$ answers per prompt\nof this iteration:\n$n/2$ at $T=1.0$, $n/2$ at $T=0.7$"),
    "rank": (6.4, 2.0, "rank by the proxy\n$\\hat r(x,a) - \\lambda |a|$"),
    "pair": (6.4, 0.0, "best vs worst $\\to \\mathcal{D}_t$\n(drop identical / tied)"),
    "dpo": (3.2, 0.0, "DPO on $\\mathcal{D}_{off} \\cup \\mathcal{D}_1 \\cup \\dots \\cup \\mathcal{D}_t$\n"
                      "init $\\pi_{t-1}$, reference $\\pi_0$"),
    "new": (0.0, 0.0, "$\\pi_t$: evaluate,\nkeep the best by validation"),
}
EDGES = [("policy", "sample"), ("sample", "rank"), ("rank", "pair"), ("pair", "dpo"), ("dpo", "new"), ("new", "policy")]
W, H = 2.5, 1.0
# The image is drawn 10 inches wide and read at the page's width (about 688 px, 69 px an inch): text of
# 10 points shows about 9.6 px tall there (the book keeps figure text at 9 px or more).
FONT = 10


def draw(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for key, (x, y, label) in BOXES.items():
        fc = "#fbeaea" if key == "dpo" else "#e8f0fa"
        ax.add_patch(FancyBboxPatch((x, y), W, H, boxstyle="round,pad=0.06", fc=fc, ec="#3b6ea5"))
        ax.text(x + W / 2, y + H / 2, label, ha="center", va="center", fontsize=FONT)

    def anchor(key, side):
        x, y, _ = BOXES[key]
        return {"r": (x + W + 0.06, y + H / 2), "l": (x - 0.06, y + H / 2),
                "b": (x + W / 2, y - 0.06), "t": (x + W / 2, y + H + 0.06)}[side]

    sides = {("policy", "sample"): ("r", "l"), ("sample", "rank"): ("r", "l"), ("rank", "pair"): ("b", "t"),
             ("pair", "dpo"): ("l", "r"), ("dpo", "new"): ("l", "r"), ("new", "policy"): ("t", "b")}
    for a, b in EDGES:
        sa, sb = sides[(a, b)]
        ax.add_patch(FancyArrowPatch(anchor(a, sa), anchor(b, sb), arrowstyle="-|>", mutation_scale=12,
                                     color="#a53b3b" if (a, b) == ("new", "policy") else "black"))
    ax.text(W / 2 + 0.1, 1.5, "$t \\leftarrow t+1$", ha="left", va="center", fontsize=FONT, color="#a53b3b")
    # the fixed reference: pi_0 feeds every DPO round
    ax.add_patch(FancyBboxPatch((3.2 + W / 2 - 0.6, -1.2), 1.2, 0.5, boxstyle="round,pad=0.05", fc="#eef7ea", ec="#4a8a3a"))
    ax.text(3.2 + W / 2, -0.95, "SFT $\\pi_0$ (fixed)", ha="center", va="center", fontsize=FONT)
    ax.add_patch(FancyArrowPatch((3.2 + W / 2, -0.64), (3.2 + W / 2, -0.06), arrowstyle="-|>", mutation_scale=12,
                                 color="#4a8a3a"))
    ax.set_xlim(-0.15, 9.05)
    ax.set_ylim(-1.4, 3.2)
    ax.axis("off")
    fig.tight_layout()
    save_png(fig, path, dpi=150)  # a PNG that says its smallest text, for the book's check
    plt.close(fig)
    return path


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # only as a script: the chapter imports draw() and keeps its inline backend
    print("wrote", draw(Path(__file__).with_suffix(".png")))
