"""DPO's hyper-parameters, apart from the DPO code (rlhf_lite.policy.dpo), so that the configuration can name them
without importing the trainer: a stage's cache key follows the modules it imports (rlhf_lite.codekeys), and
pi_0's SFT, which imports the configuration, does not run DPO.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DPOSettings:
    """DPO hyper-parameters. The paper (full scale): lr 5e-7, cosine, warm-up 0.03, global batch 128,
    beta (eta) 0.1, 2 epochs per iteration, the DPO loss alone. Lite defaults: larger steps for a tiny
    model, and the SFT ("feel-good") term on the chosen answers that the revision of the paper's code
    offers (its Section 3.3 remark); chapter 8 (what the loop learns from its judge) measures both choices against
    the truth."""

    epochs: float = 2.0
    learning_rate: float = 3e-4
    batch_size: int = 64  # per device
    grad_accum: int = 1  # global batch = batch_size x grad_accum x GPUs
    beta: float = 0.1
    warmup: float = 0.03
    lr_scheduler: str = "cosine"
    max_length: int = 64
    loss_type: tuple = ("sigmoid", "sft")  # DPO plus an SFT term on the chosen answers; ("sigmoid",): DPO alone
    loss_weights: tuple | None = None  # one weight per loss type
    bf16: bool = False  # see SFTSettings: TRL's GPU defaults are slow for tiny CPU models
    gradient_checkpointing: bool = False
    # Score the reference once before training instead of at every step (TRL's precompute_ref_log_probs);
    # the online loop scores each pair once for all its rounds, since the reference stays pi_0. Faster per
    # epoch on the CPU (bench/bench_races.py); off under (Q)LoRA (see _precomputes).
    precompute_ref_log_probs: bool = True
    # rows (answers) per forward inside a batch, grouped by length (rlhf_lite.policy.microbatch.RowGroups: the same
    # batches and loss, less padding); None: the batch whole, as TRL runs it. Set by the race in bench/bench_padding.py.
    micro_batch: int | None = 32
