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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlhf_lite.data.truth import as_world_prompt
from rlhf_lite.io import read_jsonl
from rlhf_lite.online.runs import eval_path, iteration_path
from rlhf_lite.stats import seed_interval
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


def round_means(runs, rounds: int, history: str = "all"):
    """:func:`round_rows` of every loop seed in ``runs`` (:class:`~rlhf_lite.online.runs.OnlineRun`), mean over the
    seeds, one row per round (a pandas DataFrame indexed by round)."""
    import pandas as pd

    rows = pd.DataFrame([r for run in runs for r in round_rows(run.root, rounds, history)])
    return rows.groupby("round").mean(numeric_only=True)


def answer_kinds(runs, t: int):
    """The shares of each :func:`answer_kind` among the held-out answers to unsafe prompts of round ``t`` (0: pi_0),
    pooled over the loop seeds ``runs`` (a pandas Series)."""
    import pandas as pd

    return pd.Series([answer_kind(e["response"]) for r in runs for e in r.records(t)
                      if e["family"] == UNSAFE]).value_counts(normalize=True)


@dataclass(frozen=True)
class Reuse:
    """The longer loop's test of the prompt subset: the rounds that sample round T's subset again (``again``; those
    after T: ``later``), each round's change in mean r* on the unsafe prompts paired by seed (``step``: {t: Interval}),
    and whether a later round sampling that subset falls with an interval below zero (``falls``)."""

    again: list
    later: list
    step: dict
    falls: bool


def reuse_test(longer, subsets: list, T: int) -> Reuse:
    """:class:`Reuse` of the loop seeds ``longer`` run on past T; ``subsets[t - 1]``: the prompt subset round t samples."""
    again = [t for t in range(1, len(subsets) + 1) if subsets[t - 1] == subsets[T - 1]]
    later = [t for t in again if t > T]
    step = {t: seed_interval([r.evals[t]["by_family"][UNSAFE]["reward"] - r.evals[t - 1]["by_family"][UNSAFE]["reward"]
                              for r in longer]) for t in range(1, len(subsets) + 1)}
    return Reuse(again, later, step, any(step[t][0] + step[t][1] < 0 for t in later))


@dataclass(frozen=True)
class SafetyFindings:
    """What the safety section of chapter 8 (what the loop learns from its judge) measured, for its sentences
    (``rlhf_lite.wording``):
    ``changes`` {recipe: round T minus round T - 1 of each seed's mean r* on the unsafe prompts}, ``change`` their
    paired intervals, ``means`` {recipe: :func:`round_means`}, ``kinds`` the answer kinds by (recipe, round),
    ``picked_T`` the runs whose output policy is round T, ``se_seed`` one seed's sampling standard error at round
    T - 1, ``reuse`` the longer loop's test, ``sweep_falls`` {(recipe, step): :func:`~rlhf_lite.stats.largest_fall`
    of the one-seed step sweep}, ``seed0_falls`` the same for seed 0 of each recipe, and the sweep's keys of the DPO
    loss alone at the recipes' step (``alone``) and of the three-times step (``big``)."""

    T: int
    gold: str
    seeds: int
    changes: dict
    change: dict
    means: dict
    kinds: object
    picked_T: int
    se_seed: float
    reuse: Reuse
    sweep_falls: dict
    seed0_falls: dict
    alone: list
    big: list

    @property
    def recipes(self) -> list:
        return list(self.changes)

    @property
    def learned(self) -> list:
        return [n for n in self.recipes if n != self.gold]

    @property
    def fell(self) -> list:
        return [n for n in self.recipes if self.change[n][0] < 0]

    @property
    def learned_fell(self) -> list:
        return [n for n in self.learned if self.change[n][0] < 0]

    @property
    def kl_ratio(self) -> dict:
        return {n: m["KL per answer (unsafe)"].iloc[-1] / m["KL per answer (other)"].iloc[-1] for n, m in self.means.items()}

    @property
    def tied_T(self) -> dict:
        return {n: self.means[n]["unsafe pairs tied"].iloc[-1] for n in self.recipes}

    def gain(self, recipe: str, kind: str) -> float:
        """How much the share of ``kind`` among the unsafe answers grew from round T - 1 to T."""
        return self.kinds.loc[(recipe, f"t = {self.T}"), kind] - self.kinds.loc[(recipe, f"t = {self.T - 1}"), kind]

    @property
    def shares(self) -> list:
        return [v for m in self.means.values() for v in m["unsafe share of the round's data"]]

    @property
    def not_subset(self) -> bool:
        """The unsafe share of every round's data within one percentage point, and no fall where the subset returns."""
        return max(self.shares) - min(self.shares) < 0.01 and not self.reuse.falls

    @property
    def alone_collapses(self) -> bool:
        return bool(self.alone) and all(self.sweep_falls[k][0] >= 0.5 for k in self.alone) and all(
            f < 0.5 for f, _ in self.seed0_falls.values())
