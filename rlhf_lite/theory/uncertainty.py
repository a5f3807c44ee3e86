"""The linear-feature uncertainty Gamma_t of the paper's Algorithm 1 and the information an enhancer's
choice of pairs gains: why exploring where the model is unsure shrinks the uncertainty faster.

Why our own code: a few lines of linear algebra no library packages this way. Chapter: notebooks/01_theory.
"""

from __future__ import annotations

import numpy as np


def gamma(sigma: np.ndarray, phi1: np.ndarray, phi2: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Gamma = beta || phi1 - phi2 ||_{Sigma^{-1}} for rows of (expected) feature vectors: how uncertain
    the reward difference between two policies still is after the data behind Sigma."""
    d = np.atleast_2d(phi1 - phi2)
    sol = np.linalg.solve(sigma, d.T).T
    return beta * np.sqrt(np.einsum("ij,ij->i", d, sol))


def info_gain(sigma: np.ndarray, dphi: np.ndarray) -> np.ndarray:
    """log det(Sigma + d d^T) - log det(Sigma) = log(1 + ||d||^2_{Sigma^{-1}}) for each row d: what
    one comparison along d adds to the design. The enhancer's pick maximises ||d||_{Sigma^{-1}}, hence this."""
    d = np.atleast_2d(dphi)
    return np.log1p(np.einsum("ij,ij->i", d, np.linalg.solve(sigma, d.T).T))


def uncertainty_curve(phi: np.ndarray, main: np.ndarray, total: int, batch: int, rng: np.random.Generator,
                      rule: str = "enhancer", lam: float = 1.0, beta: float = 1.0) -> np.ndarray:
    """How the uncertainty Gamma shrinks as comparisons accumulate, in the linear case r = theta . phi.

    phi (X, K, d): features of K candidate responses per prompt; main (X,): the main agent's response.
    Each comparison draws a prompt and pairs the main agent's response with a second one, chosen either
    by the enhancer (the response whose difference from the main agent's is largest in the
    Sigma^{-1} norm, i.e. the most informative comparison) or at random. Sigma = lam I + sum d d^T is
    updated only between batches of ``batch`` comparisons, as in the batched online loop. Returns
    Gamma after each batch: the mean over prompts of max_k beta ||phi(x,k) - phi(x,main)||_{Sigma^{-1}}."""
    if rule not in ("enhancer", "random"):
        raise ValueError(f"rule must be 'enhancer' or 'random', got {rule!r}.")
    X, K, d = phi.shape
    diffs = phi - phi[np.arange(X), main][:, None, :]  # (X, K, d)
    sigma = lam * np.eye(d)

    def current_gamma():
        sol = np.linalg.solve(sigma, diffs.reshape(-1, d).T).T.reshape(X, K, d)
        return float(beta * np.sqrt(np.einsum("xkd,xkd->xk", diffs, sol).max(1)).mean())

    out = [current_gamma()]
    done = 0
    while done < total:
        m = min(batch, total - done)
        xs = rng.integers(X, size=m)
        if rule == "enhancer":
            inv = np.linalg.inv(sigma)
            ks = np.argmax(np.einsum("mkd,de,mke->mk", diffs[xs], inv, diffs[xs]), axis=1)
        else:
            ks = rng.integers(K, size=m)
        dd = diffs[xs, ks]
        sigma = sigma + dd.T @ dd
        done += m
        out.append(current_gamma())
    return np.array(out)
