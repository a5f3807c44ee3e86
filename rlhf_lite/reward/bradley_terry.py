"""The Bradley-Terry reward model (paper, Section 2): a scalar head on the policy, trained with TRL.

Given a preferred response a^w and a rejected one a^l, the BT model says
P(a^w > a^l | x) = sigmoid(r(x, a^w) - r(x, a^l)); maximum likelihood minimises ``bt_loss``.
``train_reward_model`` wraps TRL's ``RewardTrainer`` (which computes exactly that loss) and
``RewardModel.score`` is the batched scoring API every later chapter uses. Chapter 4
(notebooks/04_reward_models) writes the loss from scratch and checks it against TRL's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from rlhf_lite.data.schema import trl_dataset
from rlhf_lite.devices import inference_placement
from rlhf_lite.policy.lora import LoraSettings, load_base, peft_config, save_merged
from rlhf_lite.policy.microbatch import length_order
from rlhf_lite.policy.trainers import quiet, shared_args, train_dtype
from rlhf_lite.reward.settings import RewardSettings
from rlhf_lite.world.oracle import sigmoid


def bt_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the BT model: mean of -log sigma(r(x, a^w) - r(x, a^l))."""
    return -torch.nn.functional.logsigmoid(r_chosen - r_rejected).mean()


def as_messages(prompt, response: str) -> list[dict]:
    """A (prompt, response) as chat messages; a plain-string prompt is one user turn."""
    msgs = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    return msgs + [{"role": "assistant", "content": response}]


def load_reward_model(name_or_path: str | Path, lora: LoraSettings | None = None, **kwargs):
    """A sequence-classification model with one output (the reward) and its tokenizer.

    From a causal-LM checkpoint (pi_0) the scalar head is new and randomly initialised; the body is
    the policy's, as in the paper ("we initialise from the SFT model"). Under QLoRA the body is 4-bit."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(name_or_path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = load_base(AutoModelForSequenceClassification, name_or_path, lora, num_labels=1, **kwargs)
    model.config.pad_token_id = tok.pad_token_id
    return model, tok


def train_reward_model(base: str | Path, pairs: Sequence[dict], output_dir: str | Path, settings: RewardSettings,
                       eval_pairs: Sequence[dict] | None = None, seed: int = 0, progress: bool = True,
                       lora: LoraSettings | None = None, callbacks: Sequence | None = None) -> dict:
    """Train a BT reward model on preference pairs (``data.schema``) with TRL's RewardTrainer.
    ``lora``: train a (Q)LoRA adapter and the score head; the saved model is the adapter merged in.
    ``callbacks``: transformers TrainerCallbacks for the trainer (chapter 4's ``reward.pm_study.EpochProbe``)."""
    from trl import RewardConfig, RewardTrainer

    from rlhf_lite.policy.microbatch import with_row_groups

    if not pairs:
        raise ValueError("train_reward_model got no pairs.")
    missing = {"prompt", "chosen", "rejected"} - set(pairs[0])
    if missing:
        raise ValueError(f"train_reward_model needs prompt/chosen/rejected pairs; missing {sorted(missing)}.")
    train_ds = trl_dataset(pairs)
    eval_ds = trl_dataset(eval_pairs) if eval_pairs else None
    with tempfile.TemporaryDirectory() as scratch:
        args = RewardConfig(
            output_dir=scratch, num_train_epochs=settings.epochs, per_device_train_batch_size=settings.batch_size,
            gradient_accumulation_steps=settings.grad_accum,
            per_device_eval_batch_size=settings.batch_size, learning_rate=settings.learning_rate,
            lr_scheduler_type=settings.lr_scheduler, warmup_steps=settings.warmup, max_length=settings.max_length,
            bf16=settings.bf16, gradient_checkpointing=settings.gradient_checkpointing, **shared_args(seed, progress),
        )
        # The scalar head is new and drawn from torch's global generator when the model loads, before the
        # trainer seeds anything. Seed it here: in a worker process that generator holds whatever the jobs
        # before this one drew, and the same reward model came out different in two builds of one commit.
        from transformers import set_seed

        set_seed(seed)
        # loaded after the config, so that DeepSpeed ZeRO-3 (zero3_init_flag) partitions it while loading
        model, tok = load_reward_model(base, lora, **train_dtype(settings.bf16))
        trainer_class = with_row_groups(RewardTrainer, settings.micro_batch)  # forwards in groups of similar length
        trainer = quiet(trainer_class(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                                      processing_class=tok, peft_config=peft_config(lora, "SEQ_CLS"),
                                      callbacks=list(callbacks or [])), progress)
        metrics = {"train_pairs": len(trainer.train_dataset)}
        result = trainer.train()
        metrics["train_loss"] = result.training_loss
        if eval_ds is not None:
            ev = trainer.evaluate()
            metrics.update({k: v for k, v in ev.items() if k in ("eval_loss", "eval_accuracy")})
        metrics["log_history"] = [h for h in trainer.state.log_history if "loss" in h]
    if lora is not None and lora.enabled:
        from transformers import AutoModelForSequenceClassification

        save_merged(trainer, base, AutoModelForSequenceClassification, tok, output_dir, num_labels=1,
                    pad_token_id=tok.pad_token_id)
    else:
        model.eval()
        trainer.save_model(str(output_dir))  # gathers ZeRO-3 shards; writes on the main process only
    return metrics


class RewardModel:
    """r(x, a) for batches of (prompt, response), as TRL's RewardTrainer saw them (chat template)."""

    def __init__(self, model, tokenizer, batch_size: int = 256, progress: bool = False):
        self.model, self.tok = model.eval(), tokenizer
        self.batch_size, self.progress = batch_size, progress

    @classmethod
    def from_pretrained(cls, path: str | Path, **kw) -> "RewardModel":
        model, tok = load_reward_model(path)
        device, dtype = inference_placement()
        return cls(model.to(device=device, dtype=dtype), tok, **kw)

    @torch.no_grad()
    def score(self, prompts: Sequence, responses: Sequence[str]) -> np.ndarray:
        """One reward per (prompt, response); prompts are strings or chat messages. Batches are formed by length
        (rlhf_lite.policy.microbatch.length_order), so that little of them is padding; the rewards come back in
        the order given (each is its sequence's own, up to the order of float additions)."""
        if len(prompts) != len(responses):
            raise ValueError(f"score needs as many prompts as responses, got {len(prompts)} and {len(responses)}.")
        texts = [self.tok.apply_chat_template(as_messages(x, a), tokenize=False) for x, a in zip(prompts, responses)]
        ids = self.tok(texts, add_special_tokens=False)["input_ids"] if texts else []
        out = np.zeros(len(texts), dtype=np.float32)
        groups = length_order([len(i) for i in ids], self.batch_size)
        for group in tqdm(groups, desc="scoring", disable=not self.progress or len(groups) < 2):
            enc = self.tok.pad({"input_ids": [ids[i] for i in group]}, return_tensors="pt").to(self.model.device)
            out[group] = self.model(**enc).logits[:, 0].float().cpu().numpy()
        return out

    def prob_first(self, prompts: Sequence, first: Sequence[str], second: Sequence[str]) -> np.ndarray:
        """P(first > second) under the BT model: sigma(r(x, a1) - r(x, a2))."""
        return sigmoid(self.score(prompts, first) - self.score(prompts, second))
