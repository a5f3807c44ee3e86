"""The online loop (Algorithm 2): its reference stays pi_0, its history grows, it resumes after a crash
to the same artifacts, and its evaluation numbers mean what they say."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import rlhf_lite.online.loop as online
import rlhf_lite.online.offline as offline
from rlhf_lite.config import Config, with_overrides
from rlhf_lite.io import runs_dir
from rlhf_lite.online.evaluate import summarise
from rlhf_lite.online.judge import ProxyJudge, load_judge
from rlhf_lite.online.loop import run_online
from rlhf_lite.online.offline import run_offline
from rlhf_lite.policy.sampling import sequence_logprobs

CFG = dict(**{"online.iterations": 2, "data.prompts_per_iteration": 60, "sampling.n": 4, "eval_prompts": 30,
              "online.eval_n": 2, "online.validation_prompts": 20})


@pytest.fixture(scope="module")
def cfg():
    return Config.preset("ci", **CFG)


def recording(calls):
    """train_dpo that records what the loop passed to it, then trains for real."""
    real = online.train_dpo

    def train(policy, reference, pairs, out, settings, seed, progress, lora, known_reference=None):
        calls.append({"policy": policy, "reference": reference, "pairs": [p["prompt_id"] + p["source"] for p in pairs],
                      "known_reference": known_reference})
        return real(policy, reference, pairs, out, settings, seed=seed, progress=progress, lora=lora,
                    known_reference=known_reference)

    return train


def _run(cfg, root):
    """One uninterrupted two-iteration run in ``root``, and what it passed to DPO."""
    calls, mp = [], pytest.MonkeyPatch()
    mp.setattr(online, "train_dpo", recording(calls))
    mp.setattr(online, "online_root", lambda c: root)
    try:
        run = run_online(cfg, seed=0, progress=False, log=lambda *a: None)
    finally:
        mp.undo()
    return run, calls


@pytest.fixture(scope="module")
def clean_run(cfg, tmp_path_factory):
    return _run(cfg, tmp_path_factory.mktemp("clean"))


def test_the_reference_is_pi0_in_every_iteration_and_each_round_adds_its_own_pairs(clean_run):
    run, calls = clean_run
    assert len(calls) == 2
    # the reference is the SFT policy both times; the second round starts from the first iterate
    assert [c["reference"] for c in calls] == [run.pi0, run.pi0]
    assert calls[0]["policy"] == run.pi0 and calls[1]["policy"] == run.root / "iter1" / "policy"
    assert calls[1]["reference"] != calls[1]["policy"]  # a reference that follows the iterate is a bug here
    # history "all" (Algorithm 2 as written): round 2 trains on D_1 and D_2, all of round 1's pairs and the new
    d1 = [p["prompt_id"] + p["source"] for p in _pairs(run, 1)]
    d2 = [p["prompt_id"] + p["source"] for p in _pairs(run, 2)]
    assert calls[0]["pairs"] == d1 and calls[1]["pairs"] == d1 + d2 and len(d2) > 0
    # the reference log-probs of D_1, scored against pi_0 in round 1, are reused in round 2 (not D_2's)
    assert calls[0]["known_reference"] is None and calls[1]["known_reference"] == calls[1]["policy"]
    assert [m["reference_logps_reused"] for m in run.train_metrics] == [0, len(d1)]


def test_history_new_trains_each_round_on_its_own_pairs_after_d_off(cfg, tmp_path):
    """The paper's shortcut: round t trains on D_t alone (D_off goes first, in round 1)."""
    from rlhf_lite.online.offline import loop_pair_passes

    c = Config.preset("ci", **{**CFG, "online.history": "new", "online.offline_pairs": 30})
    run, calls = _run(c, tmp_path)
    d1 = [p["prompt_id"] + p["source"] for p in _pairs(run, 1)]
    d2 = [p["prompt_id"] + p["source"] for p in _pairs(run, 2)]
    assert len(calls[0]["pairs"]) == 30 + len(d1) and calls[0]["pairs"][30:] == d1 and calls[1]["pairs"] == d2
    assert [x["reference"] for x in calls] == [run.pi0, run.pi0]
    assert loop_pair_passes(c) == 2 * 60 + 30 and loop_pair_passes(Config.preset("ci", **CFG)) == (1 + 2) * 60
    # and the artifacts say so, for anyone auditing a run afterwards
    assert [m["reference"] for m in run.train_metrics] == [str(run.pi0.resolve())] * 2
    assert [m["policy_init"] for m in run.train_metrics] == ["pi0", "iter1/policy"]
    assert [r["pairs"] for r in run.pair_reports] == [len(d1), len(d2)]


def test_the_reference_ablation_passes_the_previous_iterate_and_records_it(cfg, tmp_path):
    """online.reference "previous" (the repository's loop scripts): round t's reference is pi_{t-1}, and
    the run's records say so; nothing scored against pi_0 is reused for it."""
    run, calls = _run(Config.preset("ci", **{**CFG, "online.reference": "previous"}), tmp_path)
    iter1 = run.root / "iter1" / "policy"
    assert [c["reference"] for c in calls] == [run.pi0, iter1] and calls[1]["policy"] == iter1
    assert [c["known_reference"] for c in calls] == [None, None]
    assert [m["reference"] for m in run.train_metrics] == [str(run.pi0.resolve()), str(iter1.resolve())]
    assert [m["reference_role"] for m in run.train_metrics] == ["pi0", "iter1/policy"]
    # the evaluation's KL is still to pi_0, whatever the reference of training was
    assert run.evals[0]["kl"][0] == pytest.approx(0.0, abs=1e-6) and run.evals[2]["kl"][0] != 0.0
    with pytest.raises(ValueError, match="'pi0' .* or 'previous'"):
        run_online(Config.preset("ci", **{**CFG, "online.reference": "pi_1"}), progress=False, log=lambda *a: None)


def test_each_exploration_arm_changes_one_setting_and_the_papers_arm_is_chapter_6s_run(cfg):
    from rlhf_lite.online.book_recipes import (EXPLORATION_ARMS, GOLD, PAPER, PAPER_ARM, VARIANTS, exploration_configs,
                                               steps)

    def flat(c, prefix=""):
        d = c if isinstance(c, dict) else c.to_dict()
        return {k2: v2 for k, v in d.items()
                for k2, v2 in (flat(v, f"{prefix}{k}.").items() if isinstance(v, dict) else [(f"{prefix}{k}", v)])}

    arms = exploration_configs(cfg)
    assert len(arms) == 2 * len(EXPLORATION_ARMS)
    for judge in (GOLD, PAPER):
        base = flat(arms[(judge, PAPER_ARM)])
        for arm, overrides in EXPLORATION_ARMS.items():
            changed = {k for k, v in flat(arms[(judge, arm)]).items() if base[k] != v}
            assert changed == set(overrides), (judge, arm)  # one thing, the one named
        ch6 = with_overrides(cfg, VARIANTS[judge]) if VARIANTS[judge] else cfg
        assert online.online_root(arms[(judge, PAPER_ARM)]) == online.online_root(ch6)  # the same runs, not new ones
        sweep = with_overrides(cfg, {**VARIANTS[judge], **steps(cfg)["lr, DPO loss alone"]})
        assert online.online_root(arms[(judge, "no SFT term")]) == online.online_root(sweep)


def test_two_checkpoints_sample_pi2s_half_from_the_iterate_before_the_current_one(clean_run, cfg, tmp_path):
    """online.pi2 "previous" (two checkpoints as pi^1 and pi^2): round 2 draws half of each prompt's samples from
    pi_1 and half from pi_0, each half at both temperatures, and says which is which; round 1 is the paper's."""
    from rlhf_lite.io import read_jsonl

    made, base = [], online.make_generator(cfg, progress=False)

    def make(policy):  # the sampler of each policy the loop asks for, recorded
        made.append(Path(policy).resolve())
        return base(policy)

    two = Config.preset("ci", **{**CFG, "online.pi2": "previous"})
    mp = pytest.MonkeyPatch()
    mp.setattr(online, "online_root", lambda c: tmp_path)
    try:
        run = run_online(two, seed=0, generator=make, progress=False, log=lambda *a: None)
    finally:
        mp.undo()
    rows = read_jsonl(tmp_path / "seed0" / "iter2" / "generations.jsonl")
    assert all(r["policies"] == [1, 1, 2, 2] and r["temperatures"] == [1.0, 0.7, 1.0, 0.7] for r in rows)
    pi1 = (tmp_path / "seed0" / "iter1" / "policy").resolve()
    assert pi1 in made and Path(run.pi0).resolve() in made  # round 2's two samplers: pi_1 and pi_0
    clean = clean_run[0].root
    assert (tmp_path / "seed0" / "iter1" / "generations.jsonl").read_bytes() == \
        (clean / "iter1" / "generations.jsonl").read_bytes()  # round 1: both halves from pi_0, as in the paper
    assert "policies" not in read_jsonl(clean / "iter2" / "generations.jsonl")[0]


def test_pi2_names_the_checkpoint_two_rounds_back_or_refuses_an_unknown_setting(cfg, monkeypatch):
    monkeypatch.setattr(online, "iterate_path", lambda c, seed, t, pi0: f"pi_{t}")
    two = Config.preset("ci", **{**CFG, "online.pi2": "previous"})
    assert [online.second_policy(two, 0, t) for t in (1, 3, 4)] == [None, "pi_1", "pi_2"]
    assert online.second_policy(cfg, 0, 3) is None  # "current": pi^2 is pi^1's policy
    with pytest.raises(ValueError, match="online.pi2 must be 'current'"):
        run_online(Config.preset("ci", **{**CFG, "online.pi2": "last"}), progress=False, log=lambda *a: None)


def test_the_gold_judge_ranks_by_the_true_reward(cfg, tmp_path):
    """The ceiling of the loop: pairs are the best and worst of n by r* itself, so chosen never loses to
    rejected under the truth, and the proxy columns of the run are r*."""
    from rlhf_lite.data.truth import as_world_prompt
    from rlhf_lite.io import read_jsonl
    from rlhf_lite.online.judge import GoldJudge
    from rlhf_lite.world.tasks import true_reward

    judge = load_judge(Config.preset("ci", **{"online.judge": "gold", "online.length_penalty": 0.01}))
    assert isinstance(judge, GoldJudge) and judge.lam == 0.01
    x = ["copy 1 2 =", [{"role": "user", "content": "add 1 + 2 ="}]]
    rows = judge.rank_scores(x, [["1 2", "1 3", "sure 1 2"], ["3", "4"]])
    assert rows[0].tolist() == [1.0, 0.25, 1.0] and rows[1].tolist() == [1.0, 0.0]
    assert judge.margin(x[:1], ["sure 1 2"], ["1 2"])[0] == pytest.approx(-0.01 * 5)
    run, _ = _run(Config.preset("ci", **{**CFG, "online.judge": "gold", "online.iterations": 1}), tmp_path)
    samples = read_jsonl(run.root / "iter1" / "samples.jsonl")
    assert all(r["proxy"] == r["true_reward"] for r in samples)
    pairs = _pairs(run, 1)
    assert pairs
    for p in pairs:
        row = samples[int(p["prompt_id"])]
        r_c, r_r = (true_reward(as_world_prompt(p["prompt"]), p[k][0]["content"]) for k in ("chosen", "rejected"))
        assert r_c == max(row["true_reward"]) > r_r == min(row["true_reward"])
    with pytest.raises(ValueError, match="only exists with data.source 'lite'"):
        load_judge(Config.preset("ci", **{"online.judge": "gold", "data.source": "hub"}))


def _pairs(run, t):
    from rlhf_lite.io import read_jsonl

    return read_jsonl(run.root / f"iter{t}" / "pairs.jsonl")


def test_each_iteration_samples_its_own_prompts_from_the_current_policy(clean_run, cfg):
    from rlhf_lite.io import read_jsonl

    run, _ = clean_run
    prompts = [[json.dumps(r["prompt"]) for r in read_jsonl(run.root / f"iter{t}" / "samples.jsonl")] for t in (1, 2)]
    assert len(prompts[0]) == len(prompts[1]) == cfg.data.prompts_per_iteration
    assert not set(prompts[0]) & set(prompts[1])  # disjoint subsets
    rows = read_jsonl(run.root / "iter1" / "samples.jsonl")
    assert all(len(r["responses"]) == cfg.sampling.n and sorted(r["temperatures"]) == [0.7, 0.7, 1.0, 1.0] for r in rows)
    # the pairs are the best and worst of each prompt's samples by the judge
    for p in _pairs(run, 1)[:20]:
        row = rows[int(p["prompt_id"])]
        assert p["score_chosen"] == max(row["proxy"]) and p["score_rejected"] == min(row["proxy"])


def test_resuming_after_a_crash_gives_the_same_artifacts(clean_run, cfg, tmp_path, monkeypatch):
    run, _ = clean_run
    monkeypatch.setattr(online, "online_root", lambda c: tmp_path)
    # nothing from runs/shared (pi_0's samples and evaluation): the rerun must reproduce them itself
    shutil.rmtree(runs_dir() / "shared", ignore_errors=True)
    calls, real = [], recording([])

    def crash_in_round_two(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash in the second DPO round")
        return real(*args, **kw)

    monkeypatch.setattr(online, "train_dpo", crash_in_round_two)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_online(cfg, seed=0, progress=False, log=lambda *a: None)
    assert (tmp_path / "seed0" / "iter2" / "pairs.jsonl").exists()  # finished stages are on disk ...
    assert not (tmp_path / "seed0" / "iter2" / "policy").exists()  # ... the crashed one left nothing

    log = []
    monkeypatch.setattr(online, "train_dpo", recording(calls2 := []))
    resumed = run_online(cfg, seed=0, progress=False, log=log.append)
    assert len(calls2) == 1  # only the crashed round was trained again
    assert not any("] sample " in line for line in log)  # the iterations' sampling was not redone
    assert any("] DPO on" in line for line in log)
    for rel in ("iter1/samples.jsonl", "iter1/pairs.jsonl", "iter2/samples.jsonl", "iter2/pairs.jsonl",
                "iter2/eval/eval.jsonl", "summary.json"):
        assert (resumed.root / rel).read_text() == (run.root / rel).read_text(), rel
    for t in (1, 2):
        a, b = _weights(resumed.root / f"iter{t}" / "policy"), _weights(run.root / f"iter{t}" / "policy")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_the_loop_evaluates_every_iterate_against_pi0(clean_run):
    run, _ = clean_run
    assert len(run.evals) == 3 and len(run.validation) == 2 and run.best in (1, 2)
    pi0 = run.evals[0]
    assert pi0["win_rate"][0] == 0.5 and pi0["kl"][0] == 0.0  # pi_0 against itself
    assert all(e["kl"][0] > 0 for e in run.evals[1:])  # DPO moved the policy: a positive KL estimate
    assert run.output == run.root / f"iter{run.best}" / "policy"


def test_summarise_counts_ties_as_half_and_refuses_unpaired_samples():
    def rec(i, k, reward, resp="a"):
        return {"prompt_index": i, "sample": k, "reward": reward, "length": len(resp.split()), "chars": len(resp),
                "logp": -1.0, "logp_ref": -2.0, "finished": True, "family": "copy", "proxy": None, "prompt": "p",
                "response": resp}

    base = [rec(0, 0, 0.5), rec(0, 1, 0.5), rec(1, 0, 1.0), rec(1, 1, 0.0)]
    pol = [rec(0, 0, 1.0), rec(0, 1, 0.5), rec(1, 0, 0.0), rec(1, 1, 0.0)]
    s = summarise(pol, base)
    assert s["win_rate"][0] == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    assert s["kl"][0] == pytest.approx(1.0) and s["reward"][0] == pytest.approx(0.375)
    assert "kl_token" not in s  # no token counts, no KL per token
    tokens = [1, 3, 2, 2]  # KL 1 nat per response, over 8 tokens in all
    s = summarise([dict(r, num_tokens=n) for r, n in zip(pol, tokens)], base)
    assert s["kl_token"][0] == pytest.approx(4 / 8)
    with pytest.raises(ValueError, match="not paired"):
        summarise(pol[:3], base[:2] + base[3:])


def test_summarise_takes_a_bt_judges_verdict_from_the_stored_rewards():
    """The proxy's win rate comes from the rewards already in the records, penalty included, without
    running the reward model again (it is the slow part of re-reading a cached run)."""

    class NoScoring:
        def score(self, *a):
            raise AssertionError("the reward model was run again")

    judge = ProxyJudge.__new__(ProxyJudge)
    judge.name, judge.kind, judge.lam, judge.model, judge.scalar = "bt", "bt", 0.5, NoScoring(), True

    def rec(i, reward, proxy, resp):
        return {"prompt_index": i, "sample": 0, "reward": reward, "length": 1, "chars": len(resp), "logp": 0.0,
                "logp_ref": 0.0, "finished": True, "family": "copy", "proxy": proxy, "prompt": "p", "response": resp}

    base = [rec(0, 0.0, 1.0, "a"), rec(1, 0.0, 1.0, "a"), rec(2, 0.0, 1.0, "a")]
    # proxy margins 1, 1 and -1; the second answer is 4 characters longer, so 0.5 * 4 turns its win into a loss
    pol = [rec(0, 0.0, 2.0, "b"), rec(1, 0.0, 2.0, "bbbbb"), rec(2, 0.0, 0.0, "b")]
    assert summarise(pol, base, judge)["proxy_win_rate"][0] == pytest.approx(1 / 3)


def test_sequence_logprobs_do_not_depend_on_padding_or_batching(pi0_artifacts):
    from rlhf_lite.policy.models import load_policy

    model, tok = load_policy(pi0_artifacts.pi0)
    prompts = ["copy 1 2 =", "sort 3 1 2 5 4 =", [{"role": "user", "content": "add 1 + 2 ="}]]
    answers = [tok(" 1 2", add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
               tok(" sure 1 2 3 4 5 hope that helps", add_special_tokens=False)["input_ids"], []]
    together = sequence_logprobs(model, tok, prompts, answers, batch_size=8)
    alone = [sequence_logprobs(model, tok, [p], [a])[0] for p, a in zip(prompts, answers)]
    assert together == pytest.approx(alone, abs=1e-4) and together[2] == 0.0
    # the first answer by hand: each token's log-probability after "<bos> copy 1 2 ="
    ids = tok("copy 1 2 =")["input_ids"]
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.tensor([ids + answers[0]])).logits[0], -1)
    by_hand = sum(float(lp[len(ids) - 1 + j, a]) for j, a in enumerate(answers[0]))
    assert together[0] == pytest.approx(by_hand, abs=1e-4) and together[0] < 0


def test_the_judge_margin_applies_the_length_penalty_per_character(cfg):
    from rlhf_lite.stages import prepare_reward_models

    path = prepare_reward_models(cfg, ["bt-mix2"], progress=False, log=lambda *a: None).models["bt-mix2"]
    plain, penalised = ProxyJudge("bt", path, "bt"), ProxyJudge("bt", path, "bt", lam=0.5)
    x, a, b = ["copy 1 2 ="] * 2, ["1 2", "sure 1 2"], ["1 2", "1 3"]
    m0, m1 = plain.margin(x, a, b), penalised.margin(x, a, b)
    assert m0[0] == pytest.approx(0.0, abs=1e-5)  # a response against itself
    assert m1 - m0 == pytest.approx(-0.5 * np.array([0, len("sure 1 2") - len("1 3")]), abs=1e-5)
    rows = plain.rank_scores(x, [a, b + ["2 1"]])
    assert [len(r) for r in rows] == [2, 3] and rows[0] == pytest.approx(plain.reward(x, a), abs=1e-5)
    with pytest.raises(ValueError, match="'bt' .* or 'pm'"):
        ProxyJudge("x", path, "oracle")


def test_bad_loop_settings_are_refused_with_what_to_change(cfg):
    with pytest.raises(ValueError, match="at most data.iterations"):
        run_online(Config.preset("ci", **{**CFG, "online.iterations": 4}), progress=False, log=lambda *a: None)
    with pytest.raises(ValueError, match="'new' .* or 'all'"):
        run_online(Config.preset("ci", **{**CFG, "online.history": "some"}), progress=False, log=lambda *a: None)
    with pytest.raises(ValueError, match="neither a reward model of the book"):
        load_judge(Config.preset("ci", **{"online.judge": "ultrarm-13b"}))
    with pytest.raises(ValueError, match="neither a reward model of the book"):
        load_judge(Config.preset("ci", **{"online.judge": "/no/such/reward-model"}))


def test_offline_baseline_trains_from_pi0_against_pi0_on_mix2(cfg, clean_run, monkeypatch):
    run, _ = clean_run
    for module in (online, offline):
        monkeypatch.setattr(module, "online_root", lambda c: run.root.parent)
    base = run.root / "pi0_eval" / "eval.jsonl"
    stamp = base.stat().st_mtime_ns
    off = run_offline(cfg, seed=0, pairs=80, progress=False, log=lambda *a: None)
    assert off["train_metrics"]["reference"] == str(run.pi0.resolve()) and off["train_metrics"]["train_pairs"] == 80
    assert off["train_metrics"]["policy_init"] == "pi0" and off["policy"].parent.parent == run.root and off["policy"].parent.name.startswith("offline80-")
    # judged against the online run's own pi_0 samples (reused, not redrawn), on the same prompts
    assert base.stat().st_mtime_ns == stamp and off["eval"]["samples"] == run.evals[0]["samples"]
    a, b = _weights(off["policy"]), _weights(run.pi0)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # DPO moved it


def test_seed_interval_uses_the_t_quantile():
    from rlhf_lite.stats import seed_interval

    mean, half = seed_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.303 * 1.0 / np.sqrt(3), rel=1e-4)
    assert seed_interval([5.0, 5.0])[1] == 0.0
    with pytest.raises(ValueError, match="at least 2 runs"):
        seed_interval([1.0])


def test_across_seeds_averages_runs_not_samples():
    from rlhf_lite.online.evaluate import across_seeds

    def ev(w, fam):
        return {"win_rate": (w, 0.01), "reward": (w / 2, 0.0), "length": (5.0, 0.1), "chars": (9.0, 0.1),
                "kl": (0.1, 0.0), "by_family": {"copy": {"reward": fam}}}

    s = across_seeds([ev(0.5, 0.2), ev(0.6, 0.4), ev(0.7, 0.6)])
    assert s["win_rate"][0] == pytest.approx(0.6) and s["win_rate"][1] == pytest.approx(4.303 * 0.1 / np.sqrt(3), rel=1e-3)
    assert s["length"] == (5.0, 0.0) and "proxy" not in s and s["by_family"]["copy"][0] == pytest.approx(0.4)


def test_offline_pairs_leave_out_the_evaluation_and_validation_prompts(cfg):
    from rlhf_lite.data.truth import world_prompt
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.stages import eval_prompts, validation_prompts

    pairs = offline_pairs(cfg, 400, seed=0)
    banned = set(eval_prompts(cfg)) | set(validation_prompts(cfg))
    assert len(pairs) == 400 and not {world_prompt(p["prompt"]) for p in pairs} & banned
    assert not set(validation_prompts(cfg)) & set(eval_prompts(cfg))
    with pytest.raises(ValueError, match="lower the number"):
        offline_pairs(cfg, 10**6, seed=0)


def test_pair_truth_reads_each_pair_against_its_own_samples():
    from rlhf_lite.online.evaluate import pair_truth

    def pair(i, chosen, rejected):
        return {"prompt_id": str(i), "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}]}

    samples = [{"responses": ["1 2", "1 3", "2 2"], "true_reward": [1.0, 0.25, 0.25]},
               {"responses": ["5", "6", "7"], "true_reward": [0.0, 1.0, 0.0]}]
    # right (1.0 > 0.25), tie (0.25 = 0.25) and wrong (0.0 < 1.0), in that order
    out = pair_truth(samples + [samples[1]], [pair(0, "1 2", "1 3"), pair(0, "1 3", "2 2"), pair(1, "5", "6")])
    assert (out["right"], out["tie"], out["wrong"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert out["chosen_is_best"] == pytest.approx(1 / 3) and out["true_margin"] == pytest.approx((0.75 + 0 - 1) / 3)
    with pytest.raises(ValueError, match="not among its prompt's samples"):
        pair_truth(samples, [pair(1, "1 2", "5")])
    with pytest.raises(ValueError, match="only the lite world"):
        pair_truth([{"responses": ["a", "b"], "true_reward": None}], [pair(0, "a", "b")])


def test_pair_information_reads_the_judges_and_the_truths_margin_and_the_drops():
    from types import SimpleNamespace

    from rlhf_lite.online.analysis import pair_information

    def pair(i, chosen, rejected, margin):
        return {"prompt_id": str(i), "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}], "margin": margin}

    samples = [{"responses": ["1 2", "1 3"], "true_reward": [1.0, 0.25]},
               {"responses": ["5", "6"], "true_reward": [0.0, 1.0]}, {"responses": ["x", "x"], "true_reward": [0, 0]},
               {"responses": ["y", "z"], "true_reward": [0, 0]}]
    report = {"prompts": 4, "pairs": 2, "dropped": {"identical": 1, "tied": 1, "too few samples": 0}}
    run = SimpleNamespace(pair_reports=[report], samples=lambda t: samples,
                          pairs=lambda t: [pair(0, "1 2", "1 3", 0.5), pair(1, "5", "6", 0.25)])
    out = pair_information(run, 1)
    assert out["judge_margin"] == pytest.approx(0.375) and out["true_margin"] == pytest.approx((0.75 - 1.0) / 2)
    assert (out["right"], out["wrong"]) == (0.5, 0.5)
    assert out["dropped"] == 0.5 and out["dropped_identical"] == 0.25 and out["dropped_too_few_samples"] == 0.0


def test_overoptimisation_points_pair_each_iterate_with_its_own_kl():
    from types import SimpleNamespace

    from rlhf_lite.online.evaluate import overoptimisation_points

    def ev(kl, proxy, reward):
        return {"kl": (kl, 0.1), "proxy": (proxy, 0.1), "reward": (reward, 0.01)}

    runs = {"a": [SimpleNamespace(evals=[ev(0.0, 1.0, 0.5), ev(2.0, 3.0, 0.6), ev(5.0, 4.0, 0.55)]),
                  SimpleNamespace(evals=[ev(0.0, 0.0, 0.4), ev(1.0, 0.5, 0.7), ev(3.0, 1.5, 0.9)])]}
    pts = overoptimisation_points(runs)
    assert [(p["seed"], p["t"]) for p in pts] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [p["kl"] for p in pts] == [0.0, 2.0, 5.0, 0.0, 1.0, 3.0]
    # gains are against the same seed's pi_0: seed 0's last iterate +3 proxy, +0.05 truth
    assert (pts[2]["proxy_gain"], pts[2]["true_gain"]) == pytest.approx((3.0, 0.05))
    assert (pts[5]["proxy_gain"], pts[5]["true_gain"]) == pytest.approx((1.5, 0.5))
    with pytest.raises(ValueError, match="no scalar proxy reward"):
        overoptimisation_points({"pm": [SimpleNamespace(evals=[{"kl": (0, 0), "reward": (0, 0)}])]})


def test_agreement_by_length_tells_a_length_reader_from_a_correctness_reader():
    from rlhf_lite.online.evaluate import agreement_by_length

    class Judge:
        def __init__(self, by):
            self.lam, self.by = 0.3, by

        def margin(self, prompts, a, b):
            assert self.lam == 0.0  # measured without the penalty
            if self.by == "length":
                return np.array([len(x) - len(y) for x, y in zip(a, b)], float)
            return np.array([1.0] * len(a))  # always right: a is the truly better answer here

    samples = [{"prompt": "copy 1 2 =", "responses": ["1 2", "sure 1 3", "1 3"], "true_reward": [1.0, 0.25, 0.25]},
               {"prompt": "copy 3 =", "responses": ["3", "3 3", "well 4"], "true_reward": [1.0, 0.0, 0.0]}]
    length = Judge("length")
    out = agreement_by_length(length, samples)
    # better-and-shorter pairs: ("1 2" vs "sure 1 3"), ("3" vs "3 3"), ("3" vs "well 4"); same length: ("1 2", "1 3")
    assert out["shorter"] == (0.0, 3) and out["same"] == (0.0, 1) and out["longer"][1] == 0
    assert length.lam == 0.3  # the judge's penalty is restored
    assert agreement_by_length(Judge("truth"), samples)["shorter"] == (1.0, 3)


def test_the_win_rate_ceiling_is_a_tie_where_pi0_is_already_right():
    from rlhf_lite.online.evaluate import win_rate_ceiling

    assert win_rate_ceiling([{"reward": 1.0}, {"reward": 0.25}, {"reward": 0.0}, {"reward": 1.0}]) == 0.75
    with pytest.raises(ValueError, match="r\\* of every pi_0 sample"):
        win_rate_ceiling([{"reward": float("nan")}])


def test_a_longer_loop_continues_a_shorter_one_and_reuses_the_prompt_subsets(clean_run, cfg, monkeypatch):
    """online.iterations and online.reuse_prompts are not part of the recipe's folder: T = 4 continues the T = 2 run,
    and with reuse iteration 4 samples iteration 1's prompts again (data.iterations = 3), from pi_3."""
    from rlhf_lite.config import with_overrides
    from rlhf_lite.io import read_jsonl

    run, _ = clean_run
    assert online.online_root(with_overrides(cfg, {"online.iterations": 4, "online.reuse_prompts": True})) == \
        online.online_root(cfg)
    with pytest.raises(ValueError, match="reuse_prompts"):
        online._iteration_prompts(with_overrides(cfg, {"online.iterations": 4}), online.prepare_data(cfg).prompt_splits, 4)
    stamps = {f: (run.root / f).stat().st_mtime_ns for f in ("iter1/generations.jsonl", "iter2/policy/model.safetensors")}
    longer = with_overrides(cfg, {"online.iterations": 4, "online.reuse_prompts": True})
    monkeypatch.setattr(online, "online_root", lambda c: run.root.parent)
    run4 = run_online(longer, seed=0, progress=False, log=lambda *a: None)
    assert len(run4.policies) == 4 and run4.evals[:3] == run.evals[:3]
    assert {f: (run.root / f).stat().st_mtime_ns for f in stamps} == stamps  # iterations 1-2 reused, not redone
    prompts = {t: [r["prompt"] for r in read_jsonl(run.root / f"iter{t}" / "generations.jsonl")] for t in (1, 3, 4)}
    assert prompts[4] == prompts[1] and prompts[3] != prompts[1]
    responses = [read_jsonl(run.root / f"iter{t}" / "generations.jsonl")[0]["responses"] for t in (1, 4)]
    assert responses[0] != responses[1]  # fresh samples from the current policy


def test_pi0_is_sampled_once_for_every_judge_and_equals_a_separate_evaluation(pi0_artifacts, cfg, tmp_path, monkeypatch):
    """pi_0's evaluation (samples, r*, log-probabilities) is shared by every judge of a loop seed; each judge adds
    its own rewards. The shared records equal what an evaluation of its own would have written."""
    from rlhf_lite.io import read_jsonl
    from rlhf_lite.online.evaluate import PolicyEvaluator
    from rlhf_lite.online.judge import GoldJudge
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import HFSampler

    monkeypatch.setenv("RLHF_LITE_RUNS", str(tmp_path / "runs"))  # runs/shared starts empty
    made = []

    def make(policy):
        made.append(policy)
        return HFSampler(*load_policy(policy), progress=False)

    class Length(GoldJudge):  # another scalar judge: the answer's length
        def __init__(self):
            super().__init__()
            self.identity = {"kind": "length"}
            self.model = type("M", (), {"score": staticmethod(lambda xs, a: np.array([float(len(s)) for s in a]))})()

    pi0, quiet = pi0_artifacts.pi0, (lambda *a: None)
    gold = PolicyEvaluator(cfg, 0, pi0, GoldJudge(), make, log=quiet).records(pi0, tmp_path / "gold", "pi_0")
    length_eval = PolicyEvaluator(cfg, 0, pi0, Length(), make, log=quiet)
    by_length = length_eval.records(pi0, tmp_path / "length", "pi_0")
    assert len(made) == 1  # sampled once
    for a, b in zip(gold, by_length):  # held-out and validation records
        assert [{k: v for k, v in r.items() if k != "proxy"} for r in a] == \
            [{k: v for k, v in r.items() if k != "proxy"} for r in b]
        assert [r["proxy"] for r in a] == [r["reward"] for r in a]
        assert [r["proxy"] for r in b] == [float(len(r["response"])) for r in b]
        assert "logprob" not in a[0] and a[0]["logp"] == a[0]["logp_ref"]  # pi_0 against itself
    length_eval._evaluate(pi0, tmp_path / "alone", "pi_0")  # an evaluation of its own, as before sharing
    assert read_jsonl(tmp_path / "alone" / "eval.jsonl") == by_length[0]
    assert read_jsonl(tmp_path / "alone" / "validation.jsonl") == by_length[1]


def test_a_replay_arm_reuses_the_loops_reference_log_probs(clean_run, cfg, monkeypatch):
    """The loop's last round scored every pair of its stream against pi_0 (history "all"): the replayed stream
    is trained without scoring any pair again, and the reused numbers are the loop's own."""
    import rlhf_lite.online.arms as arms

    run, _ = clean_run
    monkeypatch.setattr(arms, "online_root", lambda c: run.root.parent)
    monkeypatch.setattr(online, "online_root", lambda c: run.root.parent)
    res = arms.arm(cfg, 0, {"kind": "replay", "name": "replay", "order": "in order"}, log=lambda *a: None)
    m = res["train_metrics"]
    assert m["train_pairs"] > len(_pairs(run, 2)) and m["reference_logps_reused"] == m["train_pairs"]
    saved = json.loads((res["policy"] / "reference_logps.json").read_text())["logps"]
    loop_saved = json.loads((run.root / "iter2" / "policy" / "reference_logps.json").read_text())["logps"]
    assert saved.items() <= loop_saved.items()
