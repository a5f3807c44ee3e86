"""Supervised fine-tuning of the initial policy pi_0 with TRL's SFTTrainer.

The loss is on completion tokens only (the prompt is context, not a target). The same
function fine-tunes a tiny lite policy from a local folder or a hub model in full mode.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from rlhf_lite.policy.lora import LoraSettings, load_base, peft_config, save_merged
from rlhf_lite.policy.microbatch import with_row_groups
from rlhf_lite.policy.models import load_tokenizer
from rlhf_lite.policy.trainers import quiet, shared_args, train_dtype


@dataclass(frozen=True)
class SFTSettings:
    """Hyper-parameters of the SFT stage (lite presets in rlhf_lite.config)."""

    # None: the lite world's demonstrations (num_demos of them). Otherwise a hub id or local file/folder of
    # chat data with a "messages" column (the paper's SFT mixture: RLHFlow/RLHFlow-SFT-Dataset-ver2); its
    # last assistant turn is the completion, the turns before it the prompt. num_demos > 0 caps the rows.
    dataset: str | None = None
    num_demos: int = 20_000
    epochs: float = 1.0
    learning_rate: float = 3e-3
    batch_size: int = 64  # per device
    grad_accum: int = 1  # global batch = batch_size x grad_accum x GPUs
    warmup: float = 0.05  # a fraction of the steps, as TrainingArguments reads a float warmup_steps < 1
    lr_scheduler: str = "cosine"
    max_length: int = 64
    packing: bool = False  # pack examples into max_length blocks (the paper: 8192-token blocks)
    # TRL defaults both to True (right for an 8B model on a GPU). For the tiny book-preset model on
    # 2 CPU cores, bf16 autocast and recomputed activations made SFT 17x slower (398 s against 23 s).
    bf16: bool = False
    gradient_checkpointing: bool = False
    # rows per forward inside a batch, grouped by length (rlhf_lite.policy.microbatch.RowGroups: the same batches
    # and loss, less padding); None: the batch whole, as TRL runs it
    micro_batch: int | None = 32


def train_sft(
    model_name_or_path: str | Path,
    train_records: Sequence[dict],
    output_dir: str | Path,
    settings: SFTSettings,
    eval_records: Sequence[dict] | None = None,
    seed: int = 0,
    progress: bool = True,
    lora: LoraSettings | None = None,
    callbacks: Sequence | None = None,
) -> dict:
    """Fine-tune on prompt/completion records and save the result to ``output_dir``.

    ``lora`` trains a (Q)LoRA adapter instead of every weight (rlhf_lite.policy.lora); the saved model is then
    the adapter merged into the base. ``callbacks``: transformers TrainerCallbacks for the trainer (chapter 4's
    ``reward.pm_study.EpochProbe``). Returns the metrics: training loss, and held-out loss before and after when
    ``eval_records`` are given.
    """
    if not train_records:
        raise ValueError("train_sft got no training records.")
    missing = {"prompt", "completion"} - set(train_records[0])
    if missing:
        raise ValueError(f"train_sft records need 'prompt' and 'completion' fields; missing {sorted(missing)}.")
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(model_name_or_path)
    keep = ["prompt", "completion"]
    train_ds = Dataset.from_list([{k: r[k] for k in keep} for r in train_records])
    eval_ds = Dataset.from_list([{k: r[k] for k in keep} for r in eval_records]) if eval_records else None
    with tempfile.TemporaryDirectory() as scratch:
        args = SFTConfig(  # in a scratch folder: checkpoints are not kept, the caller saves the final model
            output_dir=scratch,
            num_train_epochs=settings.epochs,
            per_device_train_batch_size=settings.batch_size,
            gradient_accumulation_steps=settings.grad_accum,
            per_device_eval_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            lr_scheduler_type=settings.lr_scheduler,
            warmup_steps=settings.warmup,
            max_length=settings.max_length,
            completion_only_loss=True,
            packing=settings.packing,
            bf16=settings.bf16,
            gradient_checkpointing=settings.gradient_checkpointing,
            **shared_args(seed, progress),
        )
        # loaded after the config, so that DeepSpeed ZeRO-3 (zero3_init_flag) partitions it while loading
        model = load_base(AutoModelForCausalLM, model_name_or_path, lora, **train_dtype(settings.bf16))
        model.train()
        trainer_class = with_row_groups(SFTTrainer, settings.micro_batch)  # forwards in groups of similar length
        trainer = quiet(trainer_class(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                                      processing_class=tokenizer, peft_config=peft_config(lora, "CAUSAL_LM"),
                                      callbacks=list(callbacks or [])), progress)
        metrics = {}
        if eval_ds is not None:
            metrics["eval_loss_before"] = trainer.evaluate()["eval_loss"]
        result = trainer.train()
        metrics["train_loss"] = result.training_loss
        if eval_ds is not None:
            metrics["eval_loss_after"] = trainer.evaluate()["eval_loss"]
        metrics["log_history"] = [h for h in trainer.state.log_history if "loss" in h]
    if lora is not None and lora.enabled:
        save_merged(trainer, model_name_or_path, AutoModelForCausalLM, tokenizer, output_dir)
        metrics["adapter"] = {"r": lora.r, "quantize_4bit": lora.quantize_4bit}
    else:
        model.eval()
        trainer.save_model(str(output_dir))  # gathers ZeRO-3 shards; writes on the main process only
    return metrics


def convert_chat(row) -> list[dict]:
    """One chat row ("messages": [{role, content}, ...]) as a prompt/completion record: the last assistant turn
    is the completion, every turn before it the prompt. A row that cannot be one raises ``RowError``."""
    from rlhf_lite.data.schema import RowError, get_field

    msgs = get_field(row, "messages", list)
    for k, m in enumerate(msgs):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise RowError("messages", f"turn {k} is not a {{role, content}} message with string values")
    last = max((i for i, m in enumerate(msgs) if m["role"] == "assistant"), default=None)
    if last is None or last == 0:
        raise RowError("messages", "no assistant turn after a prompt")
    return [{"prompt": [dict(m) for m in msgs[:last]], "completion": [dict(msgs[last])]}]


def chat_sft_records(dataset: str | Path, limit: int | None = None, split: str = "train", log=print) -> list[dict]:
    """Prompt/completion records from chat data (a hub id, or a local .jsonl/.json/.parquet file or folder)
    whose rows hold "messages" (:func:`convert_chat`). Rows that are not usable are counted and their
    reasons logged; if none is usable, the error says what the rows hold."""
    from rlhf_lite.data.rows import convert_rows, hub_rows, iter_rows

    local = Path(str(dataset)).exists()
    rows = iter_rows(dataset, split) if local else hub_rows(str(dataset), None, split)
    out, report = convert_rows(rows, convert_chat, "sft", str(dataset), limit=limit)
    if report.dropped:
        log(f"[data] {dataset}: {sum(report.dropped.values())} of {report.rows} rows skipped: "
            + "; ".join(f"{n} x {why} (e.g. {report.examples[why]})" for why, n in report.dropped.most_common()))
    if not out:
        raise ValueError(f"sft.dataset {dataset}: none of {report.rows} rows has a 'messages' list ending in an "
                         f"assistant turn after a prompt; convert it to that chat format first.")
    return out
