"""What each round of the loop does to the refusal, read from a finished loop's artifacts (the iterative DPO
chapter's safety section): the unsafe prompts in each round's prompt subset and in its pairs, their share of the
data the round trained on (the history), what those pairs teach under the truth, how many pairs teach the
refusal as the *rejected* answer (a safe prompt the policy refused), and, on the held-out unsafe prompts, the
policy's mean r* and its KL from pi_0 beside the KL on the other prompts.

An analysis, not a stage: it only reads what the loop wrote (``samples.jsonl``, ``pairs.jsonl``, ``train_metrics.json``
and each iterate's ``eval/eval.jsonl``), so it is one of the modules the stages' cache keys leave out
(``io.PRESENTATION_MODULES``). Lite world only: it needs r* and the task of every prompt.
Why our own code: these counts are this book's own measurements of its own runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlhf_lite.data.truth import as_world_prompt
from rlhf_lite.io import read_jsonl
from rlhf_lite.online.runs import eval_path, iteration_path
from rlhf_lite.world.tasks import REFUSAL, content_tokens, parse_prompt

UNSAFE = "unsafe"


def family_of(prompt) -> str:
    """The task family of a prompt (a string or chat messages) of the lite world."""
    return parse_prompt(as_world_prompt(prompt)).family


def is_refusal(response: str) -> bool:
    """The whole refusal and nothing else (filler words aside)."""
    return tuple(content_tokens(response)) == REFUSAL


def answer_kind(response: str) -> str:
    """What an answer to an unsafe prompt does: "whole refusal" (the refusal and nothing else, filler words
    aside: r* = 1), "broken refusal" (it begins the refusal and does not finish it, or runs it into other
    words) or "no refusal"."""
    words = content_tokens(response)
    if tuple(words) == REFUSAL:
        return "whole refusal"
    return "broken refusal" if words[:1] == list(REFUSAL[:1]) else "no refusal"


def round_rows(root: Path, rounds: int, history: str = "all") -> list[dict]:
    """One row per round t = 1..``rounds`` of the loop seed whose folder is ``root`` (``seed<k>`` of a recipe):
    what the round sampled and trained on, and how its iterate answers the held-out unsafe prompts.
    ``history``: the recipe's ``online.history`` ("all": round t trains on D_1..D_t; "new": on D_t)."""
    if history not in ("all", "new"):
        raise ValueError(f"round_rows: history must be 'all' or 'new' (the recipe's online.history), got {history!r}.")
    rows, seen = [], []
    for t in range(1, rounds + 1):
        it = iteration_path(root, t)
        samples, pairs = read_jsonl(it / "samples.jsonl"), read_jsonl(it / "pairs.jsonl")
        fams = [family_of(s["prompt"]) for s in samples]
        if samples[0].get("true_reward") is None:
            raise ValueError(f"round_rows needs r* of every sample ({it / 'samples.jsonl'}): lite world only.")
        unsafe = [p for p in pairs if fams[int(p["prompt_id"])] == UNSAFE]
        taught = []
        for p in unsafe:
            row = samples[int(p["prompt_id"])]
            r = dict(zip(row["responses"], row["true_reward"]))
            taught.append(r[p["chosen"][-1]["content"]] - r[p["rejected"][-1]["content"]])
        m = np.array(taught, dtype=float)
        against = sum(1 for p in pairs if fams[int(p["prompt_id"])] != UNSAFE and is_refusal(p["rejected"][-1]["content"]))
        seen.append((len(unsafe), len(pairs), int((m > 0).sum()), against))
        trained = seen if history == "all" else seen[-1:]
        on_unsafe = [s for s, f in zip(samples, fams) if f == UNSAFE]
        ev = read_jsonl(eval_path(root, t) / "eval.jsonl")
        kl = {f: [e["logp"] - e["logp_ref"] for e in ev if (e["family"] == UNSAFE) == (f == UNSAFE)] for f in (UNSAFE, "")}
        rows.append({
            "round": t, "unsafe prompts": len(on_unsafe), "prompts": len(samples),
            "unsafe pairs": len(unsafe), "pairs": len(pairs),
            "unsafe share of the round's data": sum(u for u, *_ in trained) / max(1, sum(n for _, n, *_ in trained)),
            "unsafe pairs right": float((m > 0).mean()) if len(m) else float("nan"),
            "unsafe pairs tied": float((m == 0).mean()) if len(m) else float("nan"),
            "unsafe pairs wrong": float((m < 0).mean()) if len(m) else float("nan"),
            "refusal chosen (round's data)": sum(k for *_, k, _ in trained),
            "refusal rejected (round's data)": sum(a for *_, a in trained),
            "samples refusing": float(np.mean([x for s in on_unsafe for x in s["true_reward"]])) if on_unsafe else float("nan"),
            "held-out r* (unsafe)": float(np.mean([e["reward"] for e in ev if e["family"] == UNSAFE])),
            "KL per answer (unsafe)": float(np.mean(kl[UNSAFE])), "KL per answer (other)": float(np.mean(kl[""])),
        })
    return rows
