"""Trainer plumbing that SFT, the reward model, the preference model and DPO share.

The arguments every TRL config of the book sets the same way, the dtype a model is loaded in for
training, and ``quiet``, through which every trainer passes. Why our own code: TRL's configs have no
shared base that one could fill once; this module is where the book's choices for all of them live.
"""

from __future__ import annotations

from rlhf_lite.devices import has_accelerator


def shared_args(seed: int, progress: bool) -> dict:
    """Keyword arguments every TRL config of the book takes: log every 10 steps, keep no checkpoint (the
    stage saves its final model itself), report to nothing, the run's seed, a progress bar only when asked
    for, and the CPU when there is no GPU."""
    return {"logging_steps": 10, "save_strategy": "no", "report_to": [], "seed": seed,
            "disable_tqdm": not progress, "use_cpu": not has_accelerator()}


def quiet(trainer, progress: bool):
    """With ``progress`` off, TrainingArguments(disable_tqdm=True) swaps the bar for a PrinterCallback
    that prints every log dict instead; remove it too, so quiet means quiet. Returns the trainer.

    Every trainer the book trains passes through here (the chapters' hand-built ones too), so this is
    also where $RLHF_LITE_FORBID_TRAINING=1 stops one as it starts training: the test that a cached rerun
    of every chapter trains nothing sets it."""
    import os

    if os.environ.get("RLHF_LITE_FORBID_TRAINING") == "1":
        trainer.add_callback(_forbid_training())
    if not progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    return trainer


def _forbid_training():
    from transformers import TrainerCallback

    class ForbidTraining(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            raise RuntimeError("a trainer started training, but RLHF_LITE_FORBID_TRAINING=1 says every stage should "
                               "come from the cache in runs/: some stage is not cached, or its cache key changed.")

    return ForbidTraining()


def train_dtype(bf16: bool) -> dict:
    """from_pretrained's dtype for full-parameter training: bfloat16 when the stage trains in bf16 (as
    TRL's recipes load 8B models), else float32. Under QLoRA, rlhf_lite.policy.lora sets it instead."""
    import torch

    return {"dtype": torch.bfloat16 if bf16 else torch.float32}
