"""DPO on preference pairs with TRL's DPOTrainer, the policy-optimisation step of Algorithm 2.

``train_dpo(policy, reference, pairs, ...)`` starts from ``policy`` (the last iterate, or pi_0) and
keeps ``reference`` frozen as the KL anchor. The paper keeps the reference at pi_0, the SFT model, in
every iteration; the iterative DPO chapter's loop passes pi_0 each time, and the metrics record which
reference was used, so a loop that silently swapped in the previous iterate (a bug that shipped in
Online-RLHF's scripts) is visible in its artifacts. Extra loss terms (e.g. an SFT term on the chosen
response, the "feel-good" exploration variant) are TRL loss types, set in ``DPOSettings``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .prefdata import trl_dataset
from .sft import has_accelerator, quiet


@dataclass(frozen=True)
class DPOSettings:
    """DPO hyper-parameters. The paper (full scale): lr 5e-7, cosine, warm-up 0.03, global batch 128,
    beta (eta) 0.1, 2 epochs per iteration. Lite defaults are larger steps for a tiny model."""

    epochs: float = 2.0
    learning_rate: float = 5e-5
    batch_size: int = 64
    beta: float = 0.1
    warmup: float = 0.03
    lr_scheduler: str = "cosine"
    max_length: int = 64
    loss_type: tuple = ("sigmoid",)  # e.g. ("sigmoid", "sft") for DPO plus an SFT term
    loss_weights: tuple | None = None  # one weight per loss type
    bf16: bool = False  # see SFTSettings: TRL's GPU defaults are slow for tiny CPU models
    gradient_checkpointing: bool = False


def train_dpo(policy: str | Path, reference: str | Path, pairs: Sequence[dict], output_dir: str | Path,
              settings: DPOSettings = DPOSettings(), seed: int = 0, progress: bool = True) -> dict:
    """Train ``policy`` with DPO against the frozen ``reference`` on ``pairs`` (``prefdata`` schema);
    save the result to ``output_dir`` and return metrics, including the reference's path."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    if not pairs:
        raise ValueError("train_dpo got no pairs: every prompt of the iteration was dropped (identical or tied "
                         "responses?). Check the pair report before training.")
    if settings.loss_weights is not None and len(settings.loss_weights) != len(settings.loss_type):
        raise ValueError(f"DPOSettings: {len(settings.loss_type)} loss types but {len(settings.loss_weights)} weights.")
    tok = AutoTokenizer.from_pretrained(str(policy))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(policy))
    ref = AutoModelForCausalLM.from_pretrained(str(reference))
    with tempfile.TemporaryDirectory() as scratch:
        args = DPOConfig(
            output_dir=scratch, num_train_epochs=settings.epochs, per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate, lr_scheduler_type=settings.lr_scheduler,
            warmup_steps=settings.warmup, beta=settings.beta, max_length=settings.max_length,
            loss_type=list(settings.loss_type),
            loss_weights=list(settings.loss_weights) if settings.loss_weights else None,
            bf16=settings.bf16, gradient_checkpointing=settings.gradient_checkpointing, logging_steps=10,
            save_strategy="no", report_to=[], seed=seed, disable_tqdm=not progress, use_cpu=not has_accelerator(),
        )
        trainer = quiet(DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=trl_dataset(pairs),
                                   processing_class=tok), progress)
        result = trainer.train()
        metrics = {"train_pairs": len(trainer.train_dataset), "train_loss": result.training_loss,
                   "reference": str(Path(reference).resolve()), "policy_init": str(Path(policy).resolve()),
                   "log_history": [h for h in trainer.state.log_history if "loss" in h]}
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output_dir))
    tok.save_pretrained(str(output_dir))
    return metrics
