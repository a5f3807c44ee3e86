"""QLoRA on the CPU: a 4-bit NF4 base (bitsandbytes) with LoRA adapters (PEFT) for the reward model, SFT
and DPO, and in DPO the reference stays pi_0 (the base with the adapter disabled) in every round."""

import json

import numpy as np
import pytest
import torch
from test_dpo import margins
from test_reward import oracle_pairs

from rlhf_lite.policy.dpo import DPOSettings, train_dpo
from rlhf_lite.policy.lora import LoraSettings, adapter_of
from rlhf_lite.reward.bradley_terry import RewardModel, RewardSettings, load_reward_model, train_reward_model

QLORA = LoraSettings(enabled=True, quantize_4bit=True, r=8, alpha=16, dropout=0.0)


def test_the_base_is_really_4_bit_and_only_adapters_and_the_head_train(pi0_artifacts):
    import bitsandbytes as bnb
    from peft import get_peft_model

    from rlhf_lite.policy.lora import peft_config

    model, _ = load_reward_model(pi0_artifacts.pi0, QLORA)
    linear = [m for n, m in model.named_modules() if n.endswith("q_proj")]
    assert linear and all(isinstance(m, bnb.nn.Linear4bit) for m in linear)
    assert linear[0].weight.quant_type == "nf4"
    peft = get_peft_model(model, peft_config(QLORA, "SEQ_CLS"))
    trainable = {n.split(".")[-2] if "lora_" in n else n for n, p in peft.named_parameters() if p.requires_grad}
    assert trainable and all(("lora_" in n) or ("score" in n) for n, p in peft.named_parameters() if p.requires_grad)
    assert any("score" in n for n in trainable)


def test_qlora_reward_model_learns_on_cpu_and_its_merged_checkpoint_scores(pi0_artifacts, tmp_path):
    train, held = oracle_pairs(800, seed=11), oracle_pairs(200, seed=12)
    m = train_reward_model(pi0_artifacts.pi0, train, tmp_path / "rm", RewardSettings(epochs=2, learning_rate=2e-3,
                           batch_size=32), progress=False, lora=QLORA)
    assert adapter_of(tmp_path / "rm") is not None
    losses = [h["loss"] for h in m["log_history"]]
    assert losses[-1] < losses[0]
    rm = RewardModel.from_pretrained(tmp_path / "rm")  # an ordinary checkpoint: the adapter merged in
    from rlhf_lite.reward.bradley_terry import as_messages  # noqa: F401  (scores go through the chat template)

    xs = [p["prompt"] for p in held]
    acc = np.mean(rm.score(xs, [p["chosen"][-1]["content"] for p in held])
                  > rm.score(xs, [p["rejected"][-1]["content"] for p in held]))
    assert acc > 0.6, acc  # chance is 0.5


def test_qlora_sft_saves_a_loadable_merged_policy(pi0_artifacts, tmp_path):
    from rlhf_lite.io import read_jsonl
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sft import SFTSettings, train_sft

    recs = read_jsonl(pi0_artifacts.sft_train)[:256]
    m = train_sft(pi0_artifacts.init, recs, tmp_path / "sft", SFTSettings(epochs=1, batch_size=32,
                  learning_rate=1e-3), progress=False, lora=QLORA)
    assert m["adapter"] == {"r": 8, "quantize_4bit": True}
    from peft import PeftModel

    merged, _ = load_policy(tmp_path / "sft")
    base, _ = load_policy(pi0_artifacts.init)
    with_adapter = PeftModel.from_pretrained(load_policy(pi0_artifacts.init)[0], str(tmp_path / "sft" / "adapter"))
    x = torch.tensor([[1, 5, 6, 7, 8, 9]])
    with torch.no_grad():
        m, b, a = (mdl(input_ids=x).logits for mdl in (merged, base, with_adapter))
    # the saved checkpoint is the base plus its adapter: it computes what base + adapter computes
    assert (m - a).abs().max() < 0.1 * (b - a).abs().max()


def test_qlora_dpo_moves_the_policy_and_keeps_pi0_as_the_reference(pi0_artifacts, tmp_path):
    pi0 = pi0_artifacts.pi0
    train, held = oracle_pairs(400, seed=5), oracle_pairs(100, seed=6)
    m1 = train_dpo(pi0, pi0, train, tmp_path / "it1", DPOSettings(epochs=2, learning_rate=2e-3, batch_size=32),
                   progress=False, lora=QLORA)
    assert m1["reference_mode"] == "base with the adapter disabled"
    assert (margins(tmp_path / "it1", held) - margins(pi0, held)).mean() > 0.2
    # Round 2 at learning rate 0 from pi_1: the policy is pi_1's adapter continued, so TRL's implied rewards
    # beta (log pi_1 - log pi_ref) are non-zero only if the reference is pi_0, not a copy of pi_1.
    m2 = train_dpo(tmp_path / "it1", pi0, train[:160], tmp_path / "it2", DPOSettings(epochs=1, learning_rate=0.0,
                   batch_size=16), progress=False, lora=QLORA)
    logged = [h for h in m2["log_history"] if "rewards/margins" in h]
    assert logged and logged[0]["rewards/margins"] > 0.05, logged
    assert m2["reference"] == str(pi0.resolve())
    a1 = json.loads((tmp_path / "it1" / "adapter" / "adapter_config.json").read_text())
    a2 = json.loads((tmp_path / "it2" / "adapter" / "adapter_config.json").read_text())
    assert a1["base_model_name_or_path"] == a2["base_model_name_or_path"]
    from safetensors.torch import load_file

    w1 = load_file(str(tmp_path / "it1" / "adapter" / "adapter_model.safetensors"))
    w2 = load_file(str(tmp_path / "it2" / "adapter" / "adapter_model.safetensors"))
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)  # lr 0: pi_2 = pi_1


def test_lora_dpo_refuses_a_policy_that_is_not_of_the_reference_lineage(pi0_artifacts, tmp_path):
    with pytest.raises(ValueError, match="neither"):
        train_dpo(pi0_artifacts.init, pi0_artifacts.pi0, oracle_pairs(8, seed=0), tmp_path / "x", lora=QLORA)


def test_lora_settings_reject_nonsense():
    with pytest.raises(ValueError, match="needs lora.enabled"):
        LoraSettings(quantize_4bit=True)
    with pytest.raises(ValueError, match="r must be"):
        LoraSettings(enabled=True, r=0)
    with pytest.raises(ValueError, match="compute_dtype"):
        LoraSettings(enabled=True, compute_dtype="int8")
