"""The theory chapter's exact routines, checked against closed forms, brute force and Monte Carlo."""

import itertools

import numpy as np
import pytest

from rlhf_lite import theory as T


@pytest.fixture(scope="module")
def bandit():
    return T.make_bandit(n_prompts=4, n_responses=5, eta=1.0, seed=1, reward_scale=2.0, best_gap=1.0)


def test_gibbs_policy_maximises_the_kl_regularised_value_by_brute_force():
    r, pi0, eta = np.array([[0.2, 0.9, 0.5]]), np.array([[0.5, 0.2, 0.3]]), 0.3
    b = T.Bandit(r=r, pi0=pi0, d0=np.ones(1), eta=eta)
    star = T.gibbs_policy(pi0, r, eta)
    grid = [np.array([[p, q, 1 - p - q]]) for p, q in itertools.product(np.linspace(1e-4, 1, 201), repeat=2) if p + q < 1]
    best_on_grid = max(T.value(p, b) for p in grid)
    assert T.value(star, b) >= best_on_grid - 1e-12
    assert T.value(star, b) - best_on_grid < 1e-3  # the grid gets close: the maximum is not elsewhere
    assert T.value(star, b) == pytest.approx(T.optimal_value(b), abs=1e-12)  # eta log E_pi0 exp(r/eta)


def test_gradient_ascent_from_random_starts_ends_at_the_gibbs_value(bandit):
    target = T.optimal_value(bandit)
    for seed in range(3):
        pi, hist = T.ascend_value(bandit, seed=seed)
        assert hist[-1] <= target + 1e-12 and hist[-1] == pytest.approx(target, abs=1e-4)
        np.testing.assert_allclose(pi, T.gibbs_policy(bandit.pi0, bandit.r, bandit.eta), atol=1e-3)


def test_dpo_under_full_coverage_recovers_pi_star_and_its_implied_reward_is_r_star(bandit):
    x, w, lo, wt = T.all_pairs_expected(bandit)
    pi = T.dpo_fit(bandit, x, w, lo, weights=wt, steps=500)
    star = T.gibbs_policy(bandit.pi0, bandit.r, bandit.eta)
    np.testing.assert_allclose(pi, star, atol=1e-4)
    r_centred = bandit.r - bandit.r.mean(1, keepdims=True)
    np.testing.assert_allclose(T.implied_reward(pi, bandit.pi0, bandit.eta), r_centred, atol=1e-3)


def test_bt_mle_recovers_r_star_up_to_a_constant_per_prompt(bandit):
    rng = np.random.default_rng(0)
    uniform = np.full(bandit.shape, 1 / bandit.shape[1])
    x, a1, a2 = T.sample_pairs(uniform, uniform, bandit.d0, 40_000, rng)
    y = T.bt_labels(bandit.r, x, a1, a2, rng)
    r_hat = T.bt_mle(*T.winners_losers(x, a1, a2, y), bandit.shape)
    np.testing.assert_allclose(r_hat.mean(1), 0, atol=1e-3)  # the ridge picks centred rows
    np.testing.assert_allclose(r_hat, bandit.r - bandit.r.mean(1, keepdims=True), atol=0.1)
    shifted = bandit.r + np.arange(bandit.shape[0])[:, None]  # a constant per prompt changes no label
    np.testing.assert_allclose(T.sigmoid(shifted[x, a1] - shifted[x, a2]), T.sigmoid(bandit.r[x, a1] - bandit.r[x, a2]), atol=1e-12)


def test_dpo_never_moves_a_response_that_appears_in_no_pair(bandit):
    x, w, lo = np.array([0, 0, 1]), np.array([1, 2, 3]), np.array([2, 3, 4])  # response 0 never appears
    pi = T.dpo_fit(bandit, x, w, lo)
    logit_change = np.log(pi) - np.log(bandit.pi0)
    # responses 0 and 4 of prompt 0 are unseen: they move together, only through renormalisation
    assert logit_change[0, 0] == pytest.approx(logit_change[0, 4], abs=1e-9)
    np.testing.assert_allclose(pi[2:], bandit.pi0[2:])  # prompts with no data are untouched


def test_offline_dpo_without_the_best_responses_stalls_where_covering_data_does_not():
    b = T.make_bandit(n_prompts=4, n_responses=5, seed=1)  # the chapter's kind: a rare, clearly best response
    beh = T.behaviour_without_best(b)
    assert np.all(beh[np.arange(b.shape[0]), b.r.argmax(1)] == 0)
    j0, js = T.value(b.pi0, b), T.optimal_value(b)
    share = lambda j: (j - j0) / (js - j0)  # noqa: E731
    off = share(T.run_offline(b, 4000, np.random.default_rng(0)))
    covering = share(T.run_offline(b, 4000, np.random.default_rng(0), behaviour=np.full(b.shape, 1 / b.shape[1])))
    assert off < 0.6 and covering > 0.9  # same number of pairs; only coverage differs


@pytest.mark.parametrize("how", [dict(explore="none"), dict(explore="best-worst", rank_by="oracle"),
                                 dict(explore="best-worst", rank_by="model"), dict(explore="best-random", rank_by="oracle"),
                                 dict(explore="enhancer")])
def test_every_online_variant_records_the_value_after_each_iteration_and_improves(bandit, how):
    hist = T.run_online(bandit, iterations=3, batch=200, rng=np.random.default_rng(0), **how)
    assert len(hist) == 4 and hist[0] == pytest.approx(T.value(bandit.pi0, bandit))
    assert hist[-1] > hist[0]


def test_best_random_pairs_the_best_of_n_with_another_sample_never_the_best_with_itself():
    pi = np.full((1, 5), 1 / 5)
    r = np.array([[0.0, 1.0, 2.0, 3.0, 4.0]])
    best, other = T.best_worst_of_n(pi, r, np.zeros(3000, dtype=int), 8, np.random.default_rng(0), against="random")
    assert (r[0, best] >= r[0, other]).all()
    # the other is a random one of the remaining samples: its mean lies between the worst's and the best's
    _, worst = T.best_worst_of_n(pi, r, np.zeros(3000, dtype=int), 8, np.random.default_rng(0))
    assert r[0, worst].mean() + 0.5 < r[0, other].mean() < r[0, best].mean() - 0.5
    with pytest.raises(ValueError, match="against must be 'worst' or 'random'"):
        T.best_worst_of_n(pi, r, np.zeros(2, dtype=int), 8, np.random.default_rng(0), against="second")


def test_online_rejects_unknown_choices(bandit):
    with pytest.raises(ValueError, match="explore"):
        T.run_online(bandit, 1, 10, np.random.default_rng(0), explore="thompson")
    with pytest.raises(ValueError, match="rank_by"):
        T.run_online(bandit, 1, 10, np.random.default_rng(0), rank_by="judge")


def test_the_enhancer_shifts_mass_to_responses_compared_least():
    pi = np.full((1, 3), 1 / 3)
    counts = np.array([[100.0, 0.0, 9.0]])
    enh = T.enhancer_policy(pi, counts, eta=1.0, bonus=1.0)
    assert enh[0, 1] > enh[0, 2] > enh[0, 0] and enh.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(T.enhancer_policy(pi, counts, eta=1.0, bonus=0.0), pi)


def test_best_of_n_policy_and_kl_match_monte_carlo():
    rng = np.random.default_rng(0)
    pi, r, n = np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.1, 0.4, 0.2, 0.9]), 4
    draws = rng.choice(4, size=(200_000, n), p=pi)
    picked = draws[np.arange(len(draws)), np.argmax(r[draws], axis=1)]
    exact = T.best_of_n_policy(pi, r, n)
    np.testing.assert_allclose(np.bincount(picked, minlength=4) / len(picked), exact, atol=4e-3)
    log_ratio = np.log(exact[picked]) - np.log(pi[picked])
    mc, se = log_ratio.mean(), log_ratio.std() / np.sqrt(len(log_ratio))
    assert abs(T.best_of_n_kl(pi, r, n) - mc) < 4 * se
    worst = draws[np.arange(len(draws)), np.argmin(r[draws], axis=1)]
    gap_mc = (r[picked] - r[worst]).mean()
    assert T.expected_best_worst_gap(pi, r, n) == pytest.approx(gap_mc, abs=4e-3)


def test_best_of_n_kl_never_exceeds_the_bound_and_approaches_it_when_mass_is_spread_thin():
    rng = np.random.default_rng(1)
    for _ in range(200):
        k, n = int(rng.integers(2, 30)), int(rng.integers(1, 64))
        pi, r = rng.dirichlet(np.full(k, float(rng.choice([0.1, 1.0, 10.0])))), rng.normal(size=k)
        assert T.best_of_n_kl(pi, r, n) <= T.best_of_n_kl_bound(n) + 1e-12
    many = np.full(5000, 1 / 5000)  # the continuous limit: thin mass, distinct rewards
    assert T.best_of_n_kl(many, np.arange(5000.0), 8) == pytest.approx(T.best_of_n_kl_bound(8), abs=0.01)
    peaked = np.array([0.97, 0.01, 0.01, 0.01])  # one response takes nearly all the mass
    assert T.best_of_n_kl(peaked, np.arange(4.0), 8) < 0.5 * T.best_of_n_kl_bound(8)


def test_ties_share_the_block_probability():
    pi, r = np.array([0.25, 0.25, 0.5]), np.array([1.0, 1.0, 0.0])
    out = T.best_of_n_policy(pi, r, 2)
    np.testing.assert_allclose(out, [0.375, 0.375, 0.25])  # P(max in the tied block) = 1 - 0.5^2


def test_gamma_shrinks_with_data_and_info_gain_is_the_log_det_increase():
    rng = np.random.default_rng(0)
    d = 4
    sigma = np.eye(d) * 0.1
    phi1, phi2 = rng.normal(size=d), rng.normal(size=d)
    g0 = T.gamma(sigma, phi1, phi2)[0]
    dphi = phi1 - phi2
    gain = T.info_gain(sigma, dphi)[0]
    after = sigma + np.outer(dphi, dphi)
    assert gain == pytest.approx(np.linalg.slogdet(after)[1] - np.linalg.slogdet(sigma)[1])
    assert T.gamma(after, phi1, phi2)[0] < g0
    cands = rng.normal(size=(20, d))
    assert np.argmax(T.info_gain(sigma, cands)) == np.argmax(T.gamma(sigma, cands, np.zeros((20, d))))


def test_bandit_rejects_bad_input():
    with pytest.raises(ValueError, match="full support"):
        T.Bandit(r=np.zeros((1, 2)), pi0=np.array([[1.0, 0.0]]), d0=np.ones(1), eta=1.0)
    with pytest.raises(ValueError, match="eta"):
        T.Bandit(r=np.zeros((1, 2)), pi0=np.array([[0.5, 0.5]]), d0=np.ones(1), eta=0.0)


def test_the_enhancer_shrinks_uncertainty_faster_than_random_pairs_and_batching_slows_it():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(6, 12, 5))
    main = phi.sum(-1).argmax(1)
    enh = T.uncertainty_curve(phi, main, total=120, batch=1, rng=np.random.default_rng(1))
    rnd = T.uncertainty_curve(phi, main, total=120, batch=1, rng=np.random.default_rng(1), rule="random")
    batched = T.uncertainty_curve(phi, main, total=120, batch=60, rng=np.random.default_rng(1))
    assert len(enh) == 121 and len(batched) == 3 and enh[0] == rnd[0] == batched[0]
    assert np.all(np.diff(enh) <= 1e-12)  # more data never adds uncertainty
    assert enh[-1] < rnd[-1] and enh[-1] < batched[-1]
    with pytest.raises(ValueError, match="rule"):
        T.uncertainty_curve(phi, main, 10, 1, rng, rule="greedy")


def test_a_reward_model_fitted_offline_ranks_like_r_star_and_the_loop_takes_it_as_a_table(bandit):
    rm = T.offline_reward_model(bandit, 4000, np.random.default_rng(0))
    assert rm.shape == bandit.shape
    centred = bandit.r - bandit.r.mean(1, keepdims=True)
    agree = np.mean([np.corrcoef(rm[x], centred[x])[0, 1] for x in range(bandit.shape[0])])
    assert agree > 0.8  # pairs from pi_0, labelled by the oracle: the BT fit orders responses like r*
    hist = T.run_online(bandit, 3, 64, np.random.default_rng(1), explore="best-worst", rank_by=rm)
    assert len(hist) == 4 and hist[-1] > hist[0]
    with pytest.raises(ValueError, match="bandit's shape"):
        T.run_online(bandit, 1, 8, np.random.default_rng(1), rank_by=rm[:, :2])


def test_the_summaries_words_follow_the_numbers_and_flip_when_they_are_swapped():
    from rlhf_lite.stats import compare

    words = dict(above="closer to", below="further from", level="level with", unclear="not distinguishable from",
                 resolution=0.2)
    assert compare(0.3, 0.1, **words) == "closer to"
    assert compare(-0.3, 0.1, **words) == "further from"  # the same comparison, the arms swapped
    assert compare(0.05, 0.1, **words) == compare(-0.05, 0.1, **words) == "level with"
    # the case: safety 0.570 ± 0.526 against 0.8: an interval this wide is no evidence of "level"
    assert compare(0.570 - 0.8, 0.526, **words) == compare(0.230, 0.526, **words) == "not distinguishable from"
    assert compare(0.15, 0.06, **words) == "closer to"  # decided intervals do not need the resolution
    assert compare(0.1, 0.1, **words) == "level with"  # wholly within +-0.2: edge included
    assert compare(0.1, 0.11, **words) == "not distinguishable from"
    with pytest.raises(ValueError, match="resolution"):
        compare(0.0, 0.1, **{**words, "resolution": 0.0})
    with pytest.raises(ValueError, match="finite"):
        compare(float("nan"), 0.1, **words)
