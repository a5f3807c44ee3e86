"""The reproduction scorecard: its rule, each claim read from the chapters' results, verdicts that follow the
numbers (altered results flip them), and the page and JSON the build writes."""

import copy
import json
import math

import pytest

from rlhf_lite import scorecard as sc

CHAPTERS = {s: {"title": s.replace("_", " ")} for s in ("01_theory", "03_preference_data", "04_reward_models",
                                                          "05_length_bias", "06_iterative_dpo", "07_why_online")}


def _ms(mean, ci95):
    return {"mean": mean, "ci95": ci95}


def _summary(chars, win):
    return {"chars": _ms(chars, 1.0), "win_rate": _ms(win, 0.02)}


@pytest.fixture
def results():
    """A complete set of chapter results in the shape the notebooks save, with every claim going the paper's way."""
    return {
        "01_theory": {"profile": "book", "dpo_full_coverage_max_error": 4e-4, "enhancer_minus_offline": _ms(0.44, 0.05),
                      "settings": {"seeds": 5},
                      "best_of_n_kl": {"uniform": {str(n): 0.9 * (math.log(n) - (n - 1) / n) for n in (1, 2, 4, 8)}}},
        "03_preference_data": {"profile": "book", "label_accuracy": {"before": 0.93, "after": 0.96},
                               "mix2_raw_pairs": 28000, "mix2_kept_pairs": 20000, "mix2_removed_share": 0.3,
                               "mix2_removed_share_excluding_ties": 0.15},
        "04_reward_models": {"profile": "book", "onpolicy_pairs": 1300, "bench_pairs_per_category": 500,
                             "onpolicy_agreement": {"BT, MIX2": _ms(0.83, 0.03), "prompting (pi_0)": _ms(0.49, 0.04)},
                             "rewardbench_score": {"BT, MIX2": 0.95, "prompting (pi_0)": 0.52},
                             "rewardbench_sections": {"preference, MIX2": {"reasoning": 0.95},
                                                      "BT, MIX2": {"reasoning": 0.90}},
                             "padded_preference": {"preference, MIX2": 1.0},
                             "curation_downstream": {"raw MIX2": {"pairs": 28000},
                                                     "curated, margin 0.5 (BT-MIX2)": {"pairs": 20000}},
                             "curation_downstream_paired": {"curated minus raw": _ms(0.03, 0.02)}},
        "05_length_bias": {"profile": "book", "mean_length_correlation": {
            "BT, UltraFeedback only": {**_ms(0.35, 0.06), "prompts": 288}, "BT, MIX2": {**_ms(0.06, 0.06), "prompts": 288}}},
        "06_iterative_dpo": {"profile": "book", "seeds": 3, "main_recipe": "paper", "concise_recipe": "concise",
                             "iterative_minus_offline_win_rate": {"paper": _ms(0.10, 0.03)},
                             "offline_dpo": {"win_rate": _ms(0.56, 0.02)},
                             "per_iteration": {"paper": [_summary(30.0, 0.60), _summary(40.0, 0.66)],
                                               "concise": [_summary(30.0, 0.60), _summary(20.0, 0.67)]},
                             "reference_ablation": {"previous_minus_pi0": {"win_rate": _ms(-0.05, 0.02)}}},
        "07_why_online": {"profile": "book", "seeds": 3, "distances_by_writer": {"near": 0.1, "far": -1.2},
                          "matched_kl": {"gold judge (r*)": {
                              "far": {"matched KL": 1.5, "online - offline": 0.08, "± (95%)": 0.03},
                              "near": {"matched KL": 1.5, "online - offline": -0.02, "± (95%)": 0.03}}}},
    }


def _verdicts(results):
    return {r["key"]: r["verdict"] for r in sc.score(results)}


def _measured(results):
    """What the numbers alone say, also for the claims the lite world was built to reproduce."""
    return {r["key"]: r["measured_verdict"] for r in sc.score(results)}


def test_the_rule():
    m = sc.Measured("x", 0.1, 0.05, "3 seeds")
    assert sc.verdict(m) == sc.HOLDS
    assert sc.verdict(sc.Measured("x", 0.1, 0.2, "3 seeds")) == sc.DIRECTION  # the interval reaches zero
    assert sc.verdict(sc.Measured("x", 0.1, None, "3 seeds")) == sc.DIRECTION  # no interval to clear
    assert sc.verdict(sc.Measured("x", 1e-6, None, "exact", exact=True)) == sc.HOLDS
    assert sc.verdict(sc.Measured("x", -0.1, 0.01, "3 seeds")) == sc.FAILS
    assert sc.verdict(sc.Measured("x", 0.0, None, "exact", exact=True)) == sc.FAILS
    assert sc.verdict(sc.Measured("x", 0.1, 0.05, "3 seeds", conditions=[("kept", False)])) == sc.DIRECTION
    assert sc.verdict(None) == sc.NOT_MEASURED


def test_every_claim_of_the_issue_is_on_the_card_and_reads_its_chapter(results):
    assert set(_verdicts(results)) == {"bt_beats_prompting", "pm_beats_bt_reasoning", "curation",
                                       "curation_downstream", "length_bias",
                                       "online_beats_offline", "online_beats_far_offline", "offline_beats_sft", "length_penalty", "reference_pi0",
                                       "dpo_full_coverage", "exploration", "best_of_n_kl"}
    assert set(_measured(results).values()) == {sc.HOLDS}
    # Figure 3's order of length bias follows from how the twins' annotators were built: not evidence
    assert {k for k, v in _verdicts(results).items() if v != sc.HOLDS} == {"length_bias"}
    assert _verdicts(results)["length_bias"] == sc.BUILT_IN


@pytest.mark.parametrize("key, alter, expected", [
    ("online_beats_offline", lambda R: R["06_iterative_dpo"]["iterative_minus_offline_win_rate"].update(
        paper=_ms(-0.02, 0.01)), sc.FAILS),
    ("online_beats_offline", lambda R: R["06_iterative_dpo"]["iterative_minus_offline_win_rate"].update(
        paper=_ms(0.02, 0.03)), sc.DIRECTION),
    ("online_beats_far_offline", lambda R: R["07_why_online"]["matched_kl"]["gold judge (r*)"]["far"].update(
        {"online - offline": -0.05}), sc.FAILS),
    ("online_beats_far_offline", lambda R: R["07_why_online"]["matched_kl"]["gold judge (r*)"]["far"].update(
        {"online - offline": 0.02}), sc.DIRECTION),
    ("pm_beats_bt_reasoning", lambda R: R["04_reward_models"]["rewardbench_sections"]["preference, MIX2"].update(
        reasoning=0.54), sc.FAILS),
    ("curation", lambda R: R["03_preference_data"]["label_accuracy"].update(after=0.90), sc.FAILS),
    ("curation_downstream", lambda R: R["04_reward_models"]["curation_downstream_paired"].update(
        {"curated minus raw": _ms(0.01, 0.02)}), sc.DIRECTION),
    ("length_bias", lambda R: R["05_length_bias"]["mean_length_correlation"]["BT, UltraFeedback only"].update(
        mean=0.10), sc.DIRECTION),
    ("length_penalty", lambda R: R["06_iterative_dpo"]["per_iteration"]["concise"][-1].update(
        win_rate=_ms(0.55, 0.02)), sc.DIRECTION),  # shorter, but quality lost
    ("reference_pi0", lambda R: R["06_iterative_dpo"]["reference_ablation"]["previous_minus_pi0"].update(
        win_rate=_ms(0.03, 0.01)), sc.FAILS),
    ("best_of_n_kl", lambda R: R["01_theory"]["best_of_n_kl"]["uniform"].update({"8": 5.0}), sc.FAILS),
    ("dpo_full_coverage", lambda R: R["01_theory"].update(dpo_full_coverage_max_error=0.2), sc.FAILS),
])
def test_altered_results_flip_the_verdict(results, key, alter, expected):
    altered = copy.deepcopy(results)
    alter(altered)
    assert _measured(results)[key] == sc.HOLDS and _measured(altered)[key] == expected
    if key != "length_bias":
        assert _verdicts(altered)[key] == expected
    row = next(r for r in sc.score(altered) if r["key"] == key)
    assert row["why_not"]  # a verdict other than "holds" says why
    if key == "length_penalty":
        assert row["why_not"].startswith("Not met: quality kept")


def test_a_chapter_that_did_not_run_or_ran_in_another_profile_is_not_measured(results, tmp_path):
    for stem, data in results.items():
        (tmp_path / f"{stem}.json").write_text(json.dumps(data))
    other = dict(results["06_iterative_dpo"], profile="ci")
    (tmp_path / "06_iterative_dpo.json").write_text(json.dumps(other))
    loaded = sc.load_results(tmp_path, [s for s in results if s != "05_length_bias"], profile="book")
    v = _verdicts(loaded)
    assert v["length_bias"] == v["online_beats_offline"] == v["length_penalty"] == sc.NOT_MEASURED
    assert v["curation"] == sc.HOLDS
    assert v["length_bias"] == sc.NOT_MEASURED  # built in, but not measured in this build either


def test_the_build_writes_the_page_and_the_json(results, tmp_path):
    staging, folder = tmp_path / "staging", tmp_path / "results"
    folder.mkdir()
    for stem, data in results.items():
        (folder / f"{stem}.json").write_text(json.dumps(data))
    results["06_iterative_dpo"]["iterative_minus_offline_win_rate"]["paper"] = _ms(-0.05, 0.01)
    (folder / "06_iterative_dpo.json").write_text(json.dumps(results["06_iterative_dpo"]))
    rows = sc.write_scorecard(staging, folder, CHAPTERS, "book", list(results))
    page = (staging / "book" / "_generated" / "scorecard.md").read_text()
    saved = json.loads((folder / "scorecard.json").read_text())
    assert saved["claims"] == json.loads(json.dumps(rows)) and saved["profile"] == "book"
    assert page.count("\n| ") == 1 + len(sc.CLAIMS)  # the header and one row a claim
    assert "does not hold: 1" in page and "{doc}`06 iterative dpo <../notebooks/06_iterative_dpo>`" in page
    assert "-0.050 ± 0.010" in page  # the number comes from the results file


def test_the_ci_build_measures_every_claim(staged):
    """The whole book run in the ci profile (the `staged` fixture) saves every number the card reads."""
    from rlhf_lite.io import results_dir

    card = json.loads((results_dir() / "scorecard.json").read_text())
    assert card["profile"] == "ci" and len(card["claims"]) == len(sc.CLAIMS)
    assert [c["key"] for c in card["claims"] if c["verdict"] == sc.NOT_MEASURED] == []
    assert "| Claim of the paper |" in (staged / "book" / "_generated" / "scorecard.md").read_text()
