"""Exact routines for the theory chapter (paper Sections 1 and 3.2), in worlds small enough to solve.

A tabular contextual bandit: prompts x with probability d0(x), a finite set of responses a per prompt,
a reference policy pi_0(a|x) and a true reward r*(x, a). Everything here is computed exactly (sums
over the table) or fitted numerically, so the notebook can check the paper's statements
against closed forms:

- the Bradley-Terry preference oracle (eq. 1) and the maximum-likelihood reward, identified only up
  to a constant per prompt;
- the KL-regularised objective J(pi) (eq. 2) and its Gibbs maximiser
  pi*(a|x) proportional to pi_0(a|x) exp(r*(x, a) / eta) (eq. 3);
- DPO (eq. 5) on a tabular policy, and its minimiser under full coverage;
- offline DPO against the online iterative procedure (Algorithm 1 / 2) with and without exploration;
- the linear-feature uncertainty Gamma_t of Algorithm 1 and the enhancer's choice;
- the exact KL of the best-of-n policy and the bound log n - (n - 1)/n (Section 3.3).

Why our own code: these are ten-line closed forms on small tables that no library provides; the
language-model chapters use TRL. Chapter: notebooks/00_theory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .oracle import sigmoid


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


# ----------------------------------------------------------------------------- objective and Gibbs policy

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


# ----------------------------------------------------------------------------- Bradley-Terry oracle and MLE

def sample_pairs(policy_a: np.ndarray, policy_b: np.ndarray, d0: np.ndarray, n: int, rng: np.random.Generator):
    """n prompts from d0, a1 ~ policy_a(.|x), a2 ~ policy_b(.|x)."""
    x = rng.choice(len(d0), size=n, p=d0)
    a1 = np.array([rng.choice(policy_a.shape[1], p=policy_a[i]) for i in x])
    a2 = np.array([rng.choice(policy_b.shape[1], p=policy_b[i]) for i in x])
    return x, a1, a2


def bt_labels(r: np.ndarray, x, a1, a2, rng: np.random.Generator) -> np.ndarray:
    """The preference oracle (eq. 1): 1 if a1 is preferred, drawn with P = sigma(r(x,a1) - r(x,a2))."""
    return (rng.random(len(x)) < sigmoid(r[x, a1] - r[x, a2])).astype(int)


def winners_losers(x, a1, a2, y):
    """(x, a_w, a_l) from pairs and labels (1: a1 preferred)."""
    y = np.asarray(y).astype(bool)
    return np.asarray(x), np.where(y, a1, a2), np.where(y, a2, a1)


def bt_mle(x, a_w, a_l, shape, l2: float = 1e-4, steps: int = 500) -> np.ndarray:
    """Maximum-likelihood reward under Bradley-Terry, -sum log sigma(r(x,a_w) - r(x,a_l)) + l2 |r|^2.

    Only differences within a prompt enter the likelihood, so r is identified up to a constant per
    prompt; the tiny ridge picks the solution whose rows have mean zero (the one we return). Responses
    never compared get reward 0: the data says nothing about them."""
    r = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    xs, w, lo = (torch.as_tensor(np.asarray(v), dtype=torch.long) for v in (x, a_w, a_l))
    opt = torch.optim.LBFGS([r], lr=1, max_iter=steps, line_search_fn="strong_wolfe", tolerance_grad=1e-10)

    def closure():
        opt.zero_grad()
        loss = -torch.nn.functional.logsigmoid(r[xs, w] - r[xs, lo]).sum() + l2 * (r ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return r.detach().numpy()


# ----------------------------------------------------------------------------- DPO on a tabular policy

def dpo_fit(bandit: Bandit, x, a_w, a_l, weights=None, init: np.ndarray | None = None, steps: int = 300,
            l2: float = 0.0) -> np.ndarray:
    """Minimise the DPO loss (eq. 5) over a tabular softmax policy:

        -sum_i w_i log sigma( eta log pi(a_w|x)/pi_0(a_w|x) - eta log pi(a_l|x)/pi_0(a_l|x) ).

    ``weights`` lets the caller pass *expected* data (every pair with the probability of each label),
    so the minimiser can be compared with pi* exactly. ``init`` warm-starts from a policy (the online
    loop does). With l2 = 0 a response that appears in no pair keeps its initial logit: DPO never moves
    it (the ridge, which acts on the whole table, moves it slightly).

    ``l2`` adds (l2 / number of pairs) * sum over the table of (eta log pi/pi_0)^2: a ridge on the implied
    reward worth l2 pseudo-pairs, whose weight fades as data accumulates (the regularised MLE of the
    paper's analysis, Sigma_t = lambda I + ...). Without it, finite data in which
    one response always beats another drives their log-ratio gap to infinity, and the policy collapses
    onto whatever won, paying an unbounded KL."""
    logits0 = np.log(bandit.pi0 if init is None else init)
    logits = torch.tensor(logits0, dtype=torch.float64, requires_grad=True)
    logpi0 = torch.log(torch.tensor(bandit.pi0))
    xs, w, lo = (torch.as_tensor(np.asarray(v), dtype=torch.long) for v in (x, a_w, a_l))
    wt = torch.ones(len(xs), dtype=torch.float64) if weights is None else torch.as_tensor(weights, dtype=torch.float64)
    opt = torch.optim.LBFGS([logits], lr=1, max_iter=steps, line_search_fn="strong_wolfe", tolerance_grad=1e-10)

    def closure():
        opt.zero_grad()
        ratio = torch.log_softmax(logits, -1) - logpi0
        loss = -(wt * torch.nn.functional.logsigmoid(bandit.eta * (ratio[xs, w] - ratio[xs, lo]))).sum() / wt.sum()
        if l2:
            loss = loss + l2 * ((bandit.eta * ratio) ** 2).sum() / len(xs)
        loss.backward()
        return loss

    opt.step(closure)
    return torch.softmax(logits.detach(), -1).numpy()


def all_pairs_expected(bandit: Bandit):
    """Every ordered pair (x, a, b), a != b, weighted by d0(x) P(a > b | x): the DPO data of infinite,
    full-coverage sampling."""
    X, A = bandit.shape
    xs, ws, ls, wt = [], [], [], []
    for x in range(X):
        for a in range(A):
            for b in range(A):
                if a != b:
                    xs.append(x), ws.append(a), ls.append(b)
                    wt.append(bandit.d0[x] * sigmoid(bandit.r[x, a] - bandit.r[x, b]))
    return np.array(xs), np.array(ws), np.array(ls), np.array(wt)


def implied_reward(pi: np.ndarray, pi0: np.ndarray, eta: float) -> np.ndarray:
    """DPO's reparameterisation r(x, a) = eta log pi(a|x)/pi_0(a|x), up to a constant per prompt
    (rows centred to mean zero so they compare with a centred r*)."""
    r = eta * (np.log(pi) - np.log(pi0))
    return r - r.mean(1, keepdims=True)


# ----------------------------------------------------------------------------- offline vs online

def dpo_on_labels(bandit: Bandit, x, a1, a2, y, init: np.ndarray | None = None, l2: float = 1.0) -> np.ndarray:
    """DPO on oracle-labelled pairs, the step offline and online runs share. A pair of one response
    twice carries no preference and is dropped (the paper drops them too)."""
    xx, aw, al = winners_losers(x, a1, a2, y)
    keep = aw != al
    return dpo_fit(bandit, xx[keep], aw[keep], al[keep], init=init, l2=l2)


def behaviour_without_best(bandit: Bandit) -> np.ndarray:
    """A behaviour policy that never writes the best response of any prompt (offline data that lacks
    coverage of pi*): pi_0 with the argmax of r* removed and the rest renormalised."""
    b = bandit.pi0.copy()
    b[np.arange(bandit.shape[0]), bandit.r.argmax(1)] = 0.0
    return b / b.sum(1, keepdims=True)


def best_worst_of_n(policy: np.ndarray, r: np.ndarray, x, n: int, rng: np.random.Generator):
    """For each prompt in x, n samples from policy; return the best and the worst as ranked by r (the
    paper's rejection-sampling pair). Ties in r are broken at random."""
    best, worst = np.empty(len(x), dtype=int), np.empty(len(x), dtype=int)
    for k, i in enumerate(x):
        s = rng.choice(policy.shape[1], size=n, p=policy[i])
        score = r[i, s] + 1e-9 * rng.random(n)
        best[k], worst[k] = s[np.argmax(score)], s[np.argmin(score)]
    return best, worst


EXPLORATION = ("none", "best-worst", "enhancer")


def enhancer_policy(pi: np.ndarray, counts: np.ndarray, eta: float, bonus: float) -> np.ndarray:
    """The enhancer of Algorithm 1 in tabular form: the main agent's Gibbs policy with an optimistic
    bonus bonus / sqrt(1 + N(x, a)) added to the implied reward, so responses that have rarely been
    compared (where the reward estimate is most uncertain) are tried: the Gibbs tilt of pi by that bonus."""
    return gibbs_policy(pi, bonus / np.sqrt(1.0 + counts), eta)


def run_online(bandit: Bandit, iterations: int, batch: int, rng: np.random.Generator, explore: str = "best-worst",
               n: int = 8, bonus: float = 1.0, l2: float = 1.0, rank_by: str = "model") -> list[float]:
    """Online iterative DPO (Algorithm 2 in tabular form). Each iteration: draw ``batch`` prompts, form
    pairs from the current policy, ask the oracle, add them to all data so far, refit DPO (reference
    pi_0, warm start from the current policy, ridge ``l2``). ``explore``: "none" (both responses sampled
    from the main agent), "best-worst" (best-of-n and worst-of-n of the main agent's samples, the paper's
    practical choice) or "enhancer" (one response from the main agent, one from ``enhancer_policy``).
    Best-worst ranks the n samples with ``rank_by``: "model", the main agent's own reward estimate
    eta log(pi/pi_0) (the paper ranks with its reward model, which is fitted to the same kind of data),
    or "oracle", r* itself (extra information no practitioner has). Either way the pair's label is one
    draw from the oracle, so every method spends ``batch`` queries an iteration.
    Returns J after every iteration, starting with J(pi_0)."""
    if explore not in EXPLORATION:
        raise ValueError(f"explore must be one of {EXPLORATION}, got {explore!r}.")
    if rank_by not in ("model", "oracle"):
        raise ValueError(f"rank_by must be 'model' or 'oracle', got {rank_by!r}.")
    pi = bandit.pi0.copy()
    counts = np.zeros(bandit.shape)  # how often each response has been compared
    data = ([], [], [], [])
    hist = [value(pi, bandit)]
    for _ in range(iterations):
        x = rng.choice(bandit.shape[0], size=batch, p=bandit.d0)
        if explore == "best-worst":
            ranker = bandit.r if rank_by == "oracle" else bandit.eta * (np.log(pi) - np.log(bandit.pi0))
            a1, a2 = best_worst_of_n(pi, ranker, x, n, rng)
        else:
            a1 = np.array([rng.choice(pi.shape[1], p=pi[i]) for i in x])
            other = pi if explore == "none" else enhancer_policy(pi, counts, bandit.eta, bonus)
            a2 = np.array([rng.choice(pi.shape[1], p=other[i]) for i in x])
        y = bt_labels(bandit.r, x, a1, a2, rng)
        differ = a1 != a2  # the paper drops a pair of one response twice: it carries no preference
        np.add.at(counts, (x[differ], a1[differ]), 1)
        np.add.at(counts, (x[differ], a2[differ]), 1)
        for store, v in zip(data, (x, a1, a2, y)):
            store.append(v)
        pi = dpo_on_labels(bandit, *(np.concatenate(v) for v in data), init=pi, l2=l2)
        hist.append(value(pi, bandit))
    return hist


def run_offline(bandit: Bandit, n_pairs: int, rng: np.random.Generator, behaviour: np.ndarray | None = None,
                l2: float = 1.0) -> float:
    """Offline DPO: all n_pairs pairs drawn once from a behaviour policy (by default one that never writes
    the best responses), labelled by the oracle, one DPO fit from pi_0. Returns J of the result."""
    beh = behaviour_without_best(bandit) if behaviour is None else behaviour
    x, a1, a2 = sample_pairs(beh, beh, bandit.d0, n_pairs, rng)
    y = bt_labels(bandit.r, x, a1, a2, rng)
    return value(dpo_on_labels(bandit, x, a1, a2, y, l2=l2), bandit)


# ----------------------------------------------------------------------------- linear uncertainty (Algorithm 1)

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


# ----------------------------------------------------------------------------- best-of-n

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


def expected_best_worst_gap(pi: np.ndarray, r: np.ndarray, n: int) -> float:
    """E[r(best of n)] - E[r(worst of n)] under i.i.d. draws from pi, exactly."""
    best = best_of_n_policy(pi, r, n)
    worst = best_of_n_policy(pi, -np.asarray(r, dtype=float), n)
    return float(best @ r - worst @ r)
