"""Reward-model training's hyper-parameters, apart from the training code (rlhf_lite.reward.bradley_terry), so that
the configuration can name them without importing it: a stage's cache key follows the modules it imports
(rlhf_lite.codekeys), and the stages before the reward models do not train one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RewardSettings:
    """Hyper-parameters of reward-model training (the paper: 1 epoch, batch 512, lr 2e-6, cosine,
    warm-up 0.03, from the SFT/instruct model; lite presets in rlhf_lite.config)."""

    # Lite: at lr 1e-3 the tiny model settled on length and filler and never learned to check answers
    # (lite RewardBench chat 0.54 after 1 epoch, 0.50 after 6); at 3e-4 for 3 epochs it does (0.91).
    epochs: float = 3.0
    learning_rate: float = 3e-4
    batch_size: int = 64  # per device
    grad_accum: int = 1  # global batch = batch_size x grad_accum x GPUs
    warmup: float = 0.03
    lr_scheduler: str = "cosine"
    max_length: int = 64
    bf16: bool = False  # see SFTSettings: TRL's GPU defaults are slow for tiny CPU models
    gradient_checkpointing: bool = False
    # rows (answers) per forward inside a batch, grouped by length (rlhf_lite.policy.microbatch.RowGroups: the same
    # batches and loss, less padding); None: the batch whole, as TRL runs it. Set by the race in bench/bench_padding.py.
    micro_batch: int | None = 32
