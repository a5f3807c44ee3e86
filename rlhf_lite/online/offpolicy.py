"""Offline data written by other policies, and how far a data set is from pi_0.

The paper's offline baseline (DPO on Nectar) and its reward models (MIX2) learn from responses that other
models wrote: GPT-4, GPT-3.5, LLaMA-2 and more, not the SFT model being aligned. The lite twins of those
datasets write with the demonstration maker that trained pi_0, so their responses are as likely under pi_0
as pi_0's own samples: "offline" data that is in effect on-policy. A :class:`Writer` is a behaviour policy
that writes *unlike* pi_0 by a set amount while giving the same answers underneath: it weaves filler words
into the answer where pi_0's demonstrations never put them ("1 well 2 3"). r* ignores filler, so every
writer's answers have the same true reward; only their distance from pi_0 changes.

The distance of a data set is the mean log-likelihood per token of its responses under pi_0, minus the same
number for pi_0's own samples on the same prompts (nats per token; 0: as likely as pi_0's own answers).
:func:`calibrate` finds the amount of weaving that gives a target distance.

Why our own code: no library writes responses in a controlled style or measures a data set's distance from
a policy; the log-likelihoods come from :func:`rlhf_lite.policy.sampling.sequence_logprobs`.
Chapter: why online beats offline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rlhf_lite import world
from rlhf_lite.policy.sampling import sequence_logprobs

_WOVEN = tuple(sorted(world.FILLER))  # the words a writer weaves in: r* strips every one of them


@dataclass(frozen=True)
class Writer:
    """A behaviour policy other than pi_0: the demonstration maker's answers (pi_0's training data, so the
    same quality at every distance), with on average ``foreign`` filler words woven in at random places
    (a Poisson number per response). ``foreign = 0`` is the demonstration maker itself, the lite twins'
    writer."""

    name: str
    foreign: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.foreign) and self.foreign >= 0):
            raise ValueError(f"Writer {self.name!r}: foreign is a mean number of woven words, >= 0; got {self.foreign}.")


def _poisson_quantile(u: float, lam: float) -> int:
    """The smallest k with P(K <= k) >= u for K ~ Poisson(lam): one uniform gives a count that never falls as
    lam grows, so a writer with more weaving changes the same responses further (calibration needs this)."""
    if lam == 0:
        return 0
    k, p = 0, math.exp(-lam)
    cdf = p
    while cdf < u and k < 1000:
        k += 1
        p *= lam / k
        cdf += p
    return k


def write_samples(writer: Writer, prompts: Sequence[str], n: int, world_cfg: world.WorldConfig,
                  seed: int) -> list[list[str]]:
    """n responses of ``writer`` to each lite prompt. The answers underneath depend on ``seed`` only, not on
    the writer, so two writers differ in their weaving alone (and by the same draws: common random numbers)."""
    if n < 1:
        raise ValueError(f"write_samples needs n >= 1 responses per prompt, got {n}.")
    out = []
    for i, x in enumerate(prompts):
        content = np.random.default_rng([seed, i, 0])
        row = []
        for j in range(n):
            words = world.demonstration(x, content, world_cfg).split()
            style = np.random.default_rng([seed, i, j, 1])
            for _ in range(_poisson_quantile(float(style.random()), writer.foreign)):
                words.insert(int(style.integers(len(words) + 1)), _WOVEN[int(style.integers(len(_WOVEN)))])
            row.append(" ".join(words))
        out.append(row)
    return out


def response_logliks(model, tokenizer, prompts: Sequence, responses: Sequence[str],
                     batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(log pi(a | x) summed over the response's tokens, number of tokens) for each response text, with the
    EOS that closes an assistant turn, as DPO's chat template writes it. Prompts are strings or messages."""
    ids = [tokenizer(a, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for a in responses]
    return sequence_logprobs(model, tokenizer, list(prompts), ids, batch_size=batch_size), np.array([len(i) for i in ids])


def per_token(logp: np.ndarray, tokens: np.ndarray) -> float:
    """Mean log-likelihood per token, pooled over responses (long responses weigh by their tokens)."""
    tokens = np.asarray(tokens)
    if tokens.sum() == 0:
        raise ValueError("per_token: no tokens.")
    return float(np.asarray(logp).sum() / tokens.sum())


def samples_distance(model, tokenizer, prompts: Sequence, rows: Sequence[Sequence[str]], own: float) -> float:
    """How far the responses ``rows[i]`` (several per prompt) to ``prompts[i]`` sit from pi_0 (``model``): their
    per-token log-likelihood minus ``own``, that of pi_0's own samples on comparable prompts
    (:func:`rlhf_lite.online.analysis.own_samples`)."""
    flat = [(x, a) for x, row in zip(prompts, rows) for a in row]
    return per_token(*response_logliks(model, tokenizer, [x for x, _ in flat], [a for _, a in flat])) - own


def calibrate(target: float, model, tokenizer, prompts: Sequence[str], own: float, world_cfg: world.WorldConfig,
              seed: int = 0, n: int = 2, tol: float = 0.02, hi: float = 8.0) -> tuple[float, float]:
    """The ``foreign`` amount whose writer's responses to ``prompts`` sit ``target`` nats per token below pi_0's
    own samples (``own``: their per-token log-likelihood under pi_0), by bisection. Returns (foreign, the
    distance measured there). ``target`` must be <= 0 and reachable: the demonstration maker itself
    (foreign 0) is the nearest writer this family has."""
    def gap(foreign: float) -> float:
        return samples_distance(model, tokenizer, prompts, write_samples(Writer("calibration", foreign), prompts, n,
                                                                         world_cfg, seed), own)

    lo_gap, hi_gap = gap(0.0), gap(hi)
    if not hi_gap <= target <= lo_gap:
        raise ValueError(f"calibrate: a distance of {target:+.2f} nats per token is outside what this writer family "
                         f"reaches here ({hi_gap:+.2f} at foreign {hi} to {lo_gap:+.2f} at foreign 0).")
    lo, foreign, measured = 0.0, 0.0, lo_gap
    for _ in range(30):
        if abs(measured - target) <= tol:
            break
        foreign = (lo + hi) / 2
        measured = gap(foreign)
        lo, hi = (foreign, hi) if measured > target else (lo, foreign)
    return foreign, measured
