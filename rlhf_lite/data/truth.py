"""How good is a preference label? Measured against the lite world's true reward r*.

For a converted lite pair we know r*(x, chosen) - r*(x, rejected): positive means the label agrees
with the truth, negative that it disagrees, zero a true tie (the pair teaches a reward model nothing
about quality). Chapter 3 (notebooks/03_preference_data) uses this to ask what each curation filter
removes; later chapters use it for reward models and policies.
"""

from __future__ import annotations

import numpy as np

from rlhf_lite import world
from rlhf_lite.data.schema import last_user_turn


def as_world_prompt(prompt) -> str:
    """The lite task of a prompt given as a string or as chat messages."""
    return prompt if isinstance(prompt, str) else world_prompt(prompt)


def world_prompt(prompt: list[dict]) -> str:
    """The lite task inside a converted prompt: the last user turn (or the post of a TL;DR prompt)."""
    text = last_user_turn(prompt)
    if "POST: " in text:
        text = text.split("POST: ", 1)[1].split("\nTL;DR:", 1)[0]
    return text.strip()


def true_margin(record: dict) -> float:
    """r*(x, chosen) - r*(x, rejected) for a converted lite pair."""
    x = world_prompt(record["prompt"])
    c, r = record["chosen"][-1]["content"], record["rejected"][-1]["content"]
    return world.true_reward(x, c) - world.true_reward(x, r)


def truth_agreement(records) -> dict:
    """How often 'chosen' is truly better: agree / disagree / tie counts, and accuracy = agree / (agree +
    disagree) with its 95% normal-approximation half-width (true ties carry no information)."""
    m = np.array([true_margin(r) for r in records]) if len(records) else np.zeros(0)
    agree, disagree = int((m > 0).sum()), int((m < 0).sum())
    n = agree + disagree
    acc = agree / n if n else float("nan")
    half = 1.96 * np.sqrt(acc * (1 - acc) / n) if n else float("nan")
    return {"pairs": len(m), "agree": agree, "disagree": disagree, "tie": int((m == 0).sum()),
            "accuracy": acc, "ci": float(half), "tie %": 100 * float((m == 0).mean()) if len(m) else float("nan")}


def agreement_by_filter(result, sources=None):
    """For a ``CurationResult`` of lite pairs: the truth agreement of what each filter removed, and of
    what remained after it (filters applied in order). A good filter removes pairs with low accuracy."""
    import pandas as pd

    keep_src = (lambda r: True) if sources is None else (lambda r: r["source"] in sources)
    removed_by: dict[str, list] = {}
    for name, r in result.removed:
        if keep_src(r):
            removed_by.setdefault(name, []).append(r)
    names = list(dict.fromkeys(s["filter"] for s in result.steps))
    remaining = [r for r in result.kept if keep_src(r)] + [r for _, r in result.removed if keep_src(r)]
    rows = [{"step": "before curation", **_short(truth_agreement(remaining)), "removed": 0}]
    for name in names:
        gone = removed_by.get(name, [])
        gone_ids = {id(r) for r in gone}
        remaining = [r for r in remaining if id(r) not in gone_ids]
        g = truth_agreement(gone)
        rows.append({"step": f"after {name}", **_short(truth_agreement(remaining)), "removed": len(gone),
                     "removed accuracy": g["accuracy"], "removed tie %": g["tie %"]})
    return pd.DataFrame(rows).set_index("step")


def _short(a: dict) -> dict:
    return {"pairs": a["pairs"], "accuracy": a["accuracy"], "±": a["ci"], "tie %": a["tie %"]}
