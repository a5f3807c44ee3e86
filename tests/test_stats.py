"""The interval maths every chapter, claim and plot shares (rlhf_lite.stats)."""

import math

import numpy as np
import pytest

from rlhf_lite.stats import (Interval, binomial_half, compare, largest_fall, paired, quad, seed_interval, share_of_gain,
                             side)


def test_side_reads_an_interval_against_zero_or_a_tie():
    assert side(0.1, 0.05) == "above"
    assert side(-0.1, 0.05) == "below"
    assert side(0.04, 0.05) == "includes"
    assert side(0.6, 0.05, at=0.5) == "above" and side(0.52, 0.05, at=0.5) == "includes"
    assert side(0.05, 0.05) == "includes"  # an interval that touches the line does not clear it
    assert side(0.3, float("nan")) == "includes"  # one run: no interval, nothing decided
    with pytest.raises(ValueError, match="half-width must be >= 0"):
        side(0.3, -0.1)


def test_compare_uses_the_same_rule_and_calls_only_narrow_intervals_level():
    words = dict(above="up", below="down", level="level", unclear="unclear", resolution=0.05)
    assert compare(0.2, 0.1, **words) == "up" and compare(-0.2, 0.1, **words) == "down"
    assert compare(0.01, 0.02, **words) == "level"
    assert compare(0.01, 0.2, **words) == "unclear"


def test_a_paired_interval_is_the_interval_of_the_differences_and_needs_the_same_units():
    a, b = [0.61, 0.64, 0.70], [0.55, 0.60, 0.61]
    assert paired(a, b) == pytest.approx(seed_interval(np.subtract(a, b)))
    # the shared variation cancels: paired is narrower than either arm's own interval here
    assert paired(a, b).half < seed_interval(a).half
    with pytest.raises(ValueError, match="same units"):
        paired([1.0, 2.0, 3.0], [1.0, 2.0])


def test_seed_interval_uses_students_t_and_returns_an_interval():
    iv = seed_interval([1.0, 2.0, 3.0])
    assert isinstance(iv, Interval) and iv.mean == 2.0
    assert iv.half == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    assert (iv.lo, iv.hi) == pytest.approx((2.0 - iv.half, 2.0 + iv.half))
    m, h = iv  # still a tuple
    assert iv.to_json() == {"mean": m, "ci95": h}


def test_disjoint_samples_combine_in_quadrature():
    assert quad(3.0, 4.0) == 5.0
    assert binomial_half(0.5, 100) == pytest.approx(1.96 * 0.05)
    both = quad(binomial_half(0.7, 100), binomial_half(0.5, 100))
    assert both == pytest.approx(1.96 * math.sqrt(0.21 / 100 + 0.25 / 100))
    with pytest.raises(ValueError, match="n > 0"):
        binomial_half(0.5, 0)


def test_share_of_gain_and_largest_fall():
    assert share_of_gain(0.75, 0.5, 1.0) == 0.5
    assert share_of_gain(np.array([0.5, 1.0]), 0.5, 1.0) == pytest.approx([0.0, 1.0])
    with pytest.raises(ValueError, match="no gain"):
        share_of_gain(0.6, 0.5, 0.5)
    fall, into = largest_fall([1.0, 0.9, 0.2, 0.3])
    assert (fall, into) == (pytest.approx(0.7), 2)
    assert largest_fall([0.1, 0.2, 0.3])[0] < 0  # a curve that only rises never fell
