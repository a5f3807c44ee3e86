"""Sentences whose words depend on the outcome read as English in every outcome (planted outcomes)."""

import dataclasses

import pytest

from rlhf_lite.stats import Interval

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


def _findings(gold_change, learned_change, ties=0.4, falls_alone=0.6, later=(4,), reuse_falls=False):
    """Planted safety findings: two recipes (the gold judge and one learned), three seeds each, T = 3."""
    import pandas as pd

    from rlhf_lite.online.safety import Reuse, SafetyFindings
    from rlhf_lite.stats import Interval

    T, gold, learned = 3, "gold judge (r*)", "BT-MIX2, paper's recipe"
    means = {n: pd.DataFrame({"unsafe prompts": [5.0, 6.0, 4.0], "unsafe share of the round's data": [0.05] * 3,
                              "unsafe pairs tied": [0.0, 0.0, 0.0] if n == gold else [ties] * 3,
                              "KL per answer (unsafe)": [1.0, 1.0, 2.0 if n == gold else 6.0],
                              "KL per answer (other)": [1.0] * 3}, index=[1, 2, 3]) for n in (gold, learned)}
    kinds = pd.DataFrame({(n, f"t = {t}"): {"whole refusal": 0.8 - 0.2 * (t == T), "broken refusal": 0.1 + 0.2 * (t == T),
                                            "no refusal": 0.1} for n in (gold, learned) for t in (T - 1, T)}).T
    changes = {gold: [gold_change] * 3, learned: [learned_change - 0.01, learned_change, learned_change + 0.01]}
    step = {t: Interval(-0.2 if reuse_falls else 0.01, 0.05) for t in range(1, 5)}
    return SafetyFindings(T=T, gold=gold, seeds=3, changes=changes,
                          change={gold: Interval(gold_change, 0.0), learned: Interval(learned_change, 0.02)},
                          means=means, kinds=kinds, picked_T=4, se_seed=0.05,
                          reuse=Reuse([3, *later], list(later), step, reuse_falls),
                          sweep_falls={(learned, "lr, DPO loss alone"): (falls_alone, 2), (learned, "lr x 3, DPO + SFT term"): (0.1, 3)},
                          seed0_falls={gold: (0.1, 2), learned: (0.2, 3)},
                          alone=[(learned, "lr, DPO loss alone")], big=[(learned, "lr x 3, DPO + SFT term")])


def test_the_safety_paragraph_follows_what_was_measured():
    from rlhf_lite.wording import collapse_words, safety_round_words, sweep_safety_words

    f = _findings(gold_change=0.0, learned_change=-0.3)
    text = safety_round_words(f)
    assert "falls from round 2 to 3 in 1 of 2 recipes" in text
    assert "So the prompt subset does not explain the fall" in text  # a flat share and no fall where it returns
    assert "40% to 40% of their pairs" in text and "6.0 times as far" in text and "against 2.0 times" in text
    assert "mostly broken refusals" in text and text.endswith("it does not see the refusals lost.")
    short = collapse_words(f)
    assert short.startswith("mean r* on the unsafe prompts falls from round 2 to 3 in 1 of 2 recipes. Not the prompt")
    assert "policy moving further from π₀" in short and "DPO loss alone lose at least half" in short
    assert "Both runs with the DPO loss alone" in sweep_safety_words(f)
    calm = _findings(gold_change=0.02, learned_change=0.05, falls_alone=0.1, later=(), reuse_falls=False)
    assert "none of the 2 recipes" in safety_round_words(calm) and "cannot run this test" in safety_round_words(calm)
    assert "These runs do not single out the SFT term" in sweep_safety_words(calm)
    assert safety_round_words(calm).endswith("picks round 3 in 4 of 6 runs.")
    subset = _findings(gold_change=-0.1, learned_change=-0.3, reuse_falls=True)
    assert "So the prompt subset may play a part." in safety_round_words(subset)


def test_the_preference_model_studys_sentences_follow_the_findings():
    from test_reward_analysis import _study

    from rlhf_lite.wording import pm_study_words

    w = pm_study_words(_study(pm_reads=False))
    assert w["pm_trains_words"].endswith("it trains.") and w["lead_prompt"] == "It does not read the prompt's content."
    assert w["target_reason"].endswith("0.070 short of coming within 0.03 of it") and w["target_short"].startswith("at or")
    assert w["lead_epochs"] == "Still rising at the last epoch." and w["lead_pairs"] == "Three times the pairs help."
    assert w["pm_box"].startswith("More epochs and more pairs each raise its reasoning score")
    assert w["pm_reason"].startswith("The preference model does not read its answers against the prompt's content")
    assert "The paper's 8B model brings that binding" in w["pm_reading"]  # wrong-on-its-face pairs far easier
    assert w["same_shown"].startswith("0.620 against 0.600.")
    w = pm_study_words(_study(pm_reads=True))
    assert w["lead_prompt"] == "It reads the prompt about as much as BT." and "whole account" in w["pm_reading"]


def test_a_peak_is_claimed_only_when_the_fit_says_so():
    from rlhf_lite.wording import overoptimisation_shape, peak_words

    fit = {"kl_peak": 2.0, "kl_peak_ci95": (1.5, 2.5), "peak_claimed": True, "share_turning_down": 1.0,
           "peak_inside_data": True, "max_kl": 6.0}
    assert peak_words(fit, "true gain").startswith("the fitted true gain peaks at a KL of 2.00")
    wide = {**fit, "peak_claimed": False, "kl_peak_ci95": (1.5, float("inf"))}
    assert peak_words(wide, "true gain").endswith("so we claim no peak")
    beyond = {**wide, "peak_inside_data": False, "kl_peak": 9.0}
    assert "only beyond the measured range" in peak_words(beyond, "proxy gain")
    flat = {**wide, "share_turning_down": 0.4}
    assert peak_words(flat, "proxy gain").endswith("(40% of the bootstrap fits turn down at all)")
    assert overoptimisation_shape(fit, {**beyond, "kl_peak": 9.0}).startswith("So the proxy keeps rising")
    assert overoptimisation_shape(wide, beyond).startswith("So along this range")


def test_mix2_against_mix1_in_both_measures():
    from rlhf_lite.wording import mix_words

    s = mix_words(0.80, 0.95, 400, (0.70, 0.02), (0.71, 0.02))
    assert s.startswith("On the lite RewardBench the MIX2 model is ahead of the MIX1 model (0.950 against 0.800)")
    assert "judged by r*, it is not distinguishable from it (0.710 ± 0.020 against 0.700 ± 0.020)." in s
    assert "behind the MIX1 model" in mix_words(0.95, 0.80, 400, (0.7, 0.02), (0.7, 0.02))


def test_the_penalty_on_the_unsafe_prompts_in_each_outcome():
    from rlhf_lite.wording import penalty_safety_words

    table4, summary = penalty_safety_words((0.5, 0.05), (0.8, 0.05), (-0.3, 0.1), sft=0.9, offline=0.85)
    assert "the penalised loop's mean r* is 0.500, below the unpenalised loop's 0.800" in table4
    assert summary.endswith("the penalty taxes that length too. Offline DPO scores 0.850 there.")
    _, level = penalty_safety_words((0.8, 0.05), (0.8, 0.05), (0.0, 0.01), sft=0.9, offline=0.85)
    assert "cost no safety we can measure" in level
    _, wide = penalty_safety_words((0.7, 0.2), (0.8, 0.2), (-0.1, 0.3), sft=0.9, offline=0.85)
    assert "too wide to say" in wide


def test_table5s_differences_come_with_their_causes_or_say_that_none_is_known():
    from rlhf_lite.wording import table5_differences
    from rlhf_lite.wording.rewards import TABLE5_LENGTH_CAUSES

    text = table5_differences(["orca", "nectar"])
    assert text.splitlines()[0] == f"- `orca`: {TABLE5_LENGTH_CAUSES['orca']}."
    assert text.splitlines()[1] == "- `nectar`: no explanation yet; an open question."
    assert table5_differences([]) == "- none"


def test_the_format_studys_sentences_follow_the_findings():
    from test_reward_analysis import _format_study

    from rlhf_lite.wording import format_words

    w = format_words(_format_study())
    assert w["own_regime"].startswith("is level with BT where the paper's are: BT minus it is +0.020 on chat")
    assert w["own_regime"].endswith("both within 0.03")  # level only at its last epoch: no "since"
    early = dataclasses.replace(_format_study(), first_level_epoch=2.0)
    assert format_words(early)["own_regime"].endswith("both within 0.03, as it has been since epoch 2")
    assert format_words(early)["own_first_words"] == ("Stopping at epoch 2 would have cost about 50% of this "
                                                      "training's time.")
    assert w["own_first_words"].startswith("It reaches that level only at its last epoch")
    assert "reads its answers against the prompt" in w["own_reads"]
    assert w["own_reason"] == "level with BT on reasoning (+0.000 ± 0.000)"
    w = format_words(_format_study(own_chat_last=0.87, own_drop=0.05, reasoning_gap=0.2))
    assert w["own_regime"].startswith("is not yet level with BT: BT minus it is +0.130 on chat")
    assert w["own_regime"].endswith("it would need about 8 epochs")
    assert "still reads the answers more than the prompt" in w["own_reads"]
    assert w["own_reason"].startswith("behind BT on reasoning by 0.200")
    assert w["own_first_words"] == ""  # the regime sentence has said it is not level
    assert w["own_level_words"] == w["own_resolution"]  # what the page shows after the regime sentence
    # the 0.03 line against the paired chat gap's interval: inside it, the verdict is within the rows' noise
    edge = dataclasses.replace(_format_study(), chat_gap=Interval(0.04, 0.02), chat_late=(0.954, 0.972))
    assert format_words(edge)["own_resolution"].startswith("Pair by pair, BT minus it on chat is +0.040 ± 0.020, and "
                                                           "the 0.03 line lies inside that interval: on these chat "
                                                           "pairs, reaching it")
    assert "moved between 0.954 and 0.972" in format_words(edge)["own_resolution"]
    clear = dataclasses.replace(edge, chat_gap=Interval(0.13, 0.02))
    assert "clear of the 0.03 line" in format_words(clear)["own_resolution"]
    # short of the line by less than the chat pairs resolve: no extrapolation of epochs
    short = dataclasses.replace(_format_study(own_chat_last=0.96), chat_gap=Interval(0.04, 0.02))
    assert format_words(short)["own_regime"].endswith("beyond 0.03 on chat, by less than these chat pairs can resolve")
