"""What a loop seed, an offline baseline or an offline arm left in its folder, read back by role, not by path.

The folder layout of one loop seed (``runs/<recipe>/seed<k>/``), written by :mod:`rlhf_lite.online.loop` through
the path helpers below and read back through the same helpers, so the layout is named in one place:

- ``pi0_eval/``: pi_0's samples on the held-out prompts (``eval.jsonl``) and validation prompts (``validation.jsonl``);
- ``iter<t>/``: round t's ``generations.jsonl``, ``samples.jsonl`` (n answers per prompt, scored by the judge and,
  in the lite world, by r*), ``pair_report.json`` and ``pairs.jsonl`` (D_t), the iterate ``policy/`` with its
  ``train_metrics.json``, and its evaluation ``eval/{eval,validation}.jsonl``;
- ``summary.json``: every round's evaluation summary and the output policy.

A chapter asks ``run.samples(t)``, ``run.pairs(t)`` or ``run.records(t)``, never a file name, so a change of layout
breaks a test here, not a page. The loop imports this module (it writes through the same paths), so its cache key
covers it: a change of layout retrains, as it must.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlhf_lite.io import read_jsonl

PI0_EVAL = "pi0_eval"


def iteration_path(root: Path, t: int) -> Path:
    """Round t's folder of the loop seed whose folder is ``root`` (t >= 1; pi_0 has no round folder)."""
    if t < 1:
        raise ValueError(f"iteration_path: rounds are numbered from 1 (pi_1 is the first DPO model), got t = {t}; "
                         "pi_0's evaluation is eval_path(root, 0).")
    return Path(root) / f"iter{t}"


def eval_path(root: Path, t: int) -> Path:
    """Where pi_t's evaluation records are: ``pi0_eval/`` for t = 0, ``iter<t>/eval/`` after."""
    return Path(root) / PI0_EVAL if t == 0 else iteration_path(root, t) / "eval"


@dataclass
class OnlineRun:
    """One loop seed: its folder, pi_0, the iterates pi_1..pi_T and what the loop measured of each.

    ``evals[t]`` is the summary of pi_t on the held-out prompts (t = 0: pi_0 against itself), each metric a
    (mean, 95% half-width) pair; ``validation[t - 1]`` the proxy's win rate of pi_t on the validation prompts;
    ``best`` the output policy's t (by that proxy, as Algorithm 2 asks)."""

    root: Path
    pi0: Path
    policies: list  # pi_1 .. pi_T
    evals: list  # summaries of pi_0 .. pi_T on the eval prompts
    validation: list  # proxy win rate against pi_0 on validation prompts, pi_1 .. pi_T
    pair_reports: list  # one per iteration
    train_metrics: list  # one per iteration (includes the reference each DPO round used)
    best: int = field(default=0)  # t of the output policy (by the validation proxy)

    @property
    def output(self) -> Path:
        return self.policies[self.best - 1]

    @property
    def rounds(self) -> int:
        """T: the number of DPO rounds this run holds."""
        return len(self.policies)

    def _round(self, t: int, allow_zero: bool = False) -> int:
        """``t`` with -1 read as the last round, checked against the rounds this run holds."""
        t = self.rounds if t == -1 else t
        if not (0 if allow_zero else 1) <= t <= self.rounds:
            raise IndexError(f"{self.root}: asked for round {t}, but this run holds rounds "
                             f"{0 if allow_zero else 1}..{self.rounds} (-1 is the last).")
        return t

    def iteration(self, t: int) -> Path:
        return iteration_path(self.root, self._round(t))

    def samples(self, t: int) -> list[dict]:
        """Round t's sampled answers: one row per prompt (``prompt``, ``responses``, ``temperatures``, the judge's
        ``proxy`` scores and, in the lite world, ``true_reward``)."""
        return read_jsonl(self.iteration(t) / "samples.jsonl")

    def pairs(self, t: int) -> list[dict]:
        """D_t, the pairs round t kept (``prompt_id`` is the row of :meth:`samples` it came from)."""
        return read_jsonl(self.iteration(t) / "pairs.jsonl")

    def pair_stream(self, upto: int | None = None) -> list[dict]:
        """D_1, D_2, .. D_upto (default: every round) one after the other, in the order the loop trained on them."""
        return [p for t in range(1, self._round(-1 if upto is None else upto) + 1) for p in self.pairs(t)]

    def records(self, t: int = -1, split: str = "eval") -> list[dict]:
        """pi_t's scored samples on the held-out (``split="eval"``) or validation prompts; t = 0 is pi_0."""
        if split not in ("eval", "validation"):
            raise ValueError(f"records: split must be 'eval' or 'validation', got {split!r}.")
        return read_jsonl(eval_path(self.root, self._round(t, allow_zero=True)) / f"{split}.jsonl")

    def metric(self, key: str, t: int = -1) -> float:
        """The mean of one of pi_t's summary metrics (``win_rate``, ``reward``, ``length``, ``chars``, ``kl``, ...)."""
        return float(self.evals[self._round(t, allow_zero=True)][key][0])

    def family_curve(self, family: str, field: str = "reward") -> list[float]:
        """A task family's mean of ``field`` in pi_0, pi_1, .. pi_T (e.g. the unsafe prompts' r*)."""
        return [float(e["by_family"][family][field]) for e in self.evals]

    def pair_passes(self, epochs: float, upto: int | None = None) -> float:
        """DPO pair passes of rounds 1..upto (default: all): pairs trained on times the epochs of each round."""
        return sum(m["train_pairs"] for m in self.train_metrics[:self._round(-1 if upto is None else upto)]) * epochs

    def true_best(self) -> int:
        """The round r* would pick as the output policy (highest true win rate; the lite world knows it)."""
        return int(np.argmax([e["win_rate"][0] for e in self.evals[1:]])) + 1


def arm_pairs(result: dict) -> list[dict]:
    """The pairs an offline arm trained on (a result of :func:`rlhf_lite.online.arms.arm`), in its order."""
    return read_jsonl(Path(result["policy"]).parent / "pairs.jsonl")


def offline_records(result: dict) -> list[dict]:
    """The offline-DPO baseline's scored samples on the held-out prompts (a result of
    :func:`rlhf_lite.online.offline.run_offline`)."""
    return read_jsonl(Path(result["policy"]).parent / "eval" / "eval.jsonl")
