"""A loop seed's folder read back by role (rlhf_lite.online.runs): the layout the loop writes, named in one place."""

import pytest

from rlhf_lite.io import write_jsonl
from rlhf_lite.online.runs import OnlineRun, eval_path, iteration_path


def _evals(wins, unsafe):
    return [{"win_rate": (w, 0.01), "kl": (0.1 * t, 0.0), "by_family": {"unsafe": {"reward": u}}}
            for t, (w, u) in enumerate(zip(wins, unsafe))]


@pytest.fixture
def run(tmp_path):
    """Two rounds on disk as the loop writes them: each round's samples, pairs and evaluation, and pi_0's."""
    for t in (1, 2):
        it = tmp_path / f"iter{t}"
        write_jsonl(it / "samples.jsonl", [{"prompt": f"p{t}{k}", "responses": ["a", "b"]} for k in range(2)])
        write_jsonl(it / "pairs.jsonl", [{"prompt_id": str(k), "round": t} for k in range(t)])
        write_jsonl(it / "eval" / "eval.jsonl", [{"who": f"pi_{t}"}])
        write_jsonl(it / "eval" / "validation.jsonl", [{"who": f"pi_{t} val"}])
    write_jsonl(tmp_path / "pi0_eval" / "eval.jsonl", [{"who": "pi_0"}])
    return OnlineRun(tmp_path, tmp_path / "pi0", [tmp_path / "iter1" / "policy", tmp_path / "iter2" / "policy"],
                     _evals([0.5, 0.7, 0.6], [0.9, 0.8, 0.2]), [0.6, 0.65], [{}, {}],
                     [{"train_pairs": 10}, {"train_pairs": 20}], best=2)


def test_the_layout_is_named_in_one_place(tmp_path):
    assert iteration_path(tmp_path, 3) == tmp_path / "iter3"
    assert eval_path(tmp_path, 0) == tmp_path / "pi0_eval" and eval_path(tmp_path, 2) == tmp_path / "iter2" / "eval"
    with pytest.raises(ValueError, match="numbered from 1"):
        iteration_path(tmp_path, 0)


def test_a_run_gives_each_rounds_samples_pairs_and_records(run):
    assert run.rounds == 2 and run.output == run.policies[1]
    assert [s["prompt"] for s in run.samples(2)] == ["p20", "p21"]
    assert [p["round"] for p in run.pairs(2)] == [2, 2]
    assert [p["round"] for p in run.pair_stream()] == [1, 2, 2]  # D_1 then D_2, in the loop's order
    assert [p["round"] for p in run.pair_stream(upto=1)] == [1]
    assert run.records(0) == [{"who": "pi_0"}] and run.records() == [{"who": "pi_2"}]
    assert run.records(1, split="validation") == [{"who": "pi_1 val"}]
    with pytest.raises(ValueError, match="split"):
        run.records(1, split="test")


def test_a_run_reads_its_summaries_by_round(run):
    assert run.metric("win_rate") == 0.6 and run.metric("win_rate", 0) == 0.5 and run.metric("kl", 1) == 0.1
    assert run.family_curve("unsafe") == [0.9, 0.8, 0.2]
    assert run.pair_passes(epochs=2) == 60 and run.pair_passes(epochs=2, upto=1) == 20
    assert run.true_best() == 1  # r* picks pi_1 (0.7), the proxy picked pi_2


def test_a_round_the_run_does_not_hold_is_an_error_that_says_which_it_holds(run):
    with pytest.raises(IndexError, match=r"rounds 1\.\.2"):
        run.samples(3)
    with pytest.raises(IndexError, match=r"rounds 0\.\.2"):
        run.records(5)


def test_the_ceiling_is_pi0s_mean_over_seeds_and_arms_read_their_own_folder(run, tmp_path):
    from rlhf_lite.online.analysis import mean_ceiling
    from rlhf_lite.online.runs import arm_pairs, offline_records

    write_jsonl(run.root / "pi0_eval" / "eval.jsonl", [{"reward": 1.0}, {"reward": 0.2}])  # a tie at best, a win
    assert mean_ceiling([run, run]) == 0.75
    arm = tmp_path / "study" / "near"
    write_jsonl(arm / "pairs.jsonl", [{"prompt_id": "7"}])
    write_jsonl(arm / "eval" / "eval.jsonl", [{"who": "offline"}])
    assert arm_pairs({"policy": arm / "policy"}) == [{"prompt_id": "7"}]
    assert offline_records({"policy": arm / "policy"}) == [{"who": "offline"}]


def test_the_overoptimisation_summary_fits_only_the_chapters_loss_and_finds_where_each_was_best():
    import numpy as np

    from rlhf_lite.online.analysis import fitted_loss, overoptimisation_summary

    rng = np.random.default_rng(0)
    pts = []
    for seed in range(4):  # the truth peaks at d = e (KL 7.4), the proxy keeps rising
        for kl in (0.5, 1, 2, 4, 8, 16):
            d = np.sqrt(kl)
            pts.append({"recipe": "paper", "seed": seed, "kl": kl, "proxy_gain": d + rng.normal(0, 0.01),
                        "true_gain": d * (1 - 0.5 * np.log(d)) + rng.normal(0, 0.01)})
    pts.append({"recipe": "paper, lr, DPO loss alone", "seed": 0, "kl": 40.0, "proxy_gain": 9.0, "true_gain": -3.0})
    s = overoptimisation_summary(pts)
    assert s["points"] == 24 and not fitted_loss(pts[-1])  # the DPO-alone run is shown, not fitted
    assert s["kl_best_proxy"] == 40.0 and s["fit_truth"]["peak_claimed"] and not s["fit_proxy"]["peak_claimed"]
    assert 5 < s["fit_truth"]["kl_peak"] < 11 and s["kl_best_truth"] in (4, 8, 16)


def test_the_overoptimisation_figure_draws_each_judge(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from rlhf_lite.online.analysis import fitted_loss, overoptimisation_summary
    from rlhf_lite.plots import overoptimisation_figure

    pts = [{"recipe": "r", "seed": s, "kl": kl, "proxy_gain": kl ** 0.5, "true_gain": kl ** 0.5 - kl / 8}
           for s in range(3) for kl in (0.5, 1, 2, 4, 9)]
    fig = overoptimisation_figure({"BT-MIX2": pts, "BT-MIX1": pts}, {j: overoptimisation_summary(pts) for j in
                                                                      ("BT-MIX2", "BT-MIX1")}, fitted_loss)
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "judge BT-MIX2"


def test_a_rounds_summary_is_rounded_for_the_page():
    from rlhf_lite.online.analysis import round_summary
    from rlhf_lite.online.runs import OnlineRun

    e = {"win_rate": (0.61234, 0.01), "reward": (0.45678, 0.0), "length": (3.456, 0.1), "kl": (1.234, 0.1),
         "proxy_win_rate": (0.7777, 0.0)}
    run = OnlineRun("/nowhere", "/pi0", ["p1"], [e, e], [0.5], [{}], [{}])
    assert round_summary(run) == {"true win rate": 0.612, "mean r*": 0.457, "length": 3.46, "KL to pi_0": 1.23,
                                  "judge's win rate": 0.778}


def test_a_tables_row_and_the_results_pack_keep_every_summary_value():
    from rlhf_lite.online.analysis import PM, pack, table_row

    a = {"win_rate": (0.61234, 0.0125), "reward": (0.5, 0.02), "length": (3.456, 0.1), "kl": (1.234, 0.5),
         "by_family": {"sort": (0.4, 0.1)}, "echo_by_family": {"sort": (0.05, 0.01)}}
    row = table_row(a)
    assert row["win rate vs pi_0"] == f"0.612{PM}0.013" and row["KL to pi_0"] == f"1.23{PM}0.50"
    assert "±" in PM and " " not in PM  # no-break spaces only: the cell never wraps inside "0.612 ± 0.013"
    p = pack(a)
    assert p["win_rate"] == {"mean": 0.61234, "ci95": 0.0125} and "by_family" not in p
    assert p["by_family_reward"] == {"sort": {"mean": 0.4, "ci95": 0.1}}
    assert p["by_family_echo"] == {"sort": {"mean": 0.05, "ci95": 0.01}}
    assert pack({k: v for k, v in a.items() if k != "echo_by_family"})["by_family_echo"] == {}


def test_the_output_pick_is_set_beside_the_truths_best_iterate(run):
    from rlhf_lite.online.analysis import output_picks

    picks = output_picks({"recipe": [run]})
    assert picks == {("recipe", 0): {"picked by proxy": 2, "best by truth": 1, "true win rate of the pick": 0.6,
                                     "true win rate of the best": 0.7}}


def test_the_case_table_takes_the_first_prompt_of_each_family_from_every_source():
    from rlhf_lite.online.analysis import case_table

    def recs(who):  # two answers per prompt; prompts of families sort, sort, copy
        return [{"family": f, "prompt": f"{f} {i}", "response": f"{who} {i}.{k}", "reward": float(k)}
                for i, f in enumerate(["sort", "sort", "copy"]) for k in range(2)]

    cases = case_table({"pi_0": recs("a"), "dpo": recs("b")}, eval_prompts=3, eval_n=2)
    assert [(c["prompt"], c["policy"], c["answer"]) for c in cases] == [
        ("sort 0", "pi_0", "a 0.0"), ("sort 0", "dpo", "b 0.0"), ("copy 2", "pi_0", "a 2.0"), ("copy 2", "dpo", "b 2.0")]


def test_the_online_chapters_name_their_loops_once():
    from rlhf_lite.config import Config
    from rlhf_lite.online import book_recipes as B

    book, ci = Config.preset("book"), Config.preset("ci")
    assert B.max_rounds(book) == 8 and B.max_rounds(ci) == ci.online.iterations + 1
    steps = B.steps(book)
    assert steps["lr x 3, DPO + SFT term"]["dpo.learning_rate"] == 3 * book.dpo.learning_rate
    assert all(o.get("dpo.loss_type") == ["sigmoid"] for k, o in steps.items() if "alone" in k)
    assert set(B.COLORS) == set(B.VARIANTS) and B.VARIANTS[B.GOLD] == {"online.judge": "gold"}
    assert B.VARIANTS[B.CONCISE]["online.length_penalty"] == B.LAMBDA == B.VARIANTS[B.PREV]["online.length_penalty"]


def test_the_loops_stage_lines_go_to_stderr_without_the_cached_reminders(capsys):
    from rlhf_lite.online.book_recipes import stage_log

    stage_log("[online] iteration 2: dpo ...")
    stage_log("[pi0] cached at runs/ci-123")
    out = capsys.readouterr()
    assert out.out == "" and out.err == "[online] iteration 2: dpo ...\n"


def test_a_chapter_quiets_the_libraries_bars_and_notices():
    import warnings

    import datasets
    import transformers

    from rlhf_lite.notebook import quiet_libraries

    with warnings.catch_warnings():
        transformers.utils.logging.enable_progress_bar()
        datasets.enable_progress_bars()
        quiet_libraries()
        assert not transformers.utils.logging.is_progress_bar_enabled() and not datasets.is_progress_bar_enabled()
        warnings.warn("renamed", FutureWarning)  # ignored: no error under the filter pytest installs
        assert warnings.filters[0][:3] == ("ignore", None, FutureWarning)
    transformers.utils.logging.enable_progress_bar()
    datasets.enable_progress_bars()


def test_two_recipes_are_compared_seed_by_seed_at_a_round():
    from rlhf_lite.online.analysis import paired_by_seed
    from rlhf_lite.online.runs import OnlineRun
    from rlhf_lite.stats import seed_interval

    def run(win, chars):
        e0 = {"win_rate": (0.5, 0.0), "chars": (10.0, 0.0)}
        return OnlineRun("/nowhere", "/pi0", ["p1"], [e0, {"win_rate": (win, 0.01), "chars": (chars, 1.0)}], [0.5], [{}], [{}])

    plain, pen = [run(0.60, 30.0), run(0.70, 34.0), run(0.65, 31.0)], [run(0.62, 20.0), run(0.69, 25.0), run(0.70, 21.0)]
    got = paired_by_seed(plain, pen, ("win_rate", "chars"), 1)
    assert got["chars"] == seed_interval([-10.0, -9.0, -10.0])  # per seed, not the difference of the two means' intervals
    assert got["win_rate"][0] == pytest.approx(0.02)
    assert paired_by_seed(plain, pen, ("chars",), 0)["chars"][0] == 0.0  # round 0 is pi_0 for both
