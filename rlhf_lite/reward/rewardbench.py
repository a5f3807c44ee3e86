"""RewardBench-style evaluation (Lambert et al., 2024), the metric of the paper's Table 1.

Each example is (prompt, chosen, rejected, subset); a judge is right when it prefers ``chosen``.
Subset accuracies are combined into four sections with RewardBench's own weights (its
``EXAMPLE_COUNTS``: plain accuracy over the section, except Reasoning, where the math subset is
up-weighted to count as much as the six code subsets together). The same ``evaluate`` reads the real
``allenai/reward-bench`` rows (columns prompt, chosen, rejected, subset; single-turn strings) in
full mode, and the lite world's category pairs here. Chapter 4 (notebooks/04_reward_models).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from rlhf_lite import world

# rewardbench/constants.py (allenai/reward-bench)
SUBSET_MAPPING = {
    "chat": ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"],
    "chat-hard": ["mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"],
    "safety": ["refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond", "donotanswer"],
    "reasoning": ["math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"],
}
EXAMPLE_COUNTS = {
    "alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95, "mt-bench-easy": 28, "mt-bench-med": 40,
    "mt-bench-hard": 37, "llmbar-natural": 100, "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47, "llmbar-adver-manual": 46, "refusals-dangerous": 100, "refusals-offensive": 100,
    "xstest-should-refuse": 250, "xstest-should-respond": 154, "donotanswer": 136,
    "math-prm": 984,  # 447 examples, up-weighted to equal the six code subsets (6 x 164)
    "hep-cpp": 164, "hep-go": 164, "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}
SECTIONS = ("chat", "chat-hard", "safety", "reasoning")


def lite_benchmark(n_per_category: int, cfg: world.WorldConfig, seed: int) -> list[dict]:
    """The lite world's RewardBench: ``world.make_category_pairs`` in the real dataset's row format,
    one subset per category (so every section is plain accuracy)."""
    rows = []
    for cat in SECTIONS:
        for k, p in enumerate(world.make_category_pairs(cat, n_per_category, cfg, seed=seed + SECTIONS.index(cat))):
            rows.append({"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"],
                         "subset": f"lite-{cat}", "id": len(rows)})
    return rows


LITE_MAPPING = {cat: [f"lite-{cat}"] for cat in SECTIONS}


def credit(p, tie_credit: float = 0.5) -> np.ndarray:
    """A judge's credit per pair from P(chosen > rejected): 1 above 0.5, 0 below, ``tie_credit`` at exactly 0.5."""
    p = np.asarray(p, dtype=float)
    return np.where(p > 0.5, 1.0, np.where(p == 0.5, tie_credit, 0.0))


def evaluate(judge, rows: Sequence[dict], mapping: Mapping[str, list[str]] = SUBSET_MAPPING,
             counts: Mapping[str, int] | None = EXAMPLE_COUNTS, tie_credit: float = 0.5) -> dict:
    """Accuracy per subset and per section, and the mean of the sections.

    ``judge.prob_first(prompts, first, second)`` gives P(first > second); P > 0.5 on (chosen,
    rejected) is right, P == 0.5 earns ``tie_credit``. (RewardBench's run_rm.py gives a scalar reward
    model's tie 0 and its generative judges 0.5; with float rewards ties are rare either way.)
    ``counts=None`` weights each subset by its number of rows here.
    """
    missing = [s for s in {r["subset"] for r in rows} if not any(s in v for v in mapping.values())]
    if missing:
        raise ValueError(f"subsets {sorted(missing)} belong to no section of the mapping; "
                         f"pass mapping= (e.g. LITE_MAPPING for the lite benchmark).")
    p = judge.prob_first([r["prompt"] for r in rows], [r["chosen"] for r in rows], [r["rejected"] for r in rows])
    got = credit(p, tie_credit)
    subsets = {}
    for s in dict.fromkeys(r["subset"] for r in rows):
        idx = [i for i, r in enumerate(rows) if r["subset"] == s]
        subsets[s] = (float(got[idx].mean()), len(idx))
    sections = {}
    for sec, names in mapping.items():
        present = [n for n in names if n in subsets]
        if not present:
            continue
        w = np.array([counts[n] if counts else subsets[n][1] for n in present], dtype=float)
        acc = np.array([subsets[n][0] for n in present])
        sections[sec] = float((w * acc).sum() / w.sum())
    return {"subsets": {k: v[0] for k, v in subsets.items()}, "sections": sections,
            "score": float(np.mean(list(sections.values()))) if sections else float("nan"),
            "n": len(rows), "p": p}
