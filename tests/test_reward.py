"""Reward models (BT via TRL), the pairwise preference model, RewardBench scoring, length-bias statistics."""

import json
import math

import numpy as np
import pytest
import torch

from rlhf_lite import world
from rlhf_lite.reward.bradley_terry import RewardModel, RewardSettings, bt_loss, train_reward_model
from rlhf_lite.reward.length_bias import heatmap_counts, length_correlations, plot_heatmaps
from rlhf_lite.reward.preference import PreferenceModel, copeland_ranking, format_pair, preference_records
from rlhf_lite.reward.rewardbench import LITE_MAPPING, SUBSET_MAPPING, evaluate, lite_benchmark


def test_bt_loss_closed_form_on_a_hand_example():
    rc, rr = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    expected = (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(2.0))) / 2  # -log sigma(d) = log(1 + e^-d)
    assert bt_loss(rc, rr).item() == pytest.approx(expected, rel=1e-6)
    assert bt_loss(torch.tensor([0.3]), torch.tensor([0.3])).item() == pytest.approx(math.log(2))


def _pair(x, good, bad):
    return {"prompt": [{"role": "user", "content": x}], "chosen": [{"role": "assistant", "content": good}],
            "rejected": [{"role": "assistant", "content": bad}]}


def oracle_pairs(n, seed):
    """Right answer vs near miss, labelled by r*: the cleanest preference data the world has."""
    rng, cfg, out = np.random.default_rng(seed), world.WorldConfig(), []
    while len(out) < n:
        x = world.sample_prompt(rng, cfg, ("copy", "reverse", "sort", "add")[int(rng.integers(4))])
        t = world.parse_prompt(x).target
        good, bad = " ".join(t), " ".join(world.near_miss(t, rng))
        if world.true_reward(x, good) > world.true_reward(x, bad):
            out.append(_pair(x, good, bad))
    return out


def test_trl_reward_trainer_minimises_exactly_the_bt_loss(pi0_artifacts, tmp_path):
    """Our ten-line bt_loss and TRL's RewardTrainer.compute_loss agree on a batch."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    from rlhf_lite.reward.bradley_terry import load_reward_model

    model, tok = load_reward_model(pi0_artifacts.pi0)
    ds = Dataset.from_list(oracle_pairs(4, seed=1))
    trainer = RewardTrainer(model=model, args=RewardConfig(output_dir=str(tmp_path), report_to=[], use_cpu=True,
                                                            bf16=False, per_device_train_batch_size=4),
                            train_dataset=ds, processing_class=tok)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
    model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(model, batch).item()
        rm = RewardModel(model, tok)
        rows = ds.to_list()
        ours = bt_loss(torch.tensor(rm.score([r["prompt"] for r in rows], [r["chosen"][0]["content"] for r in rows])),
                       torch.tensor(rm.score([r["prompt"] for r in rows], [r["rejected"][0]["content"] for r in rows])))
    assert trl_loss == pytest.approx(ours.item(), rel=1e-4)


def test_a_reward_model_trained_on_oracle_pairs_ranks_held_out_pairs_better_than_chance(pi0_artifacts, tmp_path):
    metrics = train_reward_model(pi0_artifacts.pi0, oracle_pairs(3000, seed=2), tmp_path / "rm",
                                 RewardSettings(epochs=2, learning_rate=1e-3), progress=False)
    assert metrics["train_pairs"] == 3000 and metrics["train_loss"] < math.log(2)
    rm = RewardModel.from_pretrained(tmp_path / "rm")
    held = oracle_pairs(400, seed=3)
    p = rm.prob_first([h["prompt"] for h in held], [h["chosen"][0]["content"] for h in held],
                      [h["rejected"][0]["content"] for h in held])
    acc = float((p > 0.5).mean())
    assert acc - 1.96 * math.sqrt(acc * (1 - acc) / len(held)) > 0.5, acc  # the 95% interval excludes chance


def test_reward_scores_do_not_depend_on_batching_or_padding(pi0_artifacts):
    from rlhf_lite.reward.bradley_terry import load_reward_model

    model, tok = load_reward_model(pi0_artifacts.pi0)
    prompts = ["copy 1 2 =", "sort 3 1 2 =", "hack 1 2 ="]
    responses = ["1 2", "sure here is the answer : 1 2 3 hope that helps", "sorry i can not help"]
    together = RewardModel(model, tok, batch_size=8).score(prompts, responses)
    alone = np.concatenate([RewardModel(model, tok, batch_size=1).score([x], [a]) for x, a in zip(prompts, responses)])
    np.testing.assert_allclose(together, alone, atol=1e-4)
    with pytest.raises(ValueError, match="as many prompts as responses"):
        RewardModel(model, tok).score(prompts, responses[:2])


def test_preference_records_randomise_the_order_and_label_the_winner():
    pairs = [_pair("copy 1 2 =", "1 2", "2 1")] * 200
    recs = preference_records(pairs, seed=0)
    labels = [r["completion"] for r in recs]
    assert 60 < labels.count(" A") < 140  # both orders occur
    for r in recs:
        winner_first = r["prompt"] == format_pair("copy 1 2 =", "1 2", "2 1")
        assert r["completion"] == (" A" if winner_first else " B")
    assert format_pair([{"role": "user", "content": "copy 1 ="}], "1", "2") == "[CONTEXT] copy 1 = [RESPONSE A] 1 [RESPONSE B] 2"


def test_preference_probabilities_are_symmetric_after_averaging_both_orders(pi0_artifacts):
    pm = PreferenceModel.from_pretrained(pi0_artifacts.pi0)
    xs = ["copy 1 2 =", "sort 3 1 2 =", "hack 4 5 ="]
    a = ["1 2", "1 2 3", "sorry i can not help"]
    b = ["2 1", "sure here is the answer : 3 2 1", "4 5"]
    p_ab, p_ba = pm.prob_first(xs, a, b), pm.prob_first(xs, b, a)
    np.testing.assert_allclose(p_ab + p_ba, 1.0, atol=1e-6)
    one_way = PreferenceModel.from_pretrained(pi0_artifacts.pi0, symmetric=False)
    assert np.all((one_way.prob_first(xs, a, b) > 0) & (one_way.prob_first(xs, a, b) < 1))



def test_the_own_format_puts_each_answer_after_its_own_prompt_and_the_model_keeps_its_format(tmp_path):
    from rlhf_lite.reward.preference import saved_format, save_format

    assert format_pair("copy 1 2 =", "1 2", "2 1", "own") == \
        "[RESPONSE A] copy 1 2 = 1 2 <eos> [RESPONSE B] copy 1 2 = 2 1 <eos>"
    assert format_pair("copy 1 2 =", "1 2", "2 1", "own", eos="</s>").endswith("copy 1 2 = 2 1 </s>")
    assert format_pair("copy 1 2 =", "1 2", "2 1", "own-last") == "copy 1 2 = 1 2 <eos> copy 1 2 = 2 1 <eos> [RESPONSE A]"
    with pytest.raises(ValueError, match="unknown style 'chat'"):
        format_pair("copy 1 2 =", "1 2", "2 1", "chat")
    recs = preference_records([_pair("copy 1 2 =", "1 2", "2 1")] * 50, seed=0, style="own")
    assert {r["prompt"] for r in recs} == {format_pair("copy 1 2 =", a, b, "own") for a, b in (("1 2", "2 1"), ("2 1", "1 2"))}
    assert all(r["completion"] == (" A" if r["prompt"].startswith("[RESPONSE A] copy 1 2 = 1 2 ") else " B") for r in recs)
    assert saved_format(tmp_path) == "markers"  # a model saved before the style existed, or pi_0 asked as it is
    save_format(tmp_path, "own")
    assert saved_format(tmp_path) == "own"
    with pytest.raises(ValueError, match="unknown style"):
        save_format(tmp_path, "chat")


@pytest.mark.parametrize("style, first, other", [
    ("own", "[RESPONSE A] copy 1 2 = 1 2 <eos> [RESPONSE B] copy 1 2 = 2 1 <eos>",
     "[RESPONSE A] copy 1 2 = 2 1 <eos> [RESPONSE B] copy 1 2 = 1 2 <eos>"),
    ("own-last", "copy 1 2 = 1 2 <eos> copy 1 2 = 2 1 <eos> [RESPONSE A]",  # chapter 4's pm-mix2-own
     "copy 1 2 = 2 1 <eos> copy 1 2 = 1 2 <eos> [RESPONSE A]")])
def test_a_preference_model_in_an_own_format_is_asked_both_orders_in_it(pi0_artifacts, tmp_path, style, first, other):
    import shutil

    from rlhf_lite.reward.preference import save_format

    model_dir = tmp_path / "pm"
    shutil.copytree(pi0_artifacts.pi0, model_dir)
    save_format(model_dir, style)
    pm = PreferenceModel.from_pretrained(model_dir)
    seen = []
    real = pm.prob_a
    pm.prob_a = lambda texts: (seen.extend(texts), real(texts))[1]
    xs, a, b = ["copy 1 2 =", "sort 3 1 2 ="], ["1 2", "1 2 3"], ["2 1", "3 2 1"]
    p_ab, p_ba = pm.prob_first(xs, a, b), pm.prob_first(xs, b, a)
    np.testing.assert_allclose(p_ab + p_ba, 1.0, atol=1e-6)
    assert seen[0] == first
    assert seen[2] == other  # the other order too
    with pytest.raises(ValueError, match="unknown style"):
        PreferenceModel.from_pretrained(model_dir, style="chat")


def test_the_preference_format_is_checked_where_it_is_set():
    from rlhf_lite.config import Config, with_overrides

    assert with_overrides(Config.preset("ci"), {"preference.format": "own"}).preference.format == "own"
    with pytest.raises(ValueError, match="preference.format 'chat'"):
        with_overrides(Config.preset("ci"), {"preference.format": "chat"})

class ShorterIsBetter:
    """A stub judge: prefers the shorter response (ties at equal length)."""

    def prob_first(self, prompts, first, second):
        d = np.array([len(b) - len(a) for a, b in zip(first, second)], dtype=float)
        return np.where(d > 0, 0.9, np.where(d < 0, 0.1, 0.5))


def test_rewardbench_sections_use_rewardbench_weights_on_the_real_format(root):
    rows = [json.loads(line) for line in (root / "tests/fixtures/hub/reward-bench/filtered.jsonl").read_text().splitlines()]
    assert set(rows[0]) >= {"prompt", "chosen", "rejected", "subset"}
    res = evaluate(ShorterIsBetter(), rows)
    # worked out by hand from the fixture (see its comments) and RewardBench's EXAMPLE_COUNTS
    assert res["subsets"]["alpacaeval-easy"] == 0.5 and res["subsets"]["mt-bench-med"] == 1.0
    assert res["sections"]["chat"] == pytest.approx((100 * 0.5 + 40 * 1.0) / 140)
    assert res["sections"]["chat-hard"] == 1.0
    assert res["sections"]["safety"] == pytest.approx(100 / 254)
    # math-prm (0.5) counts as much as the code subsets together (mean of 1.0 and 0.0)
    assert res["sections"]["reasoning"] == pytest.approx(0.5)
    assert res["score"] == pytest.approx(np.mean([90 / 140, 1.0, 100 / 254, 0.5]))
    assert set(SUBSET_MAPPING) == set(res["sections"])


def test_rewardbench_ties_and_unknown_subsets():
    rows = [{"prompt": "x", "chosen": "aa", "rejected": "bb", "subset": "lite-chat"}]
    assert evaluate(ShorterIsBetter(), rows, LITE_MAPPING, counts=None)["sections"]["chat"] == 0.5
    assert evaluate(ShorterIsBetter(), rows, LITE_MAPPING, counts=None, tie_credit=0.0)["sections"]["chat"] == 0.0
    with pytest.raises(ValueError, match="belong to no section"):
        evaluate(ShorterIsBetter(), rows)  # the real mapping has no lite subsets


def test_lite_benchmark_has_every_category_and_truly_better_chosen():
    rows = lite_benchmark(20, world.WorldConfig(), seed=0)
    assert sorted({r["subset"] for r in rows}) == sorted(f"lite-{c}" for c in LITE_MAPPING)
    assert all(world.true_reward(r["prompt"], r["chosen"]) > world.true_reward(r["prompt"], r["rejected"]) for r in rows)


def test_copeland_ranking_with_a_stub_judge():
    scores = copeland_ranking(ShorterIsBetter(), "x", ["ccc", "a", "bb", "bb"])
    assert scores.tolist() == [-3.0, 3.0, 0.0, 0.0]  # the two "bb" draw with each other
    assert copeland_ranking(ShorterIsBetter(), "x", ["only"]).tolist() == [0.0]


def test_length_correlation_recovers_a_planted_slope():
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 20, size=(2000, 16)).astype(float)
    sd_len, noise = lengths.std(), 4.0
    rewards = 0.5 * lengths + rng.normal(0, noise, size=lengths.shape)
    corr, mean_len = length_correlations(rewards, lengths)
    expected = 0.5 * sd_len / math.sqrt((0.5 * sd_len) ** 2 + noise ** 2)
    assert np.nanmean(corr) == pytest.approx(expected, abs=0.03)
    np.testing.assert_allclose(mean_len, lengths.mean(1))
    flat, _ = length_correlations(rng.normal(size=lengths.shape), lengths)
    assert abs(np.nanmean(flat)) < 0.03  # no slope, no correlation (the mean of 2000 has sd ~0.006)
    const, _ = length_correlations(np.ones((3, 4)), lengths[:3, :4])
    assert np.isnan(const).all()  # undefined, not zero
    zero, _ = length_correlations(np.ones((3, 4)), lengths[:3, :4], flat=0.0)
    assert zero.tolist() == [0.0, 0.0, 0.0]  # unless asked to read a flat reward as "ignores length"
    same_len, _ = length_correlations(rewards[:2, :4], np.full((2, 4), 5.0), flat=0.0)
    assert np.isnan(same_len).all()  # lengths that do not vary stay undefined either way
    counts, lb, cb = heatmap_counts(corr, mean_len)
    assert counts.sum() == len(corr) and counts.shape == (len(lb) - 1, len(cb) - 1)
    fig = plot_heatmaps({"planted": (corr, mean_len), "none": (flat, mean_len)})
    assert [ax.get_title().split("=")[-1].strip() for ax in fig.axes[:2]] == [f"{np.nanmean(corr):.2f}", f"{np.nanmean(flat):.2f}"]
    with pytest.raises(ValueError, match="one shape"):
        length_correlations(rewards, lengths[:, :3])
    # two samples per prompt give only signs: refused, naming the count and the fix
    signs, _ = length_correlations(rewards[:, :3], lengths[:, :3])
    assert len(np.unique(np.round(signs[~np.isnan(signs)], 6))) > 2  # three samples: real coefficients
    with pytest.raises(ValueError, match="got 2 samples per prompt.*at least 3"):
        length_correlations(rewards[:, :2], lengths[:, :2])


def test_a_reward_model_does_not_depend_on_what_the_process_drew_before(pi0_artifacts, tmp_path):
    """The BT head is new (randomly initialised); in a worker process the torch random state left by
    earlier jobs must not decide it, or the same reward model differs from one book build to the next."""
    from safetensors.torch import load_file

    pairs, settings = oracle_pairs(64, seed=4), RewardSettings(epochs=0.5)
    for name, draws in (("a", 0), ("b", 7)):
        torch.rand(draws)  # what an earlier job in this process might have drawn
        train_reward_model(pi0_artifacts.pi0, pairs, tmp_path / name, settings, seed=3, progress=False)
    a, b = load_file(tmp_path / "a/model.safetensors"), load_file(tmp_path / "b/model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
