import numpy as np
import pytest

from rlhf_lite import world
from rlhf_lite.world import oracle
from rlhf_lite.world.oracle import Annotator

X = "sort 5 3 8 1 ="
RESPONSES = ["1 3 5 8", "1 3 8 5", "1 5 3 8", "8 5 3 1", "sorry i can not help"]


@pytest.mark.parametrize("temperature", [0.1, 0.3, 1.0])
def test_oracle_preference_rate_matches_bradley_terry(temperature):
    """Definition 1: P(a1 > a2) = sigma((r*(a1) - r*(a2)) / T), within sampling error."""
    rng = np.random.default_rng(0)
    ann = Annotator(temperature=temperature)
    n = 3000
    for a in RESPONSES:
        for b in RESPONSES:
            if a == b:
                continue
            p = float(oracle.sigmoid((world.true_reward(X, a) - world.true_reward(X, b)) / temperature))
            rate = ann.prefers_first([X] * n, [a] * n, [b] * n, rng).mean()
            se = np.sqrt(max(p * (1 - p), 1e-4) / n)
            assert abs(rate - p) < 4.5 * se + 1e-3, (a, b, rate, p)


def test_verbose_annotator_prefers_the_longer_of_two_equally_correct_answers():
    rng = np.random.default_rng(1)
    concise, padded = "1 3 5 8", "sure here is the answer : 1 3 5 8"
    assert world.true_reward(X, concise) == world.true_reward(X, padded)
    n = 4000
    rate = oracle.VERBOSE.prefers_first([X] * n, [padded] * n, [concise] * n, rng).mean()
    assert rate > 0.5 + 4 * np.sqrt(0.25 / n)
    # ...while the unbiased oracle is indifferent
    fair = oracle.ORACLE.prefers_first([X] * n, [padded] * n, [concise] * n, rng).mean()
    assert abs(fair - 0.5) < 4 * np.sqrt(0.25 / n)


def test_label_noise_flips_the_probability():
    clean = Annotator(temperature=0.0)
    noisy = Annotator(temperature=0.0, flip=0.2)
    assert clean.prob_first(X, RESPONSES[0], RESPONSES[3]) == 1.0
    assert noisy.prob_first(X, RESPONSES[0], RESPONSES[3]) == pytest.approx(0.8)
    assert noisy.prob_first(X, RESPONSES[3], RESPONSES[0]) == pytest.approx(0.2)
    assert clean.prob_first(X, RESPONSES[0], RESPONSES[0]) == 0.5


def test_label_pairs_orders_chosen_first():
    rng = np.random.default_rng(2)
    recs = [{"prompt": X, "a1": RESPONSES[3], "a2": RESPONSES[0]}] * 50
    labelled = Annotator(temperature=0.0).label_pairs(recs, rng)
    assert all(r["chosen"] == RESPONSES[0] and r["rejected"] == RESPONSES[3] for r in labelled)


def test_annotator_rejects_bad_settings():
    with pytest.raises(ValueError, match="flip"):
        Annotator(flip=0.7)
    with pytest.raises(ValueError, match="temperature"):
        Annotator(temperature=-1)
    with pytest.raises(ValueError, match="equal lengths"):
        Annotator().prefers_first([X], ["a", "b"], ["c"], np.random.default_rng(0))
