"""Sentences whose words depend on the outcome read as English in every outcome (planted outcomes)."""

import pytest

from rlhf_lite.wording import ranks_and_generates


def test_the_same_arm_is_named_once():
    s = ranks_and_generates("the loop ranked by r*", "the loop ranked by r*")
    assert s == "the loop ranked by r* both ranks held-out pairs best and has the highest true win rate"
    assert s.count("the loop ranked by r*") == 1


def test_two_arms_are_named_each_with_its_own_clause():
    s = ranks_and_generates("offline DPO on the near data ranked by r*", "the loop ranked by BT-MIX2")
    assert s == ("offline DPO on the near data ranked by r* ranks held-out pairs best, while the loop ranked by "
                 "BT-MIX2 has the highest true win rate")


def test_a_missing_arm_is_refused():
    with pytest.raises(ValueError, match="both arms"):
        ranks_and_generates("", "the loop ranked by r*")
