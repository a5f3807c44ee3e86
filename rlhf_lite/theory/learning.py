"""Learning from preferences in the tabular bandit: the Bradley-Terry oracle (eq. 1) and its maximum-
likelihood reward (identified only up to a constant per prompt), DPO (eq. 5) on a tabular policy and its
minimiser under full coverage, and offline DPO against the online iterative procedure (Algorithms 1 and 2)
with and without exploration.

Why our own code: exact and tiny, so that the notebook can check the paper's statements against closed
forms; the language-model chapters use TRL. Chapter: notebooks/01_theory.
"""

from __future__ import annotations

import numpy as np
import torch

from rlhf_lite.theory.bandit import Bandit, gibbs_policy, value
from rlhf_lite.world.oracle import sigmoid


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


def best_worst_of_n(policy: np.ndarray, r: np.ndarray, x, n: int, rng: np.random.Generator, against: str = "worst"):
    """For each prompt in x, n samples from policy; return the best and the worst as ranked by r (the
    paper's rejection-sampling pair), or with ``against`` "random" the best and another of the n samples drawn at
    random (the loop's "best-random" rule: the ranking's winner without the worst one's margin). Ties in r are
    broken at random."""
    if against not in ("worst", "random"):
        raise ValueError(f"best_worst_of_n: against must be 'worst' or 'random', got {against!r}.")
    best, other = np.empty(len(x), dtype=int), np.empty(len(x), dtype=int)
    for k, i in enumerate(x):
        s = rng.choice(policy.shape[1], size=n, p=policy[i])
        score = r[i, s] + 1e-9 * rng.random(n)
        top = int(np.argmax(score))
        low = int(np.argmin(score)) if against == "worst" else int(rng.choice([j for j in range(n) if j != top]))
        best[k], other[k] = s[top], s[low]
    return best, other


EXPLORATION = ("none", "best-worst", "best-random", "enhancer")


def enhancer_policy(pi: np.ndarray, counts: np.ndarray, eta: float, bonus: float) -> np.ndarray:
    """The enhancer of Algorithm 1 in tabular form: the main agent's Gibbs policy with an optimistic
    bonus bonus / sqrt(1 + N(x, a)) added to the implied reward, so responses that have rarely been
    compared (where the reward estimate is most uncertain) are tried: the Gibbs tilt of pi by that bonus."""
    return gibbs_policy(pi, bonus / np.sqrt(1.0 + counts), eta)


def run_online(bandit: Bandit, iterations: int, batch: int, rng: np.random.Generator, explore: str = "best-worst",
               n: int = 8, bonus: float = 1.0, l2: float = 1.0, rank_by: str | np.ndarray = "model") -> list[float]:
    """Online iterative DPO (Algorithm 2 in tabular form). Each iteration: draw ``batch`` prompts, form
    pairs from the current policy, ask the oracle, add them to all data so far, refit DPO (reference
    pi_0, warm start from the current policy, ridge ``l2``). ``explore``: "none" (both responses sampled
    from the main agent), "best-worst" (best-of-n and worst-of-n of the main agent's samples, the paper's
    practical choice), "best-random" (best-of-n against another of the n at random) or "enhancer" (one response from the main agent, one from ``enhancer_policy``).
    Best-worst and best-random rank the n samples with ``rank_by``: "model", the main agent's own reward estimate
    eta log(pi/pi_0); "oracle", r* itself (extra information no practitioner has); or a fixed reward
    table, such as :func:`offline_reward_model`'s BT fit on offline data (the paper's situation: a reward
    model trained beforehand on an offline mixture). Either way the pair's label is one draw from the
    oracle, so every method spends ``batch`` queries an iteration.
    Returns J after every iteration, starting with J(pi_0)."""
    if explore not in EXPLORATION:
        raise ValueError(f"explore must be one of {EXPLORATION}, got {explore!r}.")
    fixed = isinstance(rank_by, np.ndarray)
    if fixed and rank_by.shape != bandit.shape:
        raise ValueError(f"a reward table to rank by must have the bandit's shape {bandit.shape}, got {rank_by.shape}.")
    if not fixed and rank_by not in ("model", "oracle"):
        raise ValueError(f"rank_by must be 'model', 'oracle' or a reward table, got {rank_by!r}.")
    pi = bandit.pi0.copy()
    counts = np.zeros(bandit.shape)  # how often each response has been compared
    data = ([], [], [], [])
    hist = [value(pi, bandit)]
    for _ in range(iterations):
        x = rng.choice(bandit.shape[0], size=batch, p=bandit.d0)
        if explore in ("best-worst", "best-random"):
            ranker = rank_by if fixed else bandit.r if rank_by == "oracle" else \
                bandit.eta * (np.log(pi) - np.log(bandit.pi0))
            a1, a2 = best_worst_of_n(pi, ranker, x, n, rng, against="worst" if explore == "best-worst" else "random")
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


def offline_reward_model(bandit: Bandit, n_pairs: int, rng: np.random.Generator,
                         behaviour: np.ndarray | None = None) -> np.ndarray:
    """A reward model as the paper builds one: the BT MLE on ``n_pairs`` oracle-labelled pairs drawn
    beforehand from a behaviour policy (pi_0 by default). Responses the data never compares get 0."""
    beh = bandit.pi0 if behaviour is None else behaviour
    x, a1, a2 = sample_pairs(beh, beh, bandit.d0, n_pairs, rng)
    return bt_mle(*winners_losers(x, a1, a2, bt_labels(bandit.r, x, a1, a2, rng)), bandit.shape)


def run_offline(bandit: Bandit, n_pairs: int, rng: np.random.Generator, behaviour: np.ndarray | None = None,
                l2: float = 1.0) -> float:
    """Offline DPO: all n_pairs pairs drawn once from a behaviour policy, labelled by the oracle, one DPO fit
    from pi_0. Returns J of the result. The default behaviour never writes the best responses (a
    coverage-starved case, :func:`behaviour_without_best`); pass ``bandit.pi0`` for the fair baseline."""
    beh = behaviour_without_best(bandit) if behaviour is None else behaviour
    x, a1, a2 = sample_pairs(beh, beh, bandit.d0, n_pairs, rng)
    y = bt_labels(bandit.r, x, a1, a2, rng)
    return value(dpo_on_labels(bandit, x, a1, a2, y, l2=l2), bandit)
