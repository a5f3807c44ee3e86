"""DPO through TRL: the policy moves towards chosen responses, against a frozen reference it records."""

import numpy as np
import pytest
import torch
from test_reward import oracle_pairs  # the cleanest pairs the world has: right answer vs near miss

from rlhf_lite.policy.dpo import DPOSettings, train_dpo


def margins(path, pairs):
    """log pi(chosen | x) - log pi(rejected | x) for each pair, through the chat template TRL uses."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok, model = AutoTokenizer.from_pretrained(str(path)), AutoModelForCausalLM.from_pretrained(str(path)).eval()

    def logp(prompt, answer):
        p_ids = tok.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=False)
        full = tok.apply_chat_template(prompt + answer, tokenize=True, return_dict=False)
        ids = torch.tensor([full])
        with torch.no_grad():
            lp = torch.log_softmax(model(ids).logits[0, :-1], -1)
        tgt = ids[0, 1:]
        return float(lp[torch.arange(len(tgt)), tgt][len(p_ids) - 1:].sum())

    return np.array([logp(p["prompt"], p["chosen"]) - logp(p["prompt"], p["rejected"]) for p in pairs])


def test_dpo_raises_the_chosen_over_the_rejected_and_records_its_reference(pi0_artifacts, tmp_path):
    train, held = oracle_pairs(600, seed=5), oracle_pairs(100, seed=6)
    m = train_dpo(pi0_artifacts.pi0, pi0_artifacts.pi0, train, tmp_path / "it1",
                  DPOSettings(epochs=2, learning_rate=5e-4, batch_size=32), progress=False)
    assert m["reference"] == str(pi0_artifacts.pi0.resolve()) and m["train_pairs"] == 600
    before, after = margins(pi0_artifacts.pi0, held), margins(tmp_path / "it1", held)
    # held-out pairs move the right way: on average by more than half a nat, and most of them (chance: half)
    assert (after - before).mean() > 0.5 and (after > before).mean() > 0.6
    # a second iteration starts from the iterate but keeps pi_0 as its reference
    m2 = train_dpo(tmp_path / "it1", pi0_artifacts.pi0, train[:64], tmp_path / "it2",
                   DPOSettings(epochs=1, batch_size=32), progress=False)
    assert m2["reference"] == str(pi0_artifacts.pi0.resolve()) and m2["policy_init"] == str((tmp_path / "it1").resolve())


def test_dpo_refuses_empty_data_and_mismatched_loss_weights(pi0_artifacts, tmp_path):
    with pytest.raises(ValueError, match="no pairs"):
        train_dpo(pi0_artifacts.pi0, pi0_artifacts.pi0, [], tmp_path / "x")
    with pytest.raises(ValueError, match="2 loss types but 1 weights"):
        train_dpo(pi0_artifacts.pi0, pi0_artifacts.pi0, oracle_pairs(4, seed=0), tmp_path / "x",
                  DPOSettings(loss_type=("sigmoid", "sft"), loss_weights=(1.0,)))


def test_precomputed_reference_log_probs_give_the_same_loss_as_the_live_reference(pi0_artifacts, tmp_path):
    """TRL's precompute_ref_log_probs scores the pairs under pi_0 once; training must then see the loss it
    would see with pi_0 run at every step. The policy is a DPO iterate, so the loss is not log 2."""
    import dataclasses
    import math

    from rlhf_lite.policy.dpo import batch_loss, dpo_trainer

    pairs, pi0 = oracle_pairs(96, seed=11), pi0_artifacts.pi0
    # the DPO loss alone: log 2 exactly when policy = reference, which the last check relies on
    live = DPOSettings(epochs=1, learning_rate=5e-4, batch_size=32, precompute_ref_log_probs=False, loss_type=("sigmoid",))
    train_dpo(pi0, pi0, pairs, tmp_path / "pi1", live, progress=False)
    idx = list(range(40))
    live_trainer = dpo_trainer(tmp_path / "pi1", pi0, pairs, tmp_path / "s1", live, progress=False)
    assert live_trainer.ref_model is not None and "ref_chosen_logps" not in live_trainer.train_dataset.column_names
    a = batch_loss(live_trainer, idx)
    pre = dpo_trainer(tmp_path / "pi1", pi0, pairs, tmp_path / "s2",
                      dataclasses.replace(live, precompute_ref_log_probs=True), progress=False)
    assert "ref_chosen_logps" in pre.train_dataset.column_names and pre.ref_model is None
    b = batch_loss(pre, idx)
    assert abs(a - math.log(2)) > 1e-3  # the iterate differs from its reference: the comparison means something
    assert abs(a - b) < 1e-5
    # values scored in an earlier round against the same reference are reused, and give the same loss
    from rlhf_lite.policy.dpo import _scored_logps

    scored = _scored_logps(pre.train_dataset)
    half = dict(list(scored.items())[:48])
    reuse = dpo_trainer(tmp_path / "pi1", pi0, pairs, tmp_path / "s4",
                        dataclasses.replace(live, precompute_ref_log_probs=True), progress=False, known_logps=half)
    assert reuse.reused_reference_logps == 48
    assert abs(batch_loss(reuse, idx) - b) < 1e-6
    # and against the wrong reference (the iterate itself) the loss is log 2: the check can tell them apart
    wrong = batch_loss(dpo_trainer(tmp_path / "pi1", tmp_path / "pi1", pairs, tmp_path / "s3", live, progress=False), idx)
    assert abs(wrong - math.log(2)) < 1e-5 and abs(wrong - b) > 1e-3


def test_forbid_training_stops_a_trainer_as_it_starts(pi0_artifacts, tmp_path, monkeypatch):
    """The switch the notebook tests use to prove a cached rerun trains nothing."""
    monkeypatch.setenv("RLHF_LITE_FORBID_TRAINING", "1")
    with pytest.raises(RuntimeError, match="FORBID_TRAINING"):
        train_dpo(pi0_artifacts.pi0, pi0_artifacts.pi0, oracle_pairs(8, seed=0), tmp_path / "x",
                  DPOSettings(epochs=1, batch_size=8), progress=False)
    assert not (tmp_path / "x").exists()
