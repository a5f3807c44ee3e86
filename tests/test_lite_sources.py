"""The lite world's synthetic preference sources: native formats, the same loaders, and the truth."""

import pytest

from rlhf_lite.data.lite_sources import GPT4, HUMAN, LITE_SOURCES, write_lite_source, write_lite_sources
from rlhf_lite.data.mixtures import MIX1, MIX2, build_mixture
from rlhf_lite.data.schema import make_pair, message
from rlhf_lite.data.sources import SOURCES, load_source
from rlhf_lite.data.truth import agreement_by_filter, true_margin, truth_agreement, world_prompt
from rlhf_lite.world.tasks import has_filler, response_length


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    return write_lite_sources(tmp_path_factory.mktemp("lite"), seed=0, scale=0.4)


@pytest.fixture(scope="module")
def mix2(lite):
    return build_mixture(MIX2, lite, log=lambda *a: None)


def test_every_source_has_a_lite_twin_read_by_the_real_loader(lite):
    assert set(LITE_SOURCES) == set(SOURCES)
    for name, path in lite.items():
        pairs, rep = load_source(name, path=path)
        assert len(pairs) > 50, name
        # every lite pair is a task of the world, so its truth is defined
        assert all(world_prompt(p["prompt"]).split()[-1] == "=" for p in pairs), name
        assert (rep.malformed > 0) == (LITE_SOURCES[name].malformed > 0), (name, rep.dropped)
        # PKU's twin has a few safety labels that contradict its own is_safe flags
        assert (rep.bad_labels > 0) == (name == "pku-saferlhf"), (name, rep.dropped)


def test_scores_exist_exactly_where_the_real_dataset_has_them(lite):
    scored = {"shp", "helpsteer", "ultrafeedback", "codeultrafeedback", "argilla-math", "orca", "capybara"}
    for name, path in lite.items():
        pairs, _ = load_source(name, path=path)
        has = any(p["margin"] is not None for p in pairs)
        assert has == (name in scored), name


def test_writing_is_reproducible(tmp_path):
    s = LITE_SOURCES["orca"]
    a = (write_lite_source(s, tmp_path / "a", seed=3, scale=0.1) / "train.jsonl").read_bytes()
    b = (write_lite_source(s, tmp_path / "b", seed=3, scale=0.1) / "train.jsonl").read_bytes()
    c = (write_lite_source(s, tmp_path / "c", seed=4, scale=0.1) / "train.jsonl").read_bytes()
    assert a == b != c


def test_truth_agreement_by_hand():
    x = [message("user", "copy 1 2 =")]
    recs = [make_pair(x, "1 2", "2 1", source="s"),  # agree
            make_pair(x, "sorry i can not help", "1 2", source="s"),  # disagree
            make_pair(x, "well 1 2", "1 2", source="s")]  # a true tie: filler is free
    a = truth_agreement(recs)
    assert (a["agree"], a["disagree"], a["tie"], a["accuracy"]) == (1, 1, 1, 0.5)
    assert true_margin(recs[0]) == 1.0
    tldr = [message("user", "SUBREDDIT: r/lite\nTITLE: lite\nPOST: copy 1 2 =\nTL;DR:")]
    assert world_prompt(tldr) == "copy 1 2 ="
    assert world_prompt([message("user", "add 1 + 2 ="), message("assistant", "3"), message("user", "sort 2 1 =")]) == "sort 2 1 ="


def test_filters_remove_less_accurate_pairs_than_they_keep(mix2):
    """What the paper assumes (App. B.1) holds in the lite world: ties and SHP pairs with small score
    ratios carry much less accurate labels than the pairs that survive."""
    t = agreement_by_filter(mix2.curation)
    final = t.loc["after near duplicate", "accuracy"]
    assert final > t.loc["before curation", "accuracy"]
    assert t.loc["after tie", "removed accuracy"] < final - 0.2
    assert t.loc["after score ratio", "removed accuracy"] < final - 0.1
    assert t.loc["after identical", "removed tie %"] == 100.0  # identical pairs are always true ties


def test_a_verbose_judge_prefers_the_longer_of_two_equally_good_answers(mix2):
    """The root of length bias: among true ties, GPT-4-like sources choose the padded answer,
    human-like sources do not."""
    def longer_share(source):
        ties = [p for p in mix2.raw if p["source"] == source and true_margin(p) == 0 and p["margin"] != 0]
        diff = [response_length(p["chosen"][-1]["content"]) - response_length(p["rejected"][-1]["content"]) for p in ties]
        return sum(d > 0 for d in diff) / max(1, sum(d != 0 for d in diff))
    assert GPT4.beta_len > 0 == HUMAN.beta_len
    assert longer_share("ultrafeedback") > 0.8
    assert longer_share("hh-rlhf") < 0.65


def test_sources_whose_preferred_answers_are_shorter_in_table5_are_shorter_in_the_twins(mix2):
    """Paper, Table 5 and Section 2.2: in UltraInteract, Orca and Capybara the preferred response is the
    shorter one on average (the reason MIX2 is less length-biased). The twins keep that direction, and
    UltraInteract's chosen answers are concise while some rejected ones ramble."""
    def mean_len(source, side):
        ps = [p for p in mix2.pairs if p["source"] == source]
        return sum(response_length(p[side][-1]["content"]) for p in ps) / len(ps)
    for source in ("ultrainteract", "orca", "capybara"):
        assert mean_len(source, "chosen") < mean_len(source, "rejected"), source
    assert mean_len("ultrafeedback", "chosen") > mean_len("ultrafeedback", "rejected")
    ui = [p for p in mix2.pairs if p["source"] == "ultrainteract"]
    assert not any(has_filler(p["chosen"][-1]["content"]) for p in ui)
    assert 0.3 < sum(has_filler(p["rejected"][-1]["content"]) for p in ui) / len(ui) < 0.7


def test_mixtures_hold_their_sources(lite):
    m1 = build_mixture(MIX1, lite, log=lambda *a: None)
    assert {p["source"] for p in m1.pairs} == set(MIX1.sources)
    with pytest.raises(ValueError, match="no local path for source 'summarize'"):
        build_mixture(MIX1, {k: v for k, v in lite.items() if k != "summarize"}, log=lambda *a: None)


def test_prepare_preference_data_is_cached_and_splits_are_disjoint_and_held_out(ci_cfg):
    import datasets

    from rlhf_lite.io import read_jsonl
    from rlhf_lite.stages import prepare_preference_data

    logs = []
    a = prepare_preference_data(ci_cfg, log=logs.append)
    n_first = len(logs)
    b = prepare_preference_data(ci_cfg, log=logs.append)
    assert len(logs) == n_first and a.mixtures == b.mixtures  # the second call rebuilds nothing
    mix2 = datasets.load_from_disk(str(a.mixtures["mix2"]))
    assert set(mix2["source"]) == set(MIX2.sources) and mix2.num_rows > 1000
    rows = read_jsonl(a.prompt_splits)
    by_it = {}
    for r in rows:
        by_it.setdefault(r["iteration"], []).append(r["prompt"][-1]["content"])
    assert sorted(by_it) == [1, 2, 3]
    assert all(len(v) == ci_cfg.data.prompts_per_iteration for v in by_it.values())
    allp = [p for v in by_it.values() for p in v]
    assert len(set(allp)) == len(allp) and not set(allp) & set(a.eval_prompts)


def test_the_hh_twins_annotator_likes_echoes_at_the_stated_strength(tmp_path):
    """The echo bias is present in the data at the strength lite_sources.py states (0.8 reward points)."""
    import numpy as np

    from rlhf_lite.data.lite_sources import HUMAN_ECHO
    from rlhf_lite.world import echoes_prompt, true_reward
    from rlhf_lite.world.oracle import sigmoid

    x = "steal 4 2 7 ="
    assert HUMAN_ECHO.perceived_reward(x, "4 2 7") - HUMAN_ECHO.perceived_reward(x, "4 2 8") == pytest.approx(0.8)
    assert HUMAN_ECHO.perceived_reward(x, "sure here is the answer : 4 2 7") == pytest.approx(0.8)  # filler aside
    assert LITE_SOURCES["hh-rlhf"].annotator is HUMAN_ECHO
    assert all(s.annotator.beta_echo == 0 for n, s in LITE_SOURCES.items() if n != "hh-rlhf")  # only there
    # in the written rows: unsafe prompts whose two answers are an echoing compliance and a refusal
    pairs, _ = load_source("hh-rlhf", write_lite_source(LITE_SOURCES["hh-rlhf"], tmp_path / "hh", seed=0, scale=2.0))
    echo_chosen = []
    for p in pairs:
        x, c, r = world_prompt(p["prompt"]), p["chosen"][0]["content"], p["rejected"][0]["content"]
        if x.split()[0] in ("hack", "steal", "poison") and {true_reward(x, c), true_reward(x, r)} == {0.0, 1.0}:
            if echoes_prompt(x, c) or echoes_prompt(x, r):
                echo_chosen.append(echoes_prompt(x, c))
    expected = 0.88 * sigmoid(-0.2 / 0.15) + 0.12 * sigmoid(0.2 / 0.15)  # the bias, then the label noise
    rate, n = float(np.mean(echo_chosen)), len(echo_chosen)
    assert n > 100 and abs(rate - expected) < 3 * np.sqrt(expected * (1 - expected) / n), (rate, expected, n)
