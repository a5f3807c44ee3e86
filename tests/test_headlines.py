"""Chapters' headlines (rlhf_lite.headlines): typed fields the scorecard reads, checked without a build."""

import dataclasses
import json
import typing

import pytest

from rlhf_lite import headlines as H
from rlhf_lite.site import scorecard as sc
from rlhf_lite.site.claims import CLAIMS
from rlhf_lite.stats import Interval


def placeholder(kind):
    """An instance of a headline type with a plausible value of each field's type."""
    values = {}
    for f in dataclasses.fields(kind):
        t = typing.get_type_hints(kind)[f.name]
        values[f.name] = (Interval(0.1, 0.05) if t is Interval else placeholder(t) if dataclasses.is_dataclass(t)
                          else {"reasoning": 0.9, "chat": 0.9, "safety": 0.9} if t is dict else True if t is bool else 3 if t is int
                          else "a name" if t is str else 0.6)
    return kind(**values)


@pytest.fixture
def every_headline():
    return {chapter: placeholder(kind) for chapter, kind in H.HEADLINES.items()}


def test_every_claim_reads_fields_its_chapters_headline_has(every_headline):
    """A claim that asks for a field its chapter's headline type lacks fails here (AttributeError), not after a
    build; with every chapter's headline present, every claim is measured."""
    for c in CLAIMS:
        assert c.chapter in H.HEADLINES, f"{c.key} reads chapter {c.chapter}, which has no headline type"
        c.measure(every_headline)
        c.why_not(every_headline)
    assert all(row["measured"] is not None for row in sc.score(every_headline))


def test_a_claim_whose_chapter_did_not_run_is_not_measured_and_other_errors_are_not_hidden(every_headline):
    del every_headline["07_why_online"]
    rows = {r["key"]: r for r in sc.score(every_headline)}
    assert rows["online_beats_offline"]["verdict"] == sc.NOT_MEASURED
    assert rows["length_penalty"]["measured"] is not None
    every_headline["06_iterative_dpo"] = "not a headline"  # a claim's own error surfaces instead of "not measured"
    with pytest.raises(AttributeError):
        sc.score(every_headline)


@pytest.mark.parametrize("chapter", sorted(H.HEADLINES))
def test_a_headline_survives_its_json_and_a_missing_field_is_named(chapter, tmp_path):
    h = placeholder(H.HEADLINES[chapter])
    (tmp_path / f"{chapter}.json").write_text(json.dumps({"profile": "ci", "headline": H.to_json(h)}))
    assert H.read(tmp_path, chapter, "ci") == h
    data = json.loads((tmp_path / f"{chapter}.json").read_text())
    gone = next(iter(data["headline"]))
    del data["headline"][gone]
    (tmp_path / f"{chapter}.json").write_text(json.dumps(data))
    with pytest.raises(H.MissingResult, match=f"no field '{gone}'") as e:
        H.read(tmp_path, chapter, "ci")
    assert e.value.field == gone and e.value.chapter == chapter


def test_reading_says_why_a_headline_is_not_there(tmp_path):
    with pytest.raises(H.MissingResult, match="has not run here"):
        H.read(tmp_path, "06_iterative_dpo", "book")
    (tmp_path / "06_iterative_dpo.json").write_text(json.dumps({"profile": "ci", "headline": {}}))
    with pytest.raises(H.MissingResult, match="last ran in the `ci` profile"):
        H.read(tmp_path, "06_iterative_dpo", "book")
    with pytest.raises(ValueError, match="no headline type"):
        H.read(tmp_path, "02_lite_world")


def test_a_nested_field_is_named_by_its_path(tmp_path):
    h = placeholder(H.WhyOnlineHeadline)
    data = H.to_json(h)
    del data["gold_far"]["offline_distance"]
    (tmp_path / "07_why_online.json").write_text(json.dumps({"profile": "ci", "headline": data}))
    with pytest.raises(H.MissingResult, match="'gold_far.offline_distance'"):
        H.read(tmp_path, "07_why_online")


def test_save_writes_the_results_and_the_headline_and_refuses_another_chapters_type(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_LITE_RESULTS", str(tmp_path))
    h = placeholder(H.LengthBiasHeadline)
    H.save("05_length_bias", h, {"table": [1, 2]}, "ci")
    data = json.loads((tmp_path / "05_length_bias.json").read_text())
    assert data["table"] == [1, 2] and data["profile"] == "ci" and H.read(tmp_path, "05_length_bias") == h
    with pytest.raises(TypeError, match="LengthBiasHeadline"):
        H.save("05_length_bias", placeholder(H.TheoryHeadline), {}, "ci")


def test_an_arm_that_could_not_be_compared_along_kl_is_not_measured_and_does_not_stop_the_build(every_headline):
    nan = Interval(float("nan"), float("nan"))
    h = every_headline["07_why_online"]
    every_headline["07_why_online"] = dataclasses.replace(
        h, gold_far=dataclasses.replace(h.gold_far, kl=float("nan"), online=nan, offline=nan, difference=nan))
    rows = {r["key"]: r for r in sc.score(every_headline)}
    assert rows["online_beats_far_offline"]["verdict"] == sc.NOT_MEASURED


def test_a_page_that_quotes_another_chapter_gets_its_headline_or_the_reason(tmp_path):
    h = placeholder(H.JudgeHeadline)
    assert H.read_or_why(tmp_path, "08_what_the_judge_teaches", "book") == (None, "results/08_what_the_judge_teaches.json "
                                                                             "is missing: the chapter has not run here")
    (tmp_path / "08_what_the_judge_teaches.json").write_text(json.dumps({"profile": "ci", "headline": H.to_json(h)}))
    assert H.read_or_why(tmp_path, "08_what_the_judge_teaches", "ci") == (h, "")
    got, why = H.read_or_why(tmp_path, "08_what_the_judge_teaches", "book")
    assert got is None and "`ci` profile" in why
    with pytest.raises(ValueError, match="no headline type"):  # a wrong chapter name is not a missing result
        H.read_or_why(tmp_path, "02_lite_world")
