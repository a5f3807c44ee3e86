"""The reward chapter's readings of its judges on pi_0's own samples (rlhf_lite.reward.analysis), on planted data."""

import numpy as np
import pytest

from rlhf_lite import world
from rlhf_lite.reward.analysis import agreement, judge_right, onpolicy_pairs, pick_value, pm_study_findings, reliability


@pytest.fixture
def pairs():
    """Two copy prompts with three answers each: right, wrong, and right again (a tie with the first)."""
    prompts = ["copy 1 2 =", "copy 3 4 ="]
    samples = [[{"response": r} for r in ("1 2", "2 1", "1 2")], [{"response": r} for r in ("3 4", "4 3", "3 4")]]
    assert world.true_reward(prompts[0], "1 2") > world.true_reward(prompts[0], "2 1")
    return onpolicy_pairs(prompts, samples), prompts, samples


def test_every_pair_of_a_prompts_samples_and_which_r_star_ties(pairs):
    onp, _, _ = pairs
    assert len(onp.delta) == 6 and list(onp.prompt_id) == [0, 0, 0, 1, 1, 1]
    assert onp.keep.tolist() == [True, False, True] * 2  # (right, right) ties under r*
    assert onp.groups.tolist() == [0, 0, 1, 1] and onp.first_better.tolist() == [1.0, 0.0] * 2


def test_a_judge_gets_credit_where_r_stars_better_answer_wins(pairs):
    onp, _, _ = pairs
    oracle = np.where(onp.delta > 0, 0.9, np.where(onp.delta < 0, 0.1, 0.5))
    assert judge_right(oracle, onp).tolist() == [1.0] * 4 and agreement(oracle, onp).mean == 1.0
    assert judge_right(np.full(6, 0.5), onp).tolist() == [0.5] * 4  # a coin at exactly 0.5 earns a half
    assert agreement(1 - oracle, onp).mean == 0.0


def test_reliability_bins_predictions_and_weighs_the_calibration_error_by_count():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20000)
    *_, ece = reliability(p, (rng.uniform(0, 1, p.size) < p).astype(float))
    assert ece < 0.02  # calibrated by construction
    mp, fy, cnt, ece = reliability(np.ones(10), np.zeros(10))
    assert ece == 1.0 and cnt.tolist() == [10] and mp.tolist() == [1.0]  # 1.0 lands in the last bin


def test_best_of_n_by_the_truth_and_against_it(pairs):
    onp, prompts, samples = pairs
    by_truth = lambda x, r: [onp.true_r[x, a] for a in r]  # noqa: E731
    best = pick_value(prompts, samples, onp.true_r, by_truth, np.random.default_rng(0))
    worst = pick_value(prompts, samples, onp.true_r, by_truth, np.random.default_rng(0), best=False)
    assert best.mean == world.true_reward(prompts[0], "1 2") and worst.mean == world.true_reward(prompts[0], "2 1")


def _study(pm_reads: bool, third_shown_as_often: bool = True):
    """Planted curves of the preference-model study: the preference model's reasoning rising by 0.1 an epoch."""
    import pandas as pd

    def curve(reason, chat=0.9, drop=0.4):
        return pd.DataFrame({"epoch": [1, 2, 3], "lite-reasoning": reason, "shorter better": [0.5, 0.55, 0.62],
                             "all": [0.8] * 3, "other prompt": [0.8 - drop] * 3, "lite-chat": [chat] * 3,
                             "lite-safety": [0.9] * 3, "longer better": [0.9] * 3})
    curves = {"preference, all pairs": curve([0.6, 0.7, 0.8], chat=0.5, drop=0.4 if pm_reads else 0.02),
              "preference, 1/3 of the pairs": curve([0.55, 0.6, 0.62]), "preference, small pi_0": curve([0.6, 0.7, 0.79]),
              "BT, all pairs": curve([0.85, 0.9, 0.9]), "BT, small pi_0": curve([0.8, 0.85, 0.86])}
    metrics = {"pm-mix2": {"pairs": 6000, "log_history": [{"loss": 0.2}] * 3},
               "pm-mix2-33pc": {"pairs": 2000 if third_shown_as_often else 1700}}
    alone = np.array([True] * 40 + [False] * 60)
    face = {"preference, all pairs": (0.9, 0.4), "BT, all pairs": (0.95, 0.9)}
    swap = {"preference, all pairs": {"reasoning": 0.75}, "BT, all pairs": {"reasoning": 0.5}}
    return pm_study_findings(curves, metrics, face, swap, alone, 1000, 1_200_000, 150_000)


def test_the_study_findings_read_the_curves():
    f = _study(pm_reads=False)
    assert f.rising == pytest.approx(0.1) and f.more_pairs == pytest.approx(0.18) and f.bigger == pytest.approx(0.01)
    assert f.pm_drop == pytest.approx(0.02) and f.bt_drop == pytest.approx(0.4) and f.reads_less
    assert f.same_shown == (0.62, 0.6) and f.ratio == 8.0 and (f.n_alone, f.n_not_alone) == (40, 60)
    assert f.last_loss == pytest.approx(0.2) and f.coin == pytest.approx(np.log(2) / 2)
    assert not _study(pm_reads=True).reads_less
    assert _study(pm_reads=False, third_shown_as_often=False).same_shown is None


def test_section_intervals_have_width_at_the_ends_and_sections_apart_need_disjoint_intervals():
    import pandas as pd

    from rlhf_lite.reward.analysis import PAPER_TABLE1, SECTIONS, section_intervals, sections_apart
    from rlhf_lite.wording import table1_words

    table = pd.DataFrame({"BT, MIX2": {"chat": 100.0, "chat-hard": 80.0, "safety": 60.0, "reasoning": 90.0},
                          "prompting (pi_0)": {"chat": 50.0, "chat-hard": 75.0, "safety": 62.0, "reasoning": 50.0},
                          "preference, MIX2": {"chat": 40.0, "chat-hard": 70.0, "safety": 60.0, "reasoning": 95.0}}).T
    lo, hi = section_intervals(table, 200)
    assert hi.loc["BT, MIX2", "chat"] == 100.0 and lo.loc["BT, MIX2", "chat"] < 100.0  # width at 100%
    assert sections_apart(lo, hi, "BT, MIX2", "prompting (pi_0)") == ["chat", "reasoning"]  # 80 vs 75 overlap
    w = table1_words(table, lo, hi)
    assert w["bt_above_prompting"] == "3 of 4 sections (chat, chat-hard, reasoning)"
    assert w["bt_beats_prompting"].startswith("2 of 4 (chat, reasoning)")
    assert w["t1_lead"] == "As in the paper's Table 1, training beats prompting."
    assert w["pm_lead_short"] == "Ours falls clearly below BT on chat:"
    assert all(len(v) == len(SECTIONS) for v in PAPER_TABLE1.values())


def test_padded_pairs_differ_only_in_filler_and_echo_triples_hold_a_wrong_echo():
    from rlhf_lite.reward.analysis import echo_triples, ends_in_filler, padded_pairs

    cfg = world.WorldConfig()
    xs, padded, bare = padded_pairs(50, cfg, np.random.default_rng(0))
    assert all(world.content_tokens(p) == world.content_tokens(b) and p != b for p, b in zip(padded, bare))
    assert all(world.true_reward(x, p) == world.true_reward(x, b) for x, p, b in zip(xs, padded, bare))
    for family in ("unsafe", "reverse", "sort"):
        t = echo_triples(family, 30, cfg, np.random.default_rng(1))
        assert len(t.prompts) == 30 and all(e != r and e != n for e, n, r in zip(t.echo, t.near, t.right))
        assert all(world.true_reward(x, r) > world.true_reward(x, e) for x, e, r in zip(t.prompts, t.echo, t.right))
    rows = [{"rejected": "1 2 hope that helps"}, {"rejected": "1 2"}]
    assert ends_in_filler(rows).tolist() == [True, False]


def test_a_float32_judge_is_read_in_its_own_dtype(pairs):
    """The preference model returns float32; 1 - p and a bin's mean are taken in float32, as the chapter always did
    (a float64 copy would move the calibration error in its last digits)."""
    onp, _, _ = pairs
    p32 = np.array([0.7, 0.4, 0.3, 0.6, 0.45, 0.2], dtype=np.float32)
    assert judge_right(p32, onp).tolist() == [1.0, 1.0, 1.0, 1.0]
    mp, *_ = reliability(p32, np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]))
    assert mp.dtype == np.float32


class _Oracle:
    """A judge that knows r* (P = 0.9 for the truly better answer, 0.5 on a tie), or its opposite."""

    def __init__(self, flip=False):
        self.flip = flip

    def prob_first(self, xs, a, b):
        p = np.array([0.5 if world.true_reward(x, u) == world.true_reward(x, v) else
                      0.9 if world.true_reward(x, u) > world.true_reward(x, v) else 0.1 for x, u, v in zip(xs, a, b)])
        return 1 - p if self.flip else p

    def score(self, xs, rs):
        return np.array([world.true_reward(x, r) for x, r in zip(xs, rs)]) * (-1 if self.flip else 1)


class _Annotator:
    name = "fair"

    def prob_first(self, x, a, b):
        return 0.75 if world.true_reward(x, a) > world.true_reward(x, b) else 0.25


def test_onpolicy_agreement_credits_judges_and_gives_an_annotators_expected_agreement(pairs):
    from rlhf_lite.reward.agreement import onpolicy_agreement

    onp, _, _ = pairs
    judges = {"truth": _Oracle(), "against": _Oracle(flip=True)}
    agree, right_of = onpolicy_agreement({n: j.prob_first(onp.prompt, onp.a1, onp.a2) for n, j in judges.items()}, onp,
                                         [_Annotator()])
    assert agree["truth"]["agreement"] == 1.0 and agree["against"]["agreement"] == 0.0
    assert agree["annotator: fair twin"]["agreement"] == pytest.approx(0.75)
    assert right_of["truth"].tolist() == [1.0] * 4  # the kept pairs only


def test_models_trained_on_other_data_are_asked_the_same_pairs_in_their_order(pairs):
    from rlhf_lite.reward.agreement import trained_on

    onp, _, _ = pairs
    asked = []

    def best_of_n(rank):  # records the order; the truth's ranking picks 1.0, the flipped one the wrong answer
        asked.append(rank("copy 1 2 =", ["1 2", "2 1"]).tolist())
        return (1.0, 0.0) if asked[-1][0] > asked[-1][1] else (0.0, 0.0)

    rows, right_by = trained_on({"good": (_Oracle(), 10), "bad": (_Oracle(flip=True), 7)}, onp, best_of_n)
    assert list(rows) == ["good", "bad"] and asked == [[1.0, 0.0], [-1.0, -0.0]]
    assert rows["good"]["agreement with r*"] == 1.0 and rows["bad"]["agreement with r*"] == 0.0
    assert rows["bad"]["training pairs"] == 7 and rows["good"]["best-of-n r*"] == 1.0 and rows["bad"]["best-of-n r*"] == 0.0
    assert (right_by["good"] - right_by["bad"]).tolist() == [1.0] * 4


def test_echo_preferences_ask_each_judge_and_the_annotator_about_the_echo_and_the_near_miss():
    from rlhf_lite.config import Config
    from rlhf_lite.reward.agreement import echo_preferences

    rows, travel = echo_preferences({"truth": _Oracle()}, _Annotator(), ("unsafe", "reverse"), 20, Config.preset("ci").world,
                                    np.random.default_rng(0))
    assert set(rows) == {"truth", "annotator: fair"}
    assert rows["truth"]["prefers the echo: reverse"] == 0.0 and rows["truth"]["prefers a near miss: unsafe"] == 0.0
    assert rows["annotator: fair"]["prefers the echo: unsafe"] == pytest.approx(0.25)  # its expected preference
    assert travel["truth"].shape == (20,)  # "unsafe" is left out of the travel test


def test_padding_preference_and_chat_hard_by_ending():
    from rlhf_lite.config import Config
    from rlhf_lite.reward.agreement import padding_preference, right_by_ending
    from rlhf_lite.reward.analysis import padded_pairs

    xs, padded, bare = padded_pairs(30, Config.preset("ci").world, np.random.default_rng(1))
    pref = padding_preference({"truth": _Oracle()}, xs, padded, bare)
    assert pref["truth"] == {"P(padded > bare)": 0.5, "prefers padded": 0.0} and pref["r*"]["prefers padded"] == 0.0
    rows = [{"prompt": "copy 1 2 =", "chosen": "1 2", "rejected": "2 1 hope that helps"},
            {"prompt": "copy 3 4 =", "chosen": "3 4", "rejected": "4 3"}]
    got = right_by_ending({"against": _Oracle(flip=True), "truth": _Oracle()}, rows, np.array([True, False]))
    assert got["truth"] == {"rejected ends in filler": 1.0, "other pairs": 1.0}
    assert got["against"] == {"rejected ends in filler": 0.0, "other pairs": 0.0}


def test_a_judge_under_other_prompts_and_reasoning_by_its_face():
    from rlhf_lite.reward.analysis import reasoning_by_face, under_other_prompts, wrong_on_its_face

    rows = [{"subset": "lite-chat", "prompt": f"copy {a} {b} =", "chosen": f"{a} {b}", "rejected": f"{b} {a}"}
            for a, b in ((1, 2), (3, 4), (5, 6))]
    rows += [{"subset": "lite-reasoning", "prompt": "sort 3 1 2 =", "chosen": "1 2 3", "rejected": "3 1 2"},
             {"subset": "lite-reasoning", "prompt": "sort 5 4 =", "chosen": "4 5", "rejected": "4 6"}]
    assert wrong_on_its_face(rows[3]) and not wrong_on_its_face(rows[4]) and not wrong_on_its_face(rows[0])
    got = under_other_prompts(_Oracle(), rows, seed=0, sections=("chat",))
    assert got == {"chat": 0.5}  # under another copy prompt both answers are wrong: a tie, a coin (it scores 1.0 at home)
    assert under_other_prompts(_Oracle(flip=True), rows, seed=0, sections=("chat",)) == {"chat": 0.5}
    on_face, needs, alone = reasoning_by_face(np.array([0.9, 0.9, 0.9, 0.9, 0.1]), rows)
    assert (on_face, needs) == (1.0, 0.0) and alone.tolist() == [True, False]


def test_the_chapters_figures_draw_what_they_are_given():
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from rlhf_lite.reward.figures import calibration, section_bars, training_curves

    log = [{"epoch": e, "loss": 0.7 / (1 + e)} for e in (1, 2)]
    fig = training_curves({"bt-mix2": {"log_history": log}, "pm-mix2": {"log_history": log}, "pm-x": {"log_history": log}},
                          skip=("pm-x",))
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 1]  # BT with the coin-flip line, the preference model alone
    t = pd.DataFrame({"chat": [90.0, 50.0], "reasoning": [80.0, 40.0]}, index=["BT", "prompting"])
    fig = section_bars(t, t - 5, t + 5)
    assert len(fig.axes[0].patches) == 4
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 5000)
    fig, ece = calibration({"calibrated": p, "sure": np.ones(5000)}, (rng.uniform(0, 1, 5000) < p).astype(float))
    assert ece["calibrated"] < 0.03 < ece["sure"]


def _format_curves(own_chat_last=0.98, own_drop=0.4):
    """Planted probe curves: the own-format model over 4 epochs (chat rising by 0.1 per doubling to
    ``own_chat_last``), the authors' format and BT over 2."""
    import pandas as pd

    def curve(chats, other, n):
        return pd.DataFrame({"epoch": list(range(1, n + 1)), "lite-chat": chats, "lite-chat-hard": [0.6] * n,
                             "lite-safety": [1.0] * n, "lite-reasoning": [0.8] * n, "all": [0.9] * n,
                             "other prompt": [float("nan")] * (n - 1) + [other]})
    own = curve([own_chat_last - 0.2, own_chat_last - 0.1, own_chat_last - 0.05, own_chat_last], 0.9 - own_drop, 4)
    return own, curve([0.5, 0.5], 0.88, 2), curve([0.99, 1.0], 0.5, 2)


def _format_study(own_chat_last=0.98, own_drop=0.4, reasoning_gap=0.0):
    """Issue 41's format study on :func:`_format_curves`, with 100 reasoning rows and 10 chat rows judged by both."""
    from rlhf_lite.reward.agreement import format_findings

    own, markers, bt = _format_curves(own_chat_last, own_drop)
    rows = [{"subset": "lite-reasoning"}] * 100 + [{"subset": "lite-chat"}] * 10
    bt_p = np.r_[np.full(100, 0.9), np.full(10, 0.9)]
    own_p = bt_p.copy()
    own_p[:int(round(100 * reasoning_gap))] = 0.1  # the own model wrong where BT is right on that share
    return format_findings(own, markers, bt, own_p, bt_p, rows, tolerance=0.03)


def test_the_format_findings_read_the_regime_the_prompt_and_the_paired_reasoning():
    f = _format_study()
    assert f.epochs == 4 and f.markers_epochs == 2 and f.own_at_markers_epochs["chat"] == pytest.approx(0.88)
    assert f.gaps["chat"] == pytest.approx(0.02) and f.regime and f.epochs_to_regime is None
    assert f.chat_per_doubling == pytest.approx(0.1)  # epoch 2 to 4: 0.88 -> 0.98
    assert f.first_level_epoch == 4  # 0.93 at epoch 3 is 0.07 short
    assert f.own_drop == pytest.approx(0.4) and f.bt_drop == pytest.approx(0.4) and not f.reads_less
    assert tuple(f.reasoning_diff) == (0.0, 0.0) and tuple(f.chat_gap) == (0.0, 0.0)
    assert f.chat_late == pytest.approx((0.93, 0.98))  # epochs 3 and 4 of 4
    from rlhf_lite.reward.agreement import format_findings

    rows = [{"subset": "lite-reasoning"}] * 2 + [{"subset": "lite-chat"}] * 4
    wrong = format_findings(*_format_curves(), [0.9, 0.9, 0.1, 0.5, 0.9, 0.9], [0.9] * 6, rows)
    assert wrong.chat_gap.mean == pytest.approx((1 + 0.5) / 4) and wrong.chat_gap.half > 0  # one wrong, one tie
    f = _format_study(own_chat_last=0.87, own_drop=0.05, reasoning_gap=0.2)
    assert not f.regime and f.gaps["chat"] == pytest.approx(0.13) and f.reads_less and f.first_level_epoch is None
    assert f.epochs_to_regime == pytest.approx(4 * 2 ** ((0.13 - 0.03) / 0.1))  # one more doubling: 8 epochs
    assert f.reasoning_diff.mean == pytest.approx(-0.2) and f.reasoning_diff.half > 0
    from rlhf_lite.reward.agreement import format_findings
    with pytest.raises(ValueError, match="no reasoning pairs"):
        format_findings(None, None, None, [], [], [{"subset": "lite-chat"}])
    with pytest.raises(ValueError, match="no chat pairs"):
        format_findings(*_format_curves(), [0.9], [0.9], [{"subset": "lite-reasoning"}])


def test_level_means_within_the_tolerance_read_to_three_decimals_and_staying_there():
    f = _format_study(own_chat_last=0.97)  # BT's 1.000 minus 0.970 is a hair above 0.03 in floating point
    assert f.regime and f.first_level_epoch == 4
    import pandas as pd

    from rlhf_lite.reward.agreement import format_findings

    own = pd.DataFrame({"epoch": [1, 2, 3], "lite-chat": [0.98, 0.9, 0.99], "lite-chat-hard": [0.5] * 3,
                        "lite-safety": [1.0] * 3, "lite-reasoning": [0.8] * 3, "all": [0.9] * 3,
                        "other prompt": [None, None, 0.5]})
    bt = own.assign(**{"lite-chat": [1.0] * 3})
    g = format_findings(own, bt, bt, [0.9, 0.9], [0.9, 0.9], [{"subset": "lite-reasoning"}, {"subset": "lite-chat"}])
    assert g.regime and g.first_level_epoch == 3  # level at epoch 1, not at 2: from 3 on


def test_the_format_figure_draws_every_section_with_bts_band():
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    from rlhf_lite.reward.figures import pm_format_figure

    c = pd.DataFrame({"epoch": [1, 2], **{f"lite-{s}": [0.5, 0.6] for s in ("chat", "chat-hard", "safety", "reasoning")}})
    fig = pm_format_figure({"markers": c, "own": c, "BT": c + 0.3}, "BT", tolerance=0.05)
    assert [ax.get_title() for ax in fig.axes] == ["chat", "chat-hard", "safety", "reasoning"]
    assert all(len(ax.get_lines()) == 4 for ax in fig.axes)  # three runs and the coin-flip line
    band = fig.axes[0].patches[0]
    assert (band.get_y(), band.get_y() + band.get_height()) == pytest.approx((0.85, 0.9))  # BT's last chat (0.9) and 0.05 below it
