"""The tabular bandit of the theory chapter (paper Sections 1 and 3.2), solved exactly.

Prompts x with probability d0(x), a finite set of responses a per prompt, a reference policy pi_0(a|x)
and a true reward r*(x, a). Here: the KL-regularised objective J(pi) (eq. 2) and its Gibbs maximiser
pi*(a|x) proportional to pi_0(a|x) exp(r*(x, a) / eta) (eq. 3), the reward a policy implies, and the exact
KL of the best-of-n policy against the bound log n - (n - 1)/n (Section 3.3).

Why our own code: these are ten-line closed forms on small tables that no library provides; the
language-model chapters use TRL. Chapter: notebooks/01_theory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class Bandit:
    """A tabular contextual bandit: r (X, A) true reward, pi0 (X, A) reference policy, d0 (X,) prompts."""

    r: np.ndarray
    pi0: np.ndarray
    d0: np.ndarray
    eta: float

    def __post_init__(self):
        if self.r.shape != self.pi0.shape or self.r.ndim != 2:
            raise ValueError(f"Bandit: r and pi0 must be (prompts, responses) tables of one shape, got "
                             f"{self.r.shape} and {self.pi0.shape}.")
        if np.any(self.pi0 <= 0) or not np.allclose(self.pi0.sum(1), 1):
            raise ValueError("Bandit: every row of pi0 must be a distribution with full support "
                             "(KL(pi || pi0) is infinite wherever pi0 is zero).")
        if self.d0.shape != (self.r.shape[0],) or not np.isclose(self.d0.sum(), 1):
            raise ValueError(f"Bandit: d0 must be a distribution over the {self.r.shape[0]} prompts.")
        if self.eta <= 0:
            raise ValueError(f"Bandit: eta must be > 0, got {self.eta}.")

    @property
    def shape(self):
        return self.r.shape


def make_bandit(n_prompts: int = 8, n_responses: int = 10, eta: float = 0.5, seed: int = 0,
                pi0_concentration: float = 1.0, reward_scale: float = 4.0, best_gap: float = 2.0) -> Bandit:
    """A random bandit. Rewards uniform in [0, reward_scale] (the BT oracle sees differences of up to
    reward_scale: a scale of 1 would make every label nearly a coin flip); pi_0 drawn from a Dirichlet (smaller concentration, more
    peaked) and then mixed so that the best response of every prompt is *rare* under pi_0, as for a
    good answer that the SFT model seldom writes. The best response is at least ``best_gap`` above the
    rest: the answer worth finding."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0, reward_scale, size=(n_prompts, n_responses))
    pi0 = rng.dirichlet(np.full(n_responses, pi0_concentration), size=n_prompts)
    best = r.argmax(1)
    r[np.arange(n_prompts), best] += best_gap
    pi0[np.arange(n_prompts), best] *= 0.05
    pi0 = 0.98 * pi0 / pi0.sum(1, keepdims=True) + 0.02 / n_responses  # full support
    return Bandit(r=r, pi0=pi0, d0=np.full(n_prompts, 1 / n_prompts), eta=eta)


def kl_rows(pi: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """KL(pi(.|x) || ref(.|x)) for every prompt (0 log 0 = 0)."""
    pi, ref = np.asarray(pi, dtype=float), np.asarray(ref, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pi > 0, pi * (np.log(pi) - np.log(ref)), 0.0)
    return terms.sum(-1)


def value(pi: np.ndarray, bandit: Bandit, r: np.ndarray | None = None) -> float:
    """J(pi) = E_x [ E_{a ~ pi} r(x, a) - eta KL(pi(.|x) || pi_0(.|x)) ]  (paper, eq. 2)."""
    r = bandit.r if r is None else r
    per_prompt = (pi * r).sum(1) - bandit.eta * kl_rows(pi, bandit.pi0)
    return float(bandit.d0 @ per_prompt)


def gibbs_policy(pi0: np.ndarray, r: np.ndarray, eta: float) -> np.ndarray:
    """pi*(a|x) proportional to pi_0(a|x) exp(r(x, a) / eta)  (paper, eq. 3), computed stably."""
    logits = np.log(pi0) + np.asarray(r, dtype=float) / eta
    logits -= logits.max(-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


def optimal_value(bandit: Bandit) -> float:
    """J(pi*) = eta E_x log sum_a pi_0(a|x) exp(r(x,a)/eta): the closed form of the maximum."""
    z = np.log(bandit.pi0) + bandit.r / bandit.eta
    m = z.max(1)
    return float(bandit.d0 @ (bandit.eta * (m + np.log(np.exp(z - m[:, None]).sum(1)))))


def ascend_value(bandit: Bandit, steps: int = 4000, lr: float = 3.0, seed: int = 0) -> tuple[np.ndarray, list[float]]:
    """Maximise J over softmax policies pi = softmax(z) by plain gradient ascent on z from a random start;
    returns (pi, J history). An independent check of eq. 3: wherever it starts, it ends at the Gibbs
    policy's value. The gradient is analytic: dJ/dz(x, .) = d0(x) pi * (g - E_pi g), with
    g = r - eta (log pi - log pi_0) - eta."""
    z = np.random.default_rng(seed).normal(size=bandit.shape)
    logpi0 = np.log(bandit.pi0)
    hist = []
    for _ in range(steps):
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        p = np.exp(logp)
        hist.append(value(p, bandit))
        g = bandit.r - bandit.eta * (logp - logpi0) - bandit.eta
        z = z + lr * bandit.d0[:, None] * p * (g - (p * g).sum(1, keepdims=True)) / bandit.d0.max()
    return p, hist


def implied_reward(pi: np.ndarray, pi0: np.ndarray, eta: float) -> np.ndarray:
    """DPO's reparameterisation r(x, a) = eta log pi(a|x)/pi_0(a|x), up to a constant per prompt
    (rows centred to mean zero so they compare with a centred r*)."""
    r = eta * (np.log(pi) - np.log(pi0))
    return r - r.mean(1, keepdims=True)


def best_of_n_policy(pi: np.ndarray, r: np.ndarray, n: int) -> np.ndarray:
    """Exact distribution of the best of n i.i.d. draws from pi (one prompt), ranked by r.

    With responses sorted by reward, P(best = a) = F(a)^n - F(a-)^n where F is pi's CDF in that order.
    Responses with equal reward share their block's probability in proportion to pi (a tie is broken
    at random among the tied draws)."""
    pi, r = np.asarray(pi, dtype=float), np.asarray(r, dtype=float)
    out = np.zeros_like(pi)
    levels = np.unique(r)  # ascending
    below = 0.0
    for lv in levels:
        block = r == lv
        mass = pi[block].sum()
        p_block = (below + mass) ** n - below ** n
        out[block] = p_block * pi[block] / mass if mass > 0 else 0.0
        below += mass
    return out


def best_of_n_kl(pi: np.ndarray, r: np.ndarray, n: int) -> float:
    """KL(pi_bon || pi), exactly."""
    return float(kl_rows(best_of_n_policy(pi, r, n), pi))


def best_of_n_kl_bound(n: int) -> float:
    """The commonly quoted value log n - (n - 1)/n (paper, Section 3.3), an upper bound on the KL."""
    return float(np.log(n) - (n - 1) / n)


def best_of_n_slack(kl_table: Mapping[str, Sequence[float]], ns: Sequence[int]) -> float:
    """The smallest room left under the bound, log n - (n - 1)/n - KL(best-of-n || base), over every base policy of
    ``kl_table`` ({name: KL for each n of ``ns``}) and every n: negative would mean a curve crossed it."""
    return float(min(math.log(n) - (n - 1) / n - kl for k in kl_table.values() for n, kl in zip(ns, k)))


def expected_best_worst_gap(pi: np.ndarray, r: np.ndarray, n: int) -> float:
    """E[r(best of n)] - E[r(worst of n)] under i.i.d. draws from pi, exactly."""
    best = best_of_n_policy(pi, r, n)
    worst = best_of_n_policy(pi, -np.asarray(r, dtype=float), n)
    return float(best @ r - worst @ r)
