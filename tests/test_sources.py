"""Loaders for the ten Table 5 datasets (+ summarisation) on fixtures in each dataset's native format.

The fixtures under tests/fixtures/hub/<source>/ are hand-written rows with the real field names and
nesting, including the quirks each loader must handle. Expected pairs are worked out by hand here.
"""

import json

import pytest

from rlhf_lite.data.rows import iter_rows
from rlhf_lite.data.schema import MalformedRowError, RowError
from rlhf_lite.data.sources import SOURCES, TABLE5, load_source


@pytest.fixture(scope="module")
def hub(root):
    return root / "tests" / "fixtures" / "hub"


def texts(p):
    return [m["content"] for m in p["prompt"]], p["chosen"][-1]["content"], p["rejected"][-1]["content"]


def test_every_table5_source_has_a_loader_and_a_fixture(hub):
    assert len(TABLE5) == 10 and set(TABLE5) <= set(SOURCES) and "summarize" in SOURCES
    for name in SOURCES:
        pairs, rep = load_source(name, path=hub / name)
        assert rep.rows >= 2 and pairs, name
        for p in pairs:  # the schema TRL reads: conversational prompt / chosen / rejected
            assert p["prompt"] and p["prompt"][-1]["role"] == "user", (name, p)
            assert [m["role"] for m in p["chosen"]] == ["assistant"] == [m["role"] for m in p["rejected"]]
            assert p["source"] == name and p["origin"]
            if p["margin"] is not None:
                assert p["margin"] == p["score_chosen"] - p["score_rejected"]
                # converters built from scores orient pairs by score; only an explicit label can contradict it
                assert p["margin"] >= 0 or name == "argilla-math"


def test_hh_rlhf_shared_prefix_is_the_prompt_and_bad_rows_are_counted(hub):
    pairs, rep = load_source("hh-rlhf", path=hub / "hh-rlhf")
    prompt, c, r = texts(pairs[0])
    assert [m["role"] for m in pairs[0]["prompt"]] == ["user", "assistant", "user"]
    assert prompt == ["How do I boil an egg?", "Put it in boiling water for 8 minutes.", "And soft-boiled?"]
    assert (c, r) == ("About 6 minutes, then cool it in cold water.", "Eggs are from chickens.")
    assert texts(pairs[2])[2] == ""  # empty final response: kept here, removed by the EmptyTurns filter
    assert rep.rows == 6 and rep.pairs == 3 and rep.malformed == 3
    reasons = " | ".join(rep.dropped)
    assert "differ before the final assistant turn" in reasons
    assert "rejected: missing" in reasons and "UTF-8" in reasons
    (missing,) = [k for k in rep.dropped if k.startswith("rejected: missing")]
    assert rep.examples[missing] == "train.jsonl:5"
    assert missing.endswith("reads the layout of Anthropic/hh-rlhf [chosen rejected]; this row has [chosen]")


def test_shp_label_picks_the_preferred_comment_with_its_upvotes(hub):
    pairs, rep = load_source("shp", path=hub / "shp")
    assert texts(pairs[0])[1:] == ("Your yeast may be dead; proof it first.", "Use more flour.")
    assert (pairs[0]["score_chosen"], pairs[0]["score_rejected"]) == (52.0, 10.0)
    assert texts(pairs[1])[1:] == ("The kitchen is too cold.", "Bake it longer.")  # labels == 0: B preferred
    assert pairs[0]["prompt_id"] == pairs[1]["prompt_id"] == "p1"
    assert list(rep.dropped) == ["score_A: expected float"]  # "many" upvotes


def test_helpsteer_pairs_by_mean_of_helpfulness_and_correctness(hub):
    pairs, _ = load_source("helpsteer", path=hub / "helpsteer")
    got = {(texts(p)[1][:10], texts(p)[2][:10], p["score_chosen"], p["score_rejected"]) for p in pairs}
    assert got == {
        ("Soft rain ", "Rain is we", 4.0, 1.5), ("Soft rain ", "Clouds wee", 4.0, 3.0),
        ("Clouds wee", "Rain is we", 3.0, 1.5),
        ("A cat sat.", "The cat wa", 3.0, 3.0),  # a tie (3+3)/2 == (4+2)/2, left for the Ties filter
    }  # the prompt with a single response gives no pair


def test_pku_uses_the_chosen_label_and_drops_contradicted_safety_labels(hub):
    safer, rep = load_source("pku-saferlhf", path=hub / "pku-saferlhf")
    assert [texts(p)[1] for p in safer] == ["I can't help with accessing networks without permission.", "Steep it longer."]
    assert list(rep.dropped) == ["safer_response_id: label contradicts is_response_*_safe"]
    better, rep = load_source("pku-saferlhf", path=hub / "pku-saferlhf", label="better")
    assert [texts(p)[1] for p in better] == ["Try common default passwords like admin.", "Use two bags.",
                                             "Use a tension wrench and a pick."]
    assert rep.malformed == 0


def test_ultrafeedback_ranks_by_fine_grained_score_and_skips_na(hub):
    pairs, rep = load_source("ultrafeedback", path=hub / "ultrafeedback")
    assert len(pairs) == 6  # C(4, 2) for the first prompt; one completion gives none (counted); third row malformed
    green = [p for p in pairs if texts(p)[2] == "Green."]
    # fine-grained_score is missing for "Green.": recomputed from the non-"N/A" ratings (2 and 1)
    assert {p["score_rejected"] for p in green} == {1.5}
    ties = [p for p in pairs if p["margin"] == 0]
    assert len(ties) == 1 and ties[0]["score_chosen"] == 3.5
    assert rep.dropped == {"completions: expected list": 1, "completions: fewer than two responses have a score": 1}


def test_ultrainteract_trajectory_becomes_the_multi_turn_prompt(hub):
    pairs, rep = load_source("ultrainteract", path=hub / "ultrainteract")
    assert [m["role"] for m in pairs[1]["prompt"]] == ["user", "assistant", "user"]
    assert pairs[0]["prompt_id"] == pairs[1]["prompt_id"] == "q1"
    assert list(rep.dropped) == ["trajectory: empty conversation"]


def test_codeultrafeedback_matches_ratings_to_responses_by_model(hub):
    pairs, rep = load_source("codeultrafeedback", path=hub / "codeultrafeedback")
    # gpt-4 (5), llama-2 (2), wizardcoder (2); mistral is "N/A": three pairs, one a tie
    assert sorted(p["margin"] for p in pairs) == [0.0, 3.0, 3.0]
    assert list(rep.dropped) == ["annotations: expected a numeric score"]  # rating "five"


def test_argilla_orca_capybara_summarize(hub):
    math, rep = load_source("argilla-math", path=hub / "argilla-math")
    # the last row labels the lower-rated answer as chosen: converted as is, the Contradicted filter removes it
    assert [p["margin"] for p in math] == [3.0, 0.0, -4.0] and list(rep.dropped) == ["chosen_response: expected str"]
    orca, _ = load_source("orca", path=hub / "orca")
    assert [m["role"] for m in orca[0]["prompt"]] == ["system", "user"]  # the system prompt leads
    assert (orca[0]["score_chosen"], orca[0]["score_rejected"]) == (9.0, 4.0)  # ratings follow generations
    assert orca[1]["margin"] == 0.0  # status "tie"
    assert orca[2]["margin"] is None and [m["role"] for m in orca[2]["prompt"]] == ["user"]  # empty system
    capy, rep = load_source("capybara", path=hub / "capybara")
    assert [m["content"] for m in capy[0]["prompt"]] == ["What is the capital of Australia?", "Canberra.", "Why not Sydney?"]
    assert capy[1]["margin"] == 0 and list(rep.dropped) == ["chosen: empty conversation"]
    summ, rep = load_source("summarize", path=hub / "summarize")
    p0, c0, r0 = texts(summ[0])
    assert p0[0].startswith("SUBREDDIT: r/relationships\nTITLE: Mother not speaking to me\nPOST: ") and p0[0].endswith("TL;DR:")
    assert c0 == "I booked a trip to see my boyfriend and my mother is upset."  # choice 1, leading space stripped
    assert texts(summ[1])[0][0].startswith("TITLE: Storm hits coast\nARTICLE: ")
    assert rep.malformed == 1


def test_errors_raise_names_file_row_and_field(hub):
    with pytest.raises(MalformedRowError, match=r"hh-rlhf: row train\.jsonl:4: field 'chosen': chosen and rejected differ"):
        load_source("hh-rlhf", path=hub / "hh-rlhf", errors="raise")
    with pytest.raises(MalformedRowError, match=r"shp: row askculinary_train\.json:3: field 'score_A': expected float"):
        load_source("shp", path=hub / "shp", errors="raise")
    with pytest.raises(ValueError, match="errors must be"):
        load_source("shp", path=hub / "shp", errors="ignore")


@pytest.mark.parametrize("line, reason", [
    (b'{"chosen": "\\n\\nHuman: a\\n\\nAssistant: b"}', "rejected: missing"),  # missing field
    (b'{"chosen": 3, "rejected": "x"}', "chosen: expected str"),  # wrong type
    (b'{"chosen": "\\n\\nHuman: caf\xe9", "rejected": "x"}', "not valid UTF-8"),  # non-UTF8 bytes
    (b'{"chosen": "", "rejected": ""}', "chosen: empty conversation"),  # empty conversation
    (b'{"chosen": "\\n\\nHuman: a', "not valid JSON"),  # truncated line
    (b'[1, 2]', "row is a list"),
])
def test_each_kind_of_bad_row_is_counted_with_its_reason_or_raised(tmp_path, line, reason):
    good = json.dumps({"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"})
    f = tmp_path / "train.jsonl"
    f.write_bytes(good.encode() + b"\n" + line + b"\n" + good.encode() + b"\n")
    pairs, rep = load_source("hh-rlhf", path=f)
    assert len(pairs) == 2 and rep.rows == 3 and rep.malformed == 1
    assert any(reason in k for k in rep.dropped), rep.dropped
    assert rep.examples[next(iter(rep.dropped))] == "train.jsonl:2"
    with pytest.raises(MalformedRowError, match="row train.jsonl:2"):
        load_source("hh-rlhf", path=f, errors="raise")


def test_parquet_and_gz_copies_load_the_same_pairs(hub, tmp_path):
    import gzip

    import datasets

    rows = [r for _, r in iter_rows(hub / "capybara") if not isinstance(r, RowError)]
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "train.parquet"))
    a, _ = load_source("capybara", path=hub / "capybara")
    b, _ = load_source("capybara", path=tmp_path / "train.parquet")
    assert [texts(p) for p in a] == [texts(p) for p in b]
    src = (hub / "argilla-math" / "train.jsonl").read_bytes()
    (tmp_path / "m.jsonl.gz").write_bytes(gzip.compress(src))
    c, _ = load_source("argilla-math", path=tmp_path / "m.jsonl.gz")
    d, _ = load_source("argilla-math", path=hub / "argilla-math")
    assert [texts(p) for p in c] == [texts(p) for p in d]


def test_missing_path_and_unknown_source_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="no preference data at"):
        load_source("shp", path=tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no .jsonl"):
        load_source("shp", path=tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown preference source 'shpp'"):
        load_source("shpp", path=tmp_path)


def test_without_a_path_the_loader_goes_to_the_hub_by_id(monkeypatch):
    """Full mode: the hub id, config and data_dirs reach datasets.load_dataset (offline here, so we
    intercept the call instead of downloading)."""
    import datasets

    calls = []

    def fake_load(hub_id, config=None, split=None, data_dir=None):
        calls.append((hub_id, config, split, data_dir))
        return [{"chosen": "\n\nHuman: hi\n\nAssistant: a", "rejected": "\n\nHuman: hi\n\nAssistant: b"}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    pairs, rep = load_source("hh-rlhf")
    assert [c[3] for c in calls] == ["helpful-base", "helpful-online", "helpful-rejection-sampled"]
    assert calls[0][0] == "Anthropic/hh-rlhf" and len(pairs) == 3
    assert pairs[0]["origin"] == "Anthropic/hh-rlhf/helpful-base[train]:0" and rep.where == "Anthropic/hh-rlhf"
    calls.clear()
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append((a, k)) or [])
    load_source("summarize")
    assert calls == [(("openai/summarize_from_feedback", "comparisons"), {"split": "train"})]


def test_schema_is_accepted_by_trl(hub, root):
    """TRL's own helpers recognise the pairs as conversational preference data and render them."""
    from trl.data_utils import apply_chat_template, is_conversational

    from rlhf_lite.world.tokenizer import build_tokenizer

    tok = build_tokenizer()
    pairs, _ = load_source("capybara", path=hub / "capybara")
    assert is_conversational(pairs[0])
    out = apply_chat_template({k: pairs[0][k] for k in ("prompt", "chosen", "rejected")}, tok)
    assert set(out) == {"prompt", "chosen", "rejected"} and all(isinstance(v, str) for v in out.values())


def test_contradicted_labels_are_counted_even_when_raising(hub):
    """A label the row's own fields contradict is a judgement about the data, not a format error."""
    pairs, rep = load_source("pku-saferlhf", path=hub / "pku-saferlhf", errors="raise")
    assert len(pairs) == 2 and rep.bad_labels == 1 and rep.malformed == 0


def test_non_finite_scores_are_rejected(tmp_path):
    row = {"metadata": "{}", "instruction": "1 + 1?", "chosen_response": "2", "chosen_rating": float("nan"),
           "rejected_response": "3", "rejected_rating": 2.0}
    (tmp_path / "train.jsonl").write_text(json.dumps(row) + "\n")  # json writes NaN, and reads it back
    pairs, rep = load_source("argilla-math", path=tmp_path)
    assert not pairs and list(rep.dropped) == ["chosen_rating: expected a finite number"]
    from rlhf_lite.data.schema import as_score

    with pytest.raises(RowError, match="finite"):
        as_score("nan", "rating")
    assert as_score("N/A", "rating") is None and as_score("4", "rating") == 4.0


def test_one_kind_of_error_is_one_line_of_the_report(tmp_path):
    lines = [b'{"chosen": "\xff", "rejected": "x"}', b'{"chosen": "abc \xfe", "rejected": "x"}', b'{"chosen": [1']
    (tmp_path / "train.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    _, rep = load_source("hh-rlhf", path=tmp_path)
    assert dict(rep.dropped) == {"not valid UTF-8": 2, "not valid JSON": 1}


def test_a_local_snapshot_reads_one_split_and_the_recipe_subsets(tmp_path):
    """Like the hub path: HH-RLHF's helpful subsets only, and train files only."""
    row = lambda a: json.dumps({"chosen": f"\n\nHuman: q\n\nAssistant: {a}", "rejected": "\n\nHuman: q\n\nAssistant: no"})  # noqa: E731
    for sub, split, answer in [("helpful-base", "train", "a"), ("helpful-base", "test", "b"),
                               ("harmless-base", "train", "c"), ("helpful-online", "train", "d")]:
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / f"{split}.jsonl").write_text(row(answer) + "\n")
    pairs, _ = load_source("hh-rlhf", path=tmp_path)
    assert sorted(texts(p)[1] for p in pairs) == ["a", "d"]


def test_codeultrafeedback_rows_that_match_no_model_or_rate_one_twice_are_counted_not_lost(hub, tmp_path):
    """Such rows gave 0 pairs silently (neither kept nor counted) or let one rating overwrite another."""
    good = json.loads((hub / "codeultrafeedback" / "train.jsonl").read_text().splitlines()[0])
    unmatched = {**good, "annotations": [{**a, "model": a["model"] + "-v2"} for a in good["annotations"]]}
    twice = {**good, "annotations": good["annotations"] + [{**good["annotations"][0], "rating": "1"}]}
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in (good, unmatched, twice)) + "\n")
    pairs, rep = load_source("codeultrafeedback", path=tmp_path)
    assert rep.rows == 3 and {p["origin"] for p in pairs} == {"train.jsonl:1"}
    assert rep.dropped == {"annotations: no annotation names a model among the responses": 1,
                           "annotations: model 'gpt-4' is rated twice": 1}
    assert rep.examples["annotations: model 'gpt-4' is rated twice"] == "train.jsonl:3"


def test_origins_name_the_file_inside_the_dataset_folder(hub, tmp_path):
    """HH-RLHF has a train.jsonl.gz in each sub-folder: an origin must say which one."""
    import gzip

    rows = (hub / "hh-rlhf" / "train.jsonl").read_bytes()
    for sub in ("helpful-base", "helpful-online"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "train.jsonl.gz").write_bytes(gzip.compress(rows))
    pairs, _ = load_source("hh-rlhf", path=tmp_path)
    origins = {p["origin"].rsplit(":", 1)[0] for p in pairs}
    assert origins == {"helpful-base/train.jsonl.gz", "helpful-online/train.jsonl.gz"}
