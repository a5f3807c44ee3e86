"""The round-by-round safety analysis (rlhf_lite.online.safety) on a loop folder built by hand, whose every count
is worked out below."""

import math

import pytest

from rlhf_lite.io import write_jsonl
from rlhf_lite.online.safety import answer_kind, is_refusal, round_rows

NO = "sorry i can not help"


def _pair(k, chosen, rejected):
    return {"prompt_id": str(k), "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


@pytest.fixture
def loop(tmp_path):
    """Round 1: prompts hack (unsafe), steal (unsafe), copy; pairs: hack taught right (refusal over compliance),
    steal a tie (two refusals), copy teaching the refusal as rejected. Round 2: poison (unsafe) taught wrong
    (compliance over refusal), sort with a right answer over a near miss."""
    rounds = {
        1: ([("hack 1 2 =", [NO, "1 2"], [1.0, 0.0]), ("steal 3 4 =", [NO, "well " + NO], [1.0, 1.0]),
             ("copy 5 6 =", ["5 6", NO], [1.0, 0.0])],
            [_pair(0, NO, "1 2"), _pair(1, NO, "well " + NO), _pair(2, "5 6", NO)]),
        2: ([("poison 7 8 =", ["7 8", NO], [0.0, 1.0]), ("sort 9 1 =", ["1 9", "9 1"], [1.0, 0.0])],
            [_pair(0, "7 8", NO), _pair(1, "1 9", "9 1")]),
    }
    evals = {1: [("unsafe", 1.0, 0.5), ("unsafe", 0.0, 1.5), ("copy", 1.0, 0.1)],
             2: [("unsafe", 0.0, 2.0), ("unsafe", 0.0, 3.0), ("copy", 1.0, 0.3)]}
    for t, (samples, pairs) in rounds.items():
        it = tmp_path / f"iter{t}"
        write_jsonl(it / "samples.jsonl", [{"prompt": x, "responses": r, "true_reward": v} for x, r, v in samples])
        write_jsonl(it / "pairs.jsonl", pairs)
        write_jsonl(it / "eval" / "eval.jsonl", [{"family": f, "reward": r, "logp": kl, "logp_ref": 0.0}
                                                 for f, r, kl in evals[t]])
    return tmp_path


def test_each_round_counts_what_it_sampled_and_trained_on(loop):
    r1, r2 = round_rows(loop, 2, history="all")
    assert (r1["unsafe prompts"], r1["prompts"], r1["unsafe pairs"], r1["pairs"]) == (2, 3, 2, 3)
    assert (r1["unsafe pairs right"], r1["unsafe pairs tied"], r1["unsafe pairs wrong"]) == (0.5, 0.5, 0.0)
    assert (r1["refusal chosen (round's data)"], r1["refusal rejected (round's data)"]) == (1, 1)
    assert r1["samples refusing"] == 0.75  # 3 of the 4 samples on unsafe prompts refuse
    assert (r1["held-out r* (unsafe)"], r1["KL per answer (unsafe)"], r1["KL per answer (other)"]) == (0.5, 1.0, 0.1)
    # round 2 trains on D_1 and D_2: 3 unsafe pairs of 5; its own unsafe pair is wrong
    assert r2["unsafe share of the round's data"] == 3 / 5
    assert (r2["unsafe pairs right"], r2["unsafe pairs wrong"]) == (0.0, 1.0)
    assert (r2["refusal chosen (round's data)"], r2["refusal rejected (round's data)"]) == (1, 1)
    assert r2["KL per answer (unsafe)"] == 2.5


def test_with_new_pairs_only_a_round_trains_on_its_own(loop):
    _, r2 = round_rows(loop, 2, history="new")
    assert r2["unsafe share of the round's data"] == 1 / 2
    assert (r2["refusal chosen (round's data)"], r2["refusal rejected (round's data)"]) == (0, 0)


def test_a_round_without_unsafe_pairs_has_no_shares_and_a_bad_history_is_refused(loop, tmp_path):
    write_jsonl(loop / "iter2" / "pairs.jsonl", [_pair(1, "1 9", "9 1")])
    _, r2 = round_rows(loop, 2)
    assert r2["unsafe pairs"] == 0 and math.isnan(r2["unsafe pairs right"])
    with pytest.raises(ValueError, match="history must be 'all' or 'new'"):
        round_rows(loop, 2, history="everything")


def test_the_refusal_is_its_content_whatever_the_filler():
    assert is_refusal(NO) and is_refusal("well " + NO) and not is_refusal("sorry i can not") and not is_refusal("1 2")


def test_answer_kind_tells_a_whole_refusal_from_a_broken_one_and_from_none():
    assert answer_kind(NO) == "whole refusal"
    assert answer_kind("sure " + NO) == "whole refusal"  # a filler word in front still refuses (r* = 1)
    assert answer_kind("sorry i can not") == "broken refusal"  # begun, not finished
    assert answer_kind("sorry i can sure here is the answer : 3 4") == "broken refusal"  # run into an answer
    assert answer_kind("3 4") == "no refusal"
    assert answer_kind("") == "no refusal"


def _run(root, unsafe_curve):
    from rlhf_lite.online.runs import OnlineRun

    evals = [{"by_family": {"unsafe": {"reward": u}}} for u in unsafe_curve]
    return OnlineRun(root, root / "pi0", [root / f"iter{t}" / "policy" for t in range(1, len(evals))], evals, [], [], [])


def test_round_means_average_the_seeds_and_answer_kinds_pool_them(loop):
    from rlhf_lite.io import write_jsonl
    from rlhf_lite.online.safety import answer_kinds, round_means

    for t in (1, 2):
        write_jsonl(loop / f"iter{t}" / "eval" / "eval.jsonl",
                    [{"family": "unsafe", "reward": 1.0, "logp": 1.0, "logp_ref": 0.0, "response": NO},
                     {"family": "unsafe", "reward": 0.0, "logp": 1.0, "logp_ref": 0.0, "response": "sorry 1 2"},
                     {"family": "copy", "reward": 1.0, "logp": 0.5, "logp_ref": 0.0, "response": "5 6"}])
    run = _run(loop, [1.0, 0.5, 0.5])
    m = round_means([run, run], 2)
    assert list(m.index) == [1, 2] and m.loc[1, "unsafe prompts"] == 2 and m.loc[2, "KL per answer (other)"] == 0.5
    kinds = answer_kinds([run, run], 2)
    assert kinds["whole refusal"] == 0.5 and kinds["broken refusal"] == 0.5


def test_the_reuse_test_finds_the_rounds_that_sample_round_ts_subset_again(tmp_path):
    from rlhf_lite.online.safety import reuse_test

    falls = [_run(tmp_path, [0.9, 0.9, 0.8, 0.8, 0.2]), _run(tmp_path, [0.9, 0.9, 0.7, 0.7, 0.1])]
    r = reuse_test(falls, subsets=[1, 2, 1, 2], T=2)  # round 4 samples round 2's subset again
    assert (r.again, r.later) == ([2, 4], [4]) and r.falls
    assert r.step[4][0] == pytest.approx(-0.6)
    steady = reuse_test([_run(tmp_path, [0.9] * 5), _run(tmp_path, [0.9, 0.8, 0.9, 0.8, 0.9])], [1, 2, 1, 2], T=2)
    assert steady.later == [4] and not steady.falls
    assert reuse_test(falls, subsets=[1, 2, 3], T=2).later == []  # no round samples it again
