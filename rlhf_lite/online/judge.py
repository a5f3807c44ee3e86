"""The proxy judge of the online loop: a reward model's scores or a preference model's verdicts.

The loop (rlhf_lite.online.loop) ranks each prompt's samples with :meth:`ProxyJudge.rank_scores`, and the
evaluation (rlhf_lite.online.evaluate) asks it which of two answers it prefers (:meth:`ProxyJudge.margin`),
so the same judge, with the same length penalty (eq. 9), drives the loop and reports on it.
Chapter: the iterative DPO chapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rlhf_lite.config import Config
from rlhf_lite.stages import REWARD_MODELS, prepare_reward_models


class ProxyJudge:
    """The loop's only view of the preference signal: scores for one prompt's n samples, and a verdict
    between two responses. ``kind`` "bt" reads a reward model, "pm" the pairwise preference model
    (Copeland scores: wins minus losses over all pairs, Section 3.3's alternative to a scalar reward).
    ``lam`` is the length penalty per character, applied the same way to both."""

    def __init__(self, name: str, path: str | Path, kind: str, lam: float = 0.0, batch_size: int = 256):
        if kind not in ("bt", "pm"):
            raise ValueError(f"ProxyJudge kind must be 'bt' (reward model) or 'pm' (preference model), got {kind!r}.")
        if lam < 0:
            raise ValueError(f"ProxyJudge: the length penalty must be >= 0, got {lam}.")
        self.name, self.kind, self.lam = name, kind, lam
        self.scalar = kind == "bt"  # has a scalar reward per answer (a preference model only compares two)
        # what the judge's scores depend on (the key of artifacts it scored): its weights and its kind
        self.identity = {"path": str(Path(path).resolve()) if Path(path).exists() else str(path), "kind": kind}
        if kind == "bt":
            from rlhf_lite.reward.bradley_terry import RewardModel

            self.model = RewardModel.from_pretrained(path, batch_size=batch_size)
        else:
            from rlhf_lite.reward.preference import PreferenceModel

            self.model = PreferenceModel.from_pretrained(path, batch_size=batch_size)

    def rank_scores(self, prompts: Sequence, samples: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Raw (unpenalised) scores of each prompt's samples; :func:`pairs.build_pairs` applies the penalty."""
        if self.scalar:
            flat_x = [x for x, row in zip(prompts, samples) for _ in row]
            flat_a = [a for row in samples for a in row]
            scores, out, k = self.model.score(flat_x, flat_a), [], 0
            for row in samples:
                out.append(scores[k:k + len(row)])
                k += len(row)
            return out
        from rlhf_lite.reward.preference import copeland_ranking

        return [copeland_ranking(self.model, x, list(row)) for x, row in zip(prompts, samples)]

    def reward(self, prompts: Sequence, responses: Sequence[str]) -> np.ndarray | None:
        """The proxy reward itself (BT only; a preference model has no scalar reward)."""
        return self.model.score(prompts, responses) if self.scalar else None

    def margin(self, prompts: Sequence, a: Sequence[str], b: Sequence[str], rewards=None) -> np.ndarray:
        """Penalised preference of a over b: > 0 means the judge prefers a. BT: r(a) - r(b); PM: the
        two-response Copeland difference 2 sign(P(a > b) - 1/2). Minus lam (|a| - |b|) in characters.
        ``rewards``: (r(a), r(b)) this BT judge already computed (:meth:`reward`), so as not to score again."""
        if self.scalar:
            ra, rb = rewards if rewards is not None else (self.model.score(prompts, a), self.model.score(prompts, b))
            m = np.asarray(ra, dtype=float) - np.asarray(rb, dtype=float)
        else:
            m = 2.0 * np.sign(self.model.prob_first(prompts, a, b) - 0.5)
        return m - self.lam * (np.array([len(s) for s in a], float) - np.array([len(s) for s in b], float))


class GoldJudge(ProxyJudge):
    """The true reward r* of the lite world as the loop's judge: the ceiling of what online iterative DPO
    can learn with a perfect reward model, against which every learned proxy is measured. No paper can run
    this judge on real prompts (nobody knows r*); the lite world can, which is why the book has it.

    Same interface as a BT judge: scores are r*(x, a), the margin is r*(a) - r*(b), the length penalty
    applies as for any judge."""

    def __init__(self, lam: float = 0.0):
        if lam < 0:
            raise ValueError(f"GoldJudge: the length penalty must be >= 0, got {lam}.")
        from rlhf_lite.world.tasks import true_reward

        self.name, self.kind, self.lam, self.scalar = "gold", "gold", lam, True
        self.identity = {"kind": "gold", "reward": "lite world r*"}
        self.model = _TrueReward(true_reward)


class _TrueReward:
    """r* behind the ``score`` method of a reward model, so the gold judge reuses ProxyJudge's code."""

    def __init__(self, r):
        self.r = r

    def score(self, prompts: Sequence, responses: Sequence[str]) -> np.ndarray:
        from rlhf_lite.data.truth import as_world_prompt

        return np.array([self.r(as_world_prompt(x), a) for x, a in zip(prompts, responses)], dtype=float)


def load_judge(cfg: Config, progress: bool = True, log=print) -> ProxyJudge:
    """The judge named by ``cfg.online.judge``: "gold" (r* itself, lite world only), a chapter-3 model (trained, or reused from the cache), or
    the folder or hub id of a trained reward model (``online.judge_kind`` "bt") or preference model ("pm")."""
    name = cfg.online.judge
    if name == "gold":
        if cfg.data.source != "lite":
            raise ValueError("online.judge 'gold' ranks by the lite world's true reward r*, which only exists with "
                             "data.source 'lite'; with hub data, use a trained reward model.")
        return GoldJudge(lam=cfg.online.length_penalty)
    if name in REWARD_MODELS:
        path = prepare_reward_models(cfg, [name], progress=progress, log=log).models[name]
        return ProxyJudge(name, path, REWARD_MODELS[name][0], lam=cfg.online.length_penalty)
    looks_like_path = Path(name).is_absolute() or name.startswith(".")
    if looks_like_path and not Path(name).exists() or not looks_like_path and "/" not in name:
        raise ValueError(f"online.judge {name!r} is neither a reward model of the book ({sorted(REWARD_MODELS)}) or 'gold', nor "
                         f"an existing folder or a hub id (owner/name).")
    return ProxyJudge(name, name, cfg.online.judge_kind, lam=cfg.online.length_penalty)
