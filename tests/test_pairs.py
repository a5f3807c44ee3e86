"""Pair selection for the online loop (Algorithm 2's ranking step) and the length penalty (eq. 9)."""

import json

import numpy as np
import pytest

from rlhf_lite.online.pairs import PAIR_RULES, build_pairs, length_penalised, select_pair

RESP = ["a", "bb", "ccc", "dddd"]
R = [0.1, 0.9, 0.5, 0.3]


def test_each_rule_on_hand_made_rewards():
    assert select_pair(RESP, R, "best-worst")[:2] == (1, 0)
    assert select_pair(RESP, R, "best-second")[:2] == (1, 2)
    rng = np.random.default_rng(0)
    others = {select_pair(RESP, R, "best-random", rng)[1] for _ in range(200)}
    assert others == {0, 2, 3}  # any other sample, never the best itself
    for _ in range(200):
        c, rj, why = select_pair(RESP, R, "random", rng)
        assert c != rj and R[c] > R[rj] and why is None


def test_identical_and_tied_pairs_are_dropped_with_their_reason():
    assert select_pair(["x", "x", "x"], [0.2, 0.9, 0.1], "best-worst").dropped == "identical"
    assert select_pair(["x", "y"], [0.5, 0.5], "best-worst").dropped == "tied"
    pairs, rep = build_pairs(["p1", "p2", "p3"], [["x", "x"], ["u", "v"], ["s", "t"]],
                             [[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]])
    assert rep.pairs == 1 and rep.dropped["identical"] == 1 and rep.dropped["tied"] == 1
    assert pairs[0]["chosen"][0]["content"] == "t" and pairs[0]["prompt"] == [{"role": "user", "content": "p3"}]
    assert pairs[0]["margin"] == pytest.approx(0.6)


def test_ties_in_rank_are_broken_at_random_not_by_position():
    firsts = {select_pair(["a", "b", "c"], [1.0, 1.0, 0.0], "best-worst", np.random.default_rng(s)).chosen
              for s in range(50)}
    assert firsts == {0, 1}


def test_length_penalty_counts_characters():
    r = length_penalised([1.0, 1.0], ["ab", "abcd ef"], lam=0.1)
    np.testing.assert_allclose(r, [1.0 - 0.2, 1.0 - 0.7])  # the space is a character too
    # a long answer that wins on raw reward loses once length costs enough
    assert select_pair(["short", "a much longer answer"], [1.0, 1.5]).chosen == 1
    pairs, _ = build_pairs(["p"], [["short", "a much longer answer"]], [[1.0, 1.5]], lam=0.05)
    assert pairs[0]["chosen"][0]["content"] == "short"
    with pytest.raises(ValueError, match="lambda"):
        length_penalised([1.0], ["a"], lam=-1)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown pair rule"):
        select_pair(RESP, R, "worst-best")
    with pytest.raises(ValueError, match="4 rewards for 3 responses"):
        select_pair(RESP[:3], R)
    with pytest.raises(ValueError, match="one of each per prompt"):
        build_pairs(["p"], [RESP], [R, R])
    assert set(PAIR_RULES) == {"best-worst", "best-random", "best-second", "random"}


def test_the_repositorys_orientation_differs_only_where_the_penalty_turns_the_raw_order():
    from rlhf_lite.online.pairs import orientation_flips

    samples = [["a", "bbbbbbbbbb"], ["a", "bbbbbbbbbb"], ["aa", "b"]]
    rewards = [[1.0, 1.2], [1.0, 2.0], [0.5, 0.1]]
    # prompt 1: raw prefers the long answer, the penalty (0.05/char) the short one -> the repository flips it;
    # prompt 2: the long answer wins under both; prompt 3: the penalty does not change the order
    assert orientation_flips(rewards, samples, 0.05) == (1, 3)
    assert orientation_flips(rewards, samples, 0.0) == (0, 3)


def test_the_loops_pair_stage_follows_online_rule_on_a_planted_scored_set(tmp_path, monkeypatch):
    """Each exploration arm's pairs follow its rule: the loop's pair stage, on planted samples and scores, picks
    best against worst / second / another / a random two, and drops what carries no preference."""
    import rlhf_lite.online.loop as loop
    from rlhf_lite.config import Config
    from rlhf_lite.io import read_jsonl, write_jsonl

    rows = [{"prompt": "p0", "responses": ["a", "bb", "ccc", "dddd"], "proxy": [0.1, 0.9, 0.5, 0.3]},
            {"prompt": "p1", "responses": ["e", "ff", "ggg", "hhhh"], "proxy": [0.7, 0.2, 0.4, 0.8]},
            {"prompt": "p2", "responses": ["x", "x", "x", "x"], "proxy": [0.3, 0.2, 0.1, 0.0]}]  # identical: dropped
    want = {"best-worst": [("bb", "a"), ("hhhh", "ff")], "best-second": [("bb", "ccc"), ("hhhh", "e")]}
    for rule in PAIR_RULES:
        root = tmp_path / rule
        monkeypatch.setattr(loop, "online_root", lambda c, root=root: root)
        cfg = Config.preset("ci", **{"online.rule": rule})
        write_jsonl(loop.iteration_dir(cfg, 0, 1) / "samples.jsonl", rows)
        got = [(p["chosen"][-1]["content"], p["rejected"][-1]["content"])
               for p in read_jsonl(loop.pair(cfg, 0, 1, log=lambda *a: None))]
        report = json.loads((loop.iteration_dir(cfg, 0, 1) / "pair_report.json").read_text())
        assert len(got) == 2 and report["dropped"]["identical"] == 1, rule  # the third prompt: one text, no preference
        for (c, r), row in zip(got, rows):
            score = dict(zip(row["responses"], row["proxy"]))
            assert score[c] > score[r], rule
        if rule in want:
            assert got == want[rule], rule
        elif rule == "best-random":
            assert [c for c, _ in got] == ["bb", "hhhh"], rule  # the best, against any other
