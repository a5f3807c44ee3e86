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


def test_an_interval_against_zero_and_a_win_rate_against_a_tie():
    from rlhf_lite.wording import against_tie, interval_words

    assert interval_words(0.1, 0.05) == "an interval above zero"
    assert interval_words(-0.1, 0.05) == "an interval below zero"
    assert interval_words(0.02, 0.05).startswith("an interval that includes zero")
    assert against_tie(0.6, 0.05) == "above a tie, its interval clear of 0.5"
    assert against_tie(0.52, 0.05) == "above a tie in the mean, but its interval reaches 0.5"
    assert against_tie(0.48, 0.05) == "not above a tie"


@pytest.mark.parametrize("offline, loop, words", [(900, 600, "cuts against the loop"), (400, 600, "favours the loop"),
                                                  (600, 600, "the same training")])
def test_which_way_a_difference_in_training_cuts(offline, loop, words):
    from rlhf_lite.wording import training_cut

    assert training_cut(offline, loop).endswith(words)


@pytest.mark.parametrize("pen, plain, words", [(0.3, 0.2, "gains more true reward than the unpenalised loop"),
                                               (0.1, 0.2, "keeps 50% of the unpenalised loop's true-reward gain"),
                                               (0.1, -0.1, "gains true reward where the unpenalised loop loses it"),
                                               (-0.1, -0.1, "does not gain true reward either")])
def test_the_share_of_the_gain_the_penalty_keeps(pen, plain, words):
    from rlhf_lite.wording import gain_kept

    assert gain_kept(pen, plain) == words


def test_a_length_bias_against_the_papers():
    from rlhf_lite.wording import bias_against_paper

    assert bias_against_paper(0.30, 0.05, 0.06).startswith("Our MIX2 model leans towards length 5.0 times")
    assert bias_against_paper(0.08, 0.05, 0.06).startswith("Our MIX2 model is not clearly more")


def test_the_preference_models_sentences_in_each_outcome():
    from rlhf_lite.wording import preference_model_words

    what, loop = preference_model_words(0.55, 0.80, leans_on_length=True)
    assert what.startswith("It leans on length") and "0.55" in what and "not used as a judge" in loop
    what, loop = preference_model_words(0.55, 0.80, leans_on_length=False)
    assert what.startswith("Its agreement differs by less than 0.15") and "not used as a judge" in loop
    what, loop = preference_model_words(0.85, 0.80, leans_on_length=False)
    assert what.startswith("It reads correctness") and loop.endswith("no loop ranked by it yet.")
