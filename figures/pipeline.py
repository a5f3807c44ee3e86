"""Draw the book's pipeline diagram (figures/pipeline.png): the stages of the paper's workflow.
Run by the book build (rlhf_lite.book), so the picture never goes stale."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

STAGES = [
    "prompts $d_0$\n+ true reward $r^*$",
    "preference data\n(annotators, curation)",
    "SFT policy $\\pi_0$",
    "proxy reward /\npreference model",
    "online iterative DPO\n(Algorithm 2)",
    "evaluation\nagainst $r^*$",
]


def draw(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(12, 2.2))
    w, gap = 1.7, 0.35
    for i, label in enumerate(STAGES):
        x = i * (w + gap)
        ax.add_patch(FancyBboxPatch((x, 0), w, 1, boxstyle="round,pad=0.05", fc="#e8f0fa", ec="#3b6ea5"))
        ax.text(x + w / 2, 0.5, label, ha="center", va="center", fontsize=9)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.03, 0.5), (x - 0.03, 0.5), arrowstyle="-|>", mutation_scale=12))
    # the online loop feeds new preference data back
    x_loop = 4 * (w + gap) + w / 2
    x_data = 1 * (w + gap) + w / 2
    ax.add_patch(FancyArrowPatch((x_loop, 1.08), (x_data, 1.08), connectionstyle="arc3,rad=0.2",
                                 arrowstyle="-|>", mutation_scale=12, color="#a53b3b"))
    ax.text((x_loop + x_data) / 2, 1.97, "new on-policy pairs, each iteration", ha="center", fontsize=8, color="#a53b3b")
    ax.set_xlim(-0.2, len(STAGES) * (w + gap))
    ax.set_ylim(-0.2, 2.1)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print("wrote", draw(Path(__file__).with_suffix(".png")))
