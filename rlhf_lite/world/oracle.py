"""Preference oracles (the paper's Definitions 1-2) and imperfect annotators.

The paper's human feedback is a Bradley-Terry oracle:
    P(a1 > a2 | x) = sigma((r*(x, a1) - r*(x, a2)) / temperature)
Real annotators and the "datasets" built from them are biased; here the bias is explicit and
configurable, so later chapters can measure what each bias does to the reward model and the
online loop:
- verbosity bias: the annotator compares r* + beta_len * |a| instead of r* (|a| in words);
- echo bias: it adds beta_echo to an answer that repeats the prompt's own words (``echoes_prompt``), a
  systematic taste that is neither length nor noise: it rewards doing literally what was asked;
- label noise: with probability ``flip`` the label is flipped after sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rlhf_lite.world.tasks import echoes_prompt, response_length, true_reward

RewardFn = Callable[[str, str], float]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


@dataclass(frozen=True)
class Annotator:
    """A Bradley-Terry preference oracle over the true reward, optionally biased and noisy.

    ``Annotator()`` is the paper's ideal oracle on r*. ``temperature`` -> 0 makes it
    deterministic (ties broken by a fair coin).
    """

    name: str = "oracle"
    temperature: float = 0.1
    beta_len: float = 0.0  # verbosity bias per word of response length
    flip: float = 0.0  # probability of flipping the sampled label
    beta_echo: float = 0.0  # bonus for an answer that repeats the prompt's own words

    def __post_init__(self):
        if self.temperature < 0:
            raise ValueError(f"Annotator {self.name!r}: temperature must be >= 0, got {self.temperature}.")
        if not 0.0 <= self.flip <= 0.5:
            raise ValueError(
                f"Annotator {self.name!r}: flip is a label-noise probability in [0, 0.5], got {self.flip}."
            )

    def perceived_reward(self, prompt: str, response: str, reward: RewardFn = true_reward) -> float:
        """What this annotator 'sees': r*(x, a) + beta_len * |a| (+ beta_echo if a repeats the prompt)."""
        echo = self.beta_echo * echoes_prompt(prompt, response) if self.beta_echo else 0.0
        return reward(prompt, response) + self.beta_len * response_length(response) + echo

    def prob_first(self, prompt: str, a1: str, a2: str, reward: RewardFn = true_reward) -> float:
        """P(the annotator prefers a1 over a2), label noise included."""
        diff = self.perceived_reward(prompt, a1, reward) - self.perceived_reward(prompt, a2, reward)
        if self.temperature == 0:
            p = 1.0 if diff > 0 else 0.0 if diff < 0 else 0.5
        else:
            p = float(sigmoid(diff / self.temperature))
        return (1 - self.flip) * p + self.flip * (1 - p)

    def prefers_first(
        self,
        prompts: Sequence[str],
        first: Sequence[str],
        second: Sequence[str],
        rng: np.random.Generator,
        reward: RewardFn = true_reward,
    ) -> np.ndarray:
        """Sample labels y_i = 1{annotator prefers first[i]} for a batch of pairs."""
        if not len(prompts) == len(first) == len(second):
            raise ValueError(
                f"prefers_first needs equal lengths, got {len(prompts)} prompts, "
                f"{len(first)} first and {len(second)} second responses."
            )
        p = np.array([self.prob_first(x, a, b, reward) for x, a, b in zip(prompts, first, second)])
        return rng.random(len(p)) < p

    def label_pairs(self, records: Sequence[dict], rng: np.random.Generator, reward: RewardFn = true_reward) -> list[dict]:
        """Turn {prompt, a1, a2} records into {prompt, chosen, rejected} by this annotator's labels."""
        y = self.prefers_first([r["prompt"] for r in records], [r["a1"] for r in records], [r["a2"] for r in records], rng, reward)
        out = []
        for r, first in zip(records, y):
            chosen, rejected = (r["a1"], r["a2"]) if first else (r["a2"], r["a1"])
            out.append({"prompt": r["prompt"], "chosen": chosen, "rejected": rejected, "annotator": self.name})
        return out


# Ready-made annotators that later chapters mix into the paper's "datasets".
ORACLE = Annotator("oracle")
VERBOSE = Annotator("verbose", beta_len=0.1)
NOISY = Annotator("noisy", flip=0.2)
