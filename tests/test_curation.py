"""Curation filters on hand-made pairs, the report, Table 5 statistics by hand, recipes, prompt splits."""

import numpy as np
import pytest

from rlhf_lite.data.curation import curate, plot_report
from rlhf_lite.data.filters import (CapPerPrompt, Conflicts, Contradicted, Dedup, EmptyTurns, Identical, MaxLength,
                                    MinMargin, ScoreRatio, Ties, normalise_text, paper_filters)
from rlhf_lite.data.mixtures import (MIX1, MIX2, MixtureRecipe, load_mixture_recipe, prompt_pool, save_pairs,
                                     split_prompts, table5)
from rlhf_lite.data.schema import make_pair, message
from rlhf_lite.world.tokenizer import build_tokenizer


def pair(x="copy 1 2 =", c="1 2", r="2 1", source="ultrafeedback", sc=None, sr=None, pid=None):
    return make_pair([message("user", x)], c, r, source=source, prompt_id=pid, score_chosen=sc, score_rejected=sr)


def kept(f, records):
    return f.keep(records)


def test_identical_empty_and_ties():
    recs = [pair(), pair(c="1 2", r="1  2"), pair(c="Hello!", r="hello"), pair(c="-3", r="3")]
    assert kept(Identical(), recs) == [True, False, True, True]  # only spacing is ignored
    recs = [pair(), pair(c=""), pair(r="   "), make_pair([message("assistant", "x")], "a", "b", source="s"),
            make_pair([], "a", "b", source="s")]
    assert kept(EmptyTurns(), recs) == [True, False, False, False, False]
    recs = [pair(sc=4, sr=4), pair(sc=4, sr=3), pair()]  # unscored pairs are not ties
    assert kept(Ties(), recs) == [False, True, True]


def test_contradicted_labels_and_conflicting_duplicates():
    recs = [pair(sc=3, sr=4), pair(sc=4, sr=3), pair(sc=4, sr=4), pair()]
    assert kept(Contradicted(), recs) == [False, True, True, True]
    recs = [pair(c="1 2", r="2 1"), pair(c="2 1", r="1 2"), pair(c="1 2", r="9"), pair(x="sort 2 1 =", c="2 1", r="1 2")]
    assert kept(Conflicts(), recs) == [False, False, True, True]  # both labels of the contradiction go


def test_min_margin_threshold_per_source_and_shp_excluded():
    recs = [pair(sc=4.0, sr=3.5), pair(sc=4.0, sr=3.0), pair(), pair(source="shp", sc=3, sr=2.9),
            pair(source="helpsteer", sc=3.0, sr=2.5)]
    assert kept(MinMargin(1.0), recs) == [False, True, True, True, False]
    assert kept(MinMargin(0.5), recs) == [True, True, True, True, True]  # a margin equal to the threshold stays
    assert kept(MinMargin({"helpsteer": 1.0}), recs) == [True, True, True, True, False]


def test_shp_ratio_rule_and_cap_of_five_per_post():
    recs = [pair(source="shp", sc=10, sr=5, pid="p"), pair(source="shp", sc=11, sr=5, pid="p"),
            pair(source="shp", sc=3, sr=0, pid="p"), pair(source="shp", sc=1, sr=0, pid="p"),
            pair(source="ultrafeedback", sc=4, sr=3)]
    # ratio must be > 2, not = 2; a rejected score of 0 counts as 1 (1 upvote vs 0 is no evidence)
    assert kept(ScoreRatio(2.0), recs) == [False, True, True, False, True]
    assert kept(ScoreRatio(2.0, sources=None), recs + [pair(), pair(sc=5, sr=None)]) == [False, True, True, False, False, True, True]
    # seven pairs on one post: the five with the largest score ratio stay
    post = [pair(c=f"a{i}", source="shp", sc=s, sr=1, pid="q") for i, s in enumerate([3, 9, 4, 8, 5, 7, 6])]
    other = [pair(c="b", source="shp", sc=2, sr=1, pid="other")]
    assert kept(CapPerPrompt(5), post + other) == [False, True, False, True, True, True, True, True]
    assert kept(CapPerPrompt(5, sources=("hh-rlhf",)), post) == [True] * 7
    weak = [pair(c="z", source="shp", sc=1, sr=0, pid="q")]  # ratio 1, not infinity: the first to go
    assert kept(CapPerPrompt(5), post[:5] + weak) == [True] * 5 + [False]


def test_dedup_exact_then_normalised():
    recs = [pair(), pair(), pair(x="Copy  1 2 =", c="1 2!"), pair(c="2 1", r="1 2"), pair(source="shp"),
            pair(x="add 2 + 2 =", c="4", r="0"), pair(x="add 2 - 2 =", c="4", r="0")]
    assert kept(Dedup(), recs) == [True, False, True, True, False, True, True]  # across sources: one copy
    assert kept(Dedup(normalise=True), recs) == [True, False, False, True, False, True, True]  # "+" != "-"
    assert normalise_text("What  is 2+2?") == normalise_text("what is 2+2") != normalise_text("what is 2-2")


def test_max_length_counts_tokens_through_the_chat_template():
    tok = build_tokenizer()
    recs = [pair(c="1 2"), pair(c="1 2 3 4 5 6")]  # <bos> + 4 prompt tokens + 2 (or 6) response tokens + <eos>
    assert kept(MaxLength(tok, 8), recs) == [True, False]
    assert kept(MaxLength(tok, 12), recs) == [True, True]
    with pytest.raises(ValueError, match="needs a tokenizer"):
        MaxLength(None, 5).keep(recs)


def test_curate_counts_per_filter_and_source_and_keeps_what_it_removed():
    recs = [pair(sc=4, sr=4), pair(c="x", r="x"), pair(), pair(), pair(c="a", source="shp", sc=3, sr=2, pid="p"),
            pair(c="b", source="shp", sc=9, sr=2, pid="p")]
    res = curate(recs, [Identical(), Ties(), ScoreRatio(), Dedup()])
    assert len(res.kept) == 2 and len(res.removed) == 4
    assert [name for name, _ in res.removed] == ["identical", "tie", "score ratio", "duplicate"]
    df = res.report()
    assert df.loc["ultrafeedback", ["pairs", "identical", "tie", "duplicate", "kept"]].tolist() == [4, 1, 1, 1, 1]
    assert df.loc["shp", ["pairs", "score ratio", "kept"]].tolist() == [2, 1, 1]
    assert df.loc["total", "kept"] == 2 and df.loc["total", "kept %"] == pytest.approx(33.3)
    ax = plot_report(df)
    assert [c.get_label() for c in ax.containers] == ["identical", "tie", "score ratio", "duplicate"]
    widths = {c.get_label(): [b.get_width() for b in c] for c in ax.containers}
    assert widths["tie"] == [0.0, 25.0]  # sources in index order (shp, ultrafeedback): 1 of 4 pairs
    with pytest.raises(ValueError, match="share a name"):
        curate(recs, [Dedup(), Dedup()])


def test_paper_filters_order_and_optional_length_filter():
    names = [f.name for f in paper_filters()]
    assert names == ["empty turn", "identical", "contradicted", "conflicting", "tie", "score ratio", "per-prompt cap",
                     "small margin", "duplicate", "near duplicate"]
    assert [f.name for f in paper_filters(build_tokenizer(), 64)][-1] == "too long"


def test_table5_statistics_by_hand():
    tok = build_tokenizer()  # one word = one token
    recs = [pair(x="copy 1 2 =", c="1 2", r="2", source="hh-rlhf"),  # prompt 4, chosen 2, rejected 1
            pair(x="copy 1 2 =", c="1 2 3", r="done", source="hh-rlhf"),  # same prompt: 4, 3, 1
            pair(x="sort 3 1 =", c="1 3", r="3 1 2 4", source="ultrafeedback")]
    t = table5(recs, tok)
    assert t.loc["hh-rlhf"].tolist() == [1, 4.0, 2.5, 1.0, "LLM", "Human", 2]
    assert t.loc["ultrafeedback"].tolist() == [1, 4.0, 2.0, 4.0, "LLM", "GPT-4", 1]


def test_recipes_load_and_match_the_named_mixtures(root):
    assert load_mixture_recipe(root / "recipes" / "data" / "mix1.yaml") == MIX1
    assert load_mixture_recipe(root / "recipes" / "data" / "mix2.yaml") == MIX2
    assert set(MIX1.sources) == {"hh-rlhf", "shp", "ultrafeedback", "summarize"} and len(MIX2.sources) == 10


def test_recipe_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsourcez: [shp]\n")
    with pytest.raises(ValueError, match=r"bad.yaml: unknown key\(s\) \['sourcez'\]"):
        load_mixture_recipe(bad)
    bad.write_text("name: x\nsources: [shp, reddit]\n")
    with pytest.raises(ValueError, match=r"bad.yaml: mixture 'x': unknown sources \['reddit'\]"):
        load_mixture_recipe(bad)
    with pytest.raises(ValueError, match="pku_label"):
        MixtureRecipe(pku_label="both")


def test_prompt_pool_dedups_and_splits_are_disjoint():
    recs = [pair(x=f"copy {i} =") for i in range(30)] + [pair(x="Copy 3 ="), pair(x="copy 3  =", source="orca"),
                                                       pair(x="copy 99 =", source="shp")]
    pool = prompt_pool(recs)
    assert len(pool) == 30  # duplicates after normalisation merged; shp is not a prompt source
    turns = [make_pair([message("user", "a"), message("assistant", "b"), message("user", "copy 1 =")], "1", "2", source="orca")]
    assert len(prompt_pool(recs + turns)) == 31  # a different history makes a different prompt ...
    assert len(prompt_pool(recs + turns, last_turn_only=True)) == 30  # ... unless only the last turn counts
    splits = split_prompts(pool, iterations=3, per_iteration=8, seed=1, exclude=["copy 0 ="])
    texts = [[p[0]["content"] for p in s] for s in splits]
    assert [len(t) for t in texts] == [8, 8, 8] and len({x for t in texts for x in t}) == 24
    assert "copy 0 =" not in {x for t in texts for x in t}
    assert splits == split_prompts(pool, 3, 8, seed=1, exclude=["copy 0 ="])  # reproducible
    with pytest.raises(ValueError, match="need 40 distinct prompts, but the pool has 30"):
        split_prompts(pool, 4, 10)


def test_saved_pairs_reload_with_datasets(tmp_path):
    import datasets

    recs = [pair(sc=4, sr=3), pair(c="3", source="hh-rlhf")]
    save_pairs(recs, tmp_path / "mix")
    ds = datasets.load_from_disk(str(tmp_path / "mix"))
    assert ds.num_rows == 2 and ds[0]["chosen"] == [{"role": "assistant", "content": "1 2"}]
    assert ds[1]["margin"] is None and ds[0]["margin"] == 1.0


def _pair(chosen, rejected, margin, source="ultrafeedback", prompt="copy 1 2 ="):
    msg = lambda a: [{"role": "assistant", "content": a}]  # noqa: E731
    return {"prompt": [{"role": "user", "content": prompt}], "chosen": msg(chosen), "rejected": msg(rejected),
            "margin": margin, "source": source}


def test_the_margin_sweep_keeps_fewer_pairs_at_each_threshold_and_the_length_gap_counts_words():
    from rlhf_lite.data.curation import length_gap, margin_sweep

    pairs = [_pair("1 2", "2 1", m) for m in (0.1, 0.6, 1.2, 2.5)]
    rows = margin_sweep(pairs, [0.0, 0.5, 1.0, 2.0])
    assert [r["pairs"] for r in rows] == [4, 3, 2, 1] and rows[0]["accuracy"] == 1.0
    mean, half, n = length_gap([_pair("1 2 well", "2 1", 1.0), _pair("1 2", "2 1 so", 1.0)])
    assert (mean, n) == (0.0, 2) and half > 0
    assert length_gap([])[2] == 0 and np.isnan(length_gap([_pair("1 2", "2 1", 1.0)])[1])



def test_length_gaps_by_source_splits_each_source_and_keeps_true_ties_apart():
    from rlhf_lite.data.curation import length_gaps_by_source

    # "copy 1 2 =": "1 2" is right (r* 1), "2 1" wrong; two answers "1 2" with filler are a true tie
    pairs = [_pair("1 2 well", "2 1", 1.0), _pair("sure 1 2 well", "1 2", 0.5), _pair("1 2", "2 1 so", 1.0, source="shp")]
    rows = {r["source"]: r for r in length_gaps_by_source(pairs, ["ultrafeedback", "shp", "orca"])}
    assert list(rows) == ["ultrafeedback", "shp", "orca"]
    assert rows["ultrafeedback"]["gap (all)"] == 1.5 and rows["ultrafeedback"]["true ties"] == 1
    assert rows["ultrafeedback"]["gap (true ties)"] == 2.0 and np.isnan(rows["ultrafeedback"]["± ties"])
    assert rows["shp"]["gap (all)"] == -1.0 and rows["shp"]["true ties"] == 0
    assert rows["orca"]["true ties"] == 0 and np.isnan(rows["orca"]["gap (all)"])

def test_a_curation_report_turned_round_names_the_sources_each_filter_removed_from():
    import pandas as pd

    from rlhf_lite.data.curation import per_filter, removal_shares

    report = pd.DataFrame({"pairs": [10, 30, 40], "kept": [8, 20, 28], "tie": [2, 0, 2], "small margin": [0, 10, 10]},
                          index=["a", "b", "total"])
    t = per_filter(report)
    report["identical"] = [0, 0, 0]
    assert removal_shares(report) == (1 - 28 / 40, 1 - 28 / 38)
    assert list(t.index) == ["tie", "small margin"]  # the loading columns are not filters
    assert t.loc["tie", "from (most first)"] == "a 2" and t.loc["small margin", "% of pairs"] == 25.0


def test_our_table_5_beside_the_papers_compares_directions():
    import pandas as pd

    from rlhf_lite.data.mixtures import PAPER_TABLE5, table5_beside_paper

    ours = pd.DataFrame({"preferred len": [12.0, 5.0], "rejected len": [10.0, 6.0], "#pairs": [100, 50]},
                        index=["ultrafeedback", "summarize"])
    side = table5_beside_paper(ours)
    assert side.loc["ultrafeedback", "paper pref/rej"] == PAPER_TABLE5["ultrafeedback"][1] / PAPER_TABLE5["ultrafeedback"][2]
    assert side.loc["ultrafeedback", "ours pref/rej"] == 1.2 and pd.isna(side.loc["summarize", "paper #pairs"])
