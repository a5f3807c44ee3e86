"""Why online beats offline: the writers' distance dial, the frontier of win rate against KL, the replayed
stream, and offline arms whose checkpoints are each judged on their own samples."""

import numpy as np
import pytest

import rlhf_lite.online.arms as arms
from rlhf_lite import world
from rlhf_lite.config import Config
from rlhf_lite.io import read_jsonl, write_jsonl
from rlhf_lite.online.frontier import common_reach, contrast, front, matched, peak, peaks, win_at_kl
from rlhf_lite.online.analysis import own_samples, pairs_distance
from rlhf_lite.online.offpolicy import Writer, _poisson_quantile, calibrate, samples_distance, write_samples
from rlhf_lite.policy.models import load_policy
from rlhf_lite.policy.sampling import HFSampler, sequence_logprobs

CFG = {"online.iterations": 2, "data.prompts_per_iteration": 60, "sampling.n": 4, "eval_prompts": 30,
       "online.eval_n": 2, "online.validation_prompts": 20, "online.judge": "gold"}


def pts(*xy):
    return [{"kl": k, "win": w} for k, w in xy]


# ----------------------------------------------------------------------------- the frontier


def test_the_front_keeps_the_points_no_lower_kl_point_beats():
    k, w = front(pts((0, 0.5), (1.0, 0.6), (0.5, 0.62), (2.0, 0.61), (3.0, 0.7), (0.5, 0.55)))
    assert k.tolist() == [0, 0.5, 3.0] and w.tolist() == [0.5, 0.62, 0.7]
    assert peak(pts((0, 0.5), (1.0, 0.6), (2.0, 0.6))) == {"kl": 1.0, "win": 0.6}


def test_the_win_rate_at_a_kl_interpolates_between_measured_points_and_never_extrapolates():
    p = pts((0, 0.5), (1.0, 0.6), (2.0, 0.7))
    assert win_at_kl(p, 1.5) == pytest.approx(0.65) and win_at_kl(p, 0) == 0.5
    assert np.isnan(win_at_kl(p, 2.01)) and np.isnan(win_at_kl(p, -0.01))
    # past its best point the frontier stays at the best win rate (that policy is within the budget), up to the
    # largest KL measured and no further
    q = pts((0, 0.5), (1.0, 0.6), (3.0, 0.55))
    assert win_at_kl(q, 2.5) == pytest.approx(0.6) and win_at_kl(q, 3.0) == pytest.approx(0.6)
    assert np.isnan(win_at_kl(q, 3.01))
    # an arm that never beat pi_0: pi_0 is its best policy at every budget it measured
    never = pts((0, 0.5), (2.0, 0.45))
    assert win_at_kl(never, 1.0) == 0.5 and np.isnan(win_at_kl(never, 2.5))


def test_a_matched_kl_comparison_pairs_by_seed_and_refuses_a_kl_an_arm_did_not_reach():
    arms = {"online": [pts((0, 0.5), (1.0, 0.64)), pts((0, 0.5), (1.0, 0.66)), pts((0, 0.5), (2.0, 0.7))],
            "offline": [pts((0, 0.5), (2.0, 0.6)), pts((0, 0.5), (2.0, 0.62)), pts((0, 0.5), (2.0, 0.58))]}
    m = matched(arms, "online", "offline", 1.0)
    assert m["per_seed"] == pytest.approx([0.64 - 0.55, 0.66 - 0.56, 0.6 - 0.54])
    assert m["diff"][0] == pytest.approx(np.mean(m["per_seed"])) and m["diff"][1] > 0
    swapped = matched(arms, "offline", "online", 1.0)
    assert swapped["diff"][0] == pytest.approx(-m["diff"][0])
    assert common_reach(arms, ["online", "offline"]) == 1.0
    with pytest.raises(ValueError, match="beyond what"):
        matched(arms, "online", "offline", 1.5)  # the first two online seeds measured KL up to 1.0 only
    assert peaks(arms, "online", "offline")["per_seed"] == pytest.approx([0.04, 0.04, 0.12])


def test_a_contrast_compares_at_the_common_reach_and_at_the_peaks_and_says_when_they_coincide():
    arms = {"a": [pts((0, 0.5), (1.0, 0.64)), pts((0, 0.5), (1.5, 0.66))],
            "b": [pts((0, 0.5), (2.0, 0.6)), pts((0, 0.5), (2.0, 0.62))],
            "flat": [pts((0, 0.5), (0.5, 0.6), (1.0, 0.58)), pts((0, 0.5), (0.4, 0.61), (1.2, 0.6))],
            "never": [pts((0, 0.5), (1.0, 0.45)), pts((0, 0.5), (1.0, 0.48))]}
    c = contrast(arms, "a", "b")
    assert c["kl"] == 1.0  # a's first seed measured up to 1.0: no further, in either arm
    assert c["matched"]["per_seed"] == pytest.approx([0.64 - 0.55, 0.5 + 0.16 / 1.5 - 0.56])
    assert c["peaks"]["per_seed"] == pytest.approx([0.04, 0.04]) and not c["both_at_peaks"]
    level = contrast(arms, "flat", "never")  # both level at their best by KL 1.0 (never's best is pi_0)
    assert level["both_at_peaks"] and level["matched"]["diff"][0] == pytest.approx(level["peaks"]["diff"][0])
    zero = {"a": arms["a"], "z": [pts((0, 0.5)), pts((0, 0.5))]}
    assert contrast(zero, "a", "z")["matched"] is None and contrast(zero, "a", "z")["kl"] == 0.0


# ----------------------------------------------------------------------------- the writers


def test_a_writer_changes_the_style_not_the_answers():
    cfg = world.WorldConfig()
    prompts = world.sample_prompts(60, cfg, seed=3)
    near, far = (write_samples(Writer(n, f), prompts, 3, cfg, seed=1) for n, f in (("near", 0.0), ("far", 2.0)))
    for x, a, b in zip(prompts, near, far):
        assert [world.true_reward(x, s) for s in a] == [world.true_reward(x, s) for s in b]
        assert [world.content_tokens(s) for s in a] == [world.content_tokens(s) for s in b]
    extra = np.mean([len(b.split()) - len(a.split()) for ra, rb in zip(near, far) for a, b in zip(ra, rb)])
    assert 1.6 < extra < 2.4  # about ``foreign`` woven words a response
    assert near == write_samples(Writer("again", 0.0), prompts, 3, cfg, seed=1)


def test_the_poisson_count_grows_with_the_rate_for_the_same_uniform():
    u = np.random.default_rng(0).random(4000)
    for lo, hi in ((0.2, 0.5), (0.5, 1.5), (1.5, 4.0)):
        assert all(_poisson_quantile(x, lo) <= _poisson_quantile(x, hi) for x in u[:300])
    assert np.mean([_poisson_quantile(x, 1.3) for x in u]) == pytest.approx(1.3, abs=0.08)
    with pytest.raises(ValueError, match="foreign"):
        Writer("bad", -1.0)


def test_a_calibrated_writer_sits_at_the_distance_the_dial_asks_for(pi0_artifacts):
    """The dial's promise: the writer calibrated on some prompts is that many nats per token below pi_0's own
    samples, and stays there on other prompts it was not calibrated on."""
    model, tok = load_policy(pi0_artifacts.pi0)
    cfg = world.WorldConfig()

    def own_per_token(prompts, seed):
        own, own_reward = own_samples(HFSampler(model, tok, progress=False), model, tok, prompts, 24, n=2, seed=seed)
        assert 0 <= own_reward <= 1  # pi_0's samples scored by r*
        return own

    calib, fresh = world.sample_prompts(400, cfg, seed=11), world.sample_prompts(400, cfg, seed=12)
    foreign, measured = calibrate(-1.0, model, tok, calib, own_per_token(calib, 1), cfg, tol=0.03)
    assert foreign > 0 and measured == pytest.approx(-1.0, abs=0.03)
    rows = write_samples(Writer("far", foreign), fresh, 2, cfg, seed=5)
    assert samples_distance(model, tok, fresh, rows, own_per_token(fresh, 2)) == pytest.approx(-1.0, abs=0.25)
    with pytest.raises(ValueError, match="outside what this writer family reaches"):
        calibrate(+3.0, model, tok, calib, own_per_token(calib, 1), cfg)


def test_a_pair_sets_distance_is_each_sides_and_its_truth_counts_right_and_tied_pairs(pi0_artifacts):
    """Chosen answers written by the demonstration maker, rejected ones the same answers with filler woven in: the
    same r* (every pair tied), the rejected side further from pi_0 than the chosen one."""
    model, tok = load_policy(pi0_artifacts.pi0)
    cfg = world.WorldConfig()
    prompts = world.sample_prompts(60, cfg, seed=13)
    near, far = (write_samples(Writer(n, f), prompts, 1, cfg, seed=6) for n, f in (("near", 0.0), ("far", 3.0)))
    msg = lambda a: [{"role": "assistant", "content": a}]  # noqa: E731
    pairs = [{"prompt": x, "chosen": msg(a[0]), "rejected": msg(b[0])} for x, a, b in zip(prompts, near, far)]
    row = pairs_distance(model, tok, pairs, own=-1.5, own_reward=0.4)
    assert row["distance (chosen), nats/token"] == pytest.approx(samples_distance(model, tok, prompts, near, -1.5))
    assert row["distance (rejected), nats/token"] < row["distance (chosen), nats/token"]
    assert (row["pairs right under r*"], row["pairs tied under r*"]) == (0.0, 1.0)
    assert row["chosen: mean r*"] == row["rejected: mean r*"] and row["pi_0's own: mean r*"] == 0.4


# ----------------------------------------------------------------------------- the replayed stream


def _fake_loop(cfg, tmp_path, monkeypatch, sizes):
    rounds = []
    for t, m in enumerate(sizes, start=1):
        pairs = [{"prompt": [{"role": "user", "content": f"copy {t} {i} ="}], "chosen": [], "rejected": [],
                  "prompt_id": f"{t}-{i}"} for i in range(m)]
        (tmp_path / f"iter{t}").mkdir()
        write_jsonl(tmp_path / f"iter{t}" / "pairs.jsonl", pairs)
        rounds.append([p["prompt_id"] for p in pairs])
    monkeypatch.setattr(arms, "iteration_dir", lambda c, s, t: tmp_path / f"iter{t}")
    return rounds


@pytest.mark.parametrize("history", ["all", "new"])
def test_the_replayed_stream_holds_exactly_the_loops_pairs_in_order_and_shuffled(tmp_path, monkeypatch, history):
    cfg = Config.preset("ci", **{"online.iterations": 3, "online.history": history, "dpo.epochs": 2.0})
    rounds = _fake_loop(cfg, tmp_path, monkeypatch, [5, 7, 6])
    ids = [p["prompt_id"] for p in arms.replay_stream(cfg, 0, "in order")]
    k = 0
    for t in range(1, 4):  # round t: its data once per epoch, each pass a permutation of it, rounds in order
        block = rounds[t - 1] if history == "new" else [i for r in rounds[:t] for i in r]
        for _ in range(2):
            assert sorted(ids[k:k + len(block)]) == sorted(block)
            k += len(block)
    assert k == len(ids)
    assert ids[:5] != sorted(ids[:5]) or ids[5:10] != sorted(ids[5:10])  # each pass in its own random order
    shuffled = [p["prompt_id"] for p in arms.replay_stream(cfg, 0, "shuffled")]
    assert sorted(shuffled) == sorted(ids) and shuffled != ids
    with pytest.raises(ValueError, match="order"):
        arms.replay_stream(cfg, 0, "backwards")


def test_a_replay_needs_the_loop_to_have_run(tmp_path, monkeypatch):
    monkeypatch.setattr(arms, "iteration_dir", lambda c, s, t: tmp_path / f"iter{t}")
    with pytest.raises(FileNotFoundError, match="run the loop"):
        arms.replay_stream(Config.preset("ci"), 0, "in order")


# ----------------------------------------------------------------------------- an offline arm


@pytest.fixture(scope="module")
def writer_arm(tmp_path_factory):
    import rlhf_lite.online.loop as loop

    cfg = Config.preset("ci", **CFG)
    root = tmp_path_factory.mktemp("study")
    mp = pytest.MonkeyPatch()
    mp.setattr(arms, "online_root", lambda c: root)
    mp.setattr(loop, "online_root", lambda c: root)
    try:
        res = arms.arm(cfg, 0, {"kind": "writer", "name": "near", "foreign": 0.0}, log=lambda *a: None)
    finally:
        mp.undo()
    return cfg, res


def test_an_offline_arm_spends_the_loops_pair_passes_and_judges_every_checkpoint_on_its_own_samples(writer_arm):
    cfg, res = writer_arm
    m = res["train_metrics"]
    assert m["reference"] == str(arms.prepare_pi0(cfg, log=lambda *a: None).pi0.resolve()) and m["policy_init"] == "pi0"
    assert m["pair_passes"] == 60 * (1 + 2) * 2  # history "all": 60 + 120 pairs, 2 epochs each
    assert len(res["points"]) == 2 + len(m["checkpoints"]) and res["points"][0] == {**res["points"][0], "kl": 0.0}
    assert len(m["checkpoints"]) >= 3 and m["checkpoints"] == sorted(m["checkpoints"])
    folder = res["policy"].parent
    final_lm = load_policy(res["policy"])
    for point in res["points"][1:]:
        step = point["step"]
        recs = read_jsonl(folder / f"eval-step{step}" / "eval.jsonl")
        assert not (folder / f"eval-step{step}" / "validation.jsonl").exists()  # not a candidate output: held-out only
        policy = res["policy"] if step == m["steps"] else res["policy"] / "checkpoints" / f"step-{step}"
        lm = load_policy(policy)
        ids = [r["token_ids"] for r in recs]
        mine = sequence_logprobs(*lm, [r["prompt"] for r in recs], ids)
        assert np.allclose(mine, [r["logp"] for r in recs], atol=1e-4)  # scored by this checkpoint
        kl = sum(r["logp"] - r["logp_ref"] for r in recs) / sum(r["num_tokens"] for r in recs)  # per token
        assert point["kl"] == pytest.approx(kl)
        if step != m["steps"]:  # ... and not by the final policy
            assert not np.allclose(sequence_logprobs(*final_lm, [r["prompt"] for r in recs], ids), mine, atol=1e-3)


def test_an_unknown_kind_of_arm_is_refused():
    cfg = Config.preset("ci", **CFG)
    with pytest.raises(ValueError, match="kind must be"):
        arms.arm(cfg, 0, {"kind": "nearby", "name": "x"})


def test_train_dpo_refuses_checkpoints_outside_the_run(pi0_artifacts, tmp_path):
    from rlhf_lite.policy.dpo import train_dpo

    pair = {"prompt": [{"role": "user", "content": "copy 1 2 ="}], "chosen": [{"role": "assistant", "content": "1 2"}],
            "rejected": [{"role": "assistant", "content": "2 1"}]}
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        train_dpo(pi0_artifacts.pi0, pi0_artifacts.pi0, [pair], tmp_path, checkpoints=(0.5, 1.0))


def test_implicit_accuracy_reads_the_implicit_reward_against_r_star(writer_arm):
    cfg, res = writer_arm
    base = read_jsonl(res["policy"].parent.parent.parent / "pi0_eval" / "eval.jsonl")
    acc, n = arms.implicit_accuracy(res["policy"], base)
    assert n == sum(len({r["reward"] for r in base if r["prompt_index"] == i}) == 2 for i in {r["prompt_index"] for r in base})
    assert acc != 0.5
    # pi_0 against itself: every implicit reward is 0, so every pair is a tie
    acc0, _ = arms.implicit_accuracy(arms.prepare_pi0(cfg, log=lambda *a: None).pi0, base)
    assert acc0 == 0.5


def test_a_sequential_dpo_run_feeds_the_pairs_in_the_order_given(pi0_artifacts, tmp_path):
    from torch.utils.data import RandomSampler, SequentialSampler

    from rlhf_lite.policy.dpo import dpo_trainer

    pairs = [{"prompt": [{"role": "user", "content": f"copy {i} 2 ="}], "chosen": [{"role": "assistant", "content": f"{i} 2"}],
              "rejected": [{"role": "assistant", "content": f"2 {i}"}]} for i in range(6)]
    for sequential, kind in ((True, SequentialSampler), (False, RandomSampler)):
        tr = dpo_trainer(pi0_artifacts.pi0, pi0_artifacts.pi0, pairs, tmp_path / str(sequential), sequential=sequential,
                         progress=False)
        assert isinstance(tr._get_train_sampler(tr.train_dataset), kind)
        # the data set keeps the order given (the reference's precomputed log-probs too); the sampler decides
        assert [r[-1]["content"] for r in tr.train_dataset["chosen"]] == [f"{i} 2" for i in range(6)]


def test_the_mix2_arm_trains_on_the_baselines_pairs_with_the_loops_pair_passes(tmp_path, monkeypatch):
    """Today's offline baseline as an arm: MIX2 pairs (none of them on a held-out prompt), as many as the loop's
    pair passes, so the DPO epochs stay those of the loop."""
    import rlhf_lite.online.loop as loop
    from rlhf_lite.online.offline import loop_pair_passes

    cfg = Config.preset("ci", **CFG)
    monkeypatch.setattr(arms, "online_root", lambda c: tmp_path)
    monkeypatch.setattr(loop, "online_root", lambda c: tmp_path)
    res = arms.arm(cfg, 0, {"kind": "mix2", "name": "mix2"}, log=lambda *a: None)
    pairs = read_jsonl(res["policy"].parent / "pairs.jsonl")
    assert len(pairs) == loop_pair_passes(cfg) == res["train_metrics"]["train_pairs"]
    assert res["train_metrics"]["epochs"] == cfg.dpo.epochs and not any(p["source"].startswith("writer") for p in pairs)
    assert pairs == loop.offline_pairs(cfg, loop_pair_passes(cfg), 0)
