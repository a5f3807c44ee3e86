"""LoRA and QLoRA for every training stage: adapters by PEFT on a base that bitsandbytes may hold in 4 bits.

With ``LoraSettings(enabled=True)`` SFT, the reward model, the preference model and DPO train a LoRA
adapter instead of all weights; with ``quantize_4bit=True`` the frozen base is loaded in 4-bit NF4 with
double quantisation (QLoRA, Dettmers et al. 2023), which is how the paper's 8B recipe fits on one 24 GB
GPU (the scaling-up chapter). The same code runs on the CPU here: bitsandbytes' 4-bit kernels have a CPU
path, and the tests train tiny QLoRA models with it.

Every stage still writes an ordinary full checkpoint, the adapter merged into the full-precision base,
so that sampling, scoring and the next stage load it with ``from_pretrained`` as in full training; the
adapter itself is kept in ``<output>/adapter``. (Merging into the unquantised base is the usual QLoRA
hand-off; the merged model differs from the 4-bit one it was trained on by the quantisation error.)

DPO is the stage where adapters need care: see :func:`rlhf_lite.policy.dpo.train_dpo`.

Why our own code: PEFT and bitsandbytes do the work; this module only turns one settings object into
their configs and performs the save-merge hand-off between stages, which no library does for us.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from rlhf_lite.policy.models import SAFE_WEIGHTS


@dataclass(frozen=True)
class LoraSettings:
    """Adapters for all training stages. Off by default (the lite book trains every weight)."""

    enabled: bool = False
    quantize_4bit: bool = False  # QLoRA: NF4 base with double quantisation (bitsandbytes)
    # Of the 4-bit matmuls and the unquantised modules. bfloat16 as in the QLoRA paper, also on the CPU:
    # TRL casts the trainable weights to bfloat16 under QLoRA, and a float32 body then fails at the score head.
    compute_dtype: str = "bfloat16"
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | tuple = "all-linear"  # PEFT's shorthand: every linear layer but the output head

    def __post_init__(self):
        if self.quantize_4bit and not self.enabled:
            raise ValueError("lora.quantize_4bit needs lora.enabled: a 4-bit base can only be trained through "
                             "adapters (set lora.enabled: true).")
        if self.r < 1 or self.alpha <= 0:
            raise ValueError(f"lora: r must be >= 1 and alpha > 0, got r={self.r}, alpha={self.alpha}.")
        if self.compute_dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"lora.compute_dtype must be float32, bfloat16 or float16, got {self.compute_dtype!r}.")

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.compute_dtype)


def quantization_config(lora: LoraSettings | None):
    """bitsandbytes' 4-bit NF4 config for QLoRA, or None for a full-precision base."""
    if lora is None or not lora.quantize_4bit:
        return None
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=lora.dtype)


def peft_config(lora: LoraSettings | None, task_type: str):
    """PEFT's LoraConfig for a trainer's ``peft_config=`` ("CAUSAL_LM", or "SEQ_CLS", which also trains the
    new score head in full), or None when adapters are off."""
    if lora is None or not lora.enabled:
        return None
    from peft import LoraConfig

    target = lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules)
    return LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=target,
                      task_type=task_type)


def load_base(auto_cls, path: str | Path, lora: LoraSettings | None, **kwargs):
    """``auto_cls.from_pretrained(path)``, under QLoRA in 4 bits with the other modules in the compute
    dtype. (Not through PEFT's prepare_model_for_kbit_training, which TRL 1.16 does not use either: it
    casts norms to float32, and without autocast that breaks the bfloat16 score head.)"""
    q = quantization_config(lora)
    if q is None:
        return auto_cls.from_pretrained(str(path), **SAFE_WEIGHTS, **kwargs)
    kwargs.pop("dtype", None)  # QLoRA's compute dtype decides
    return auto_cls.from_pretrained(str(path), quantization_config=q, dtype=lora.dtype, **SAFE_WEIGHTS, **kwargs)


def save_merged(trainer, base: str | Path, auto_cls, tokenizer, output_dir: str | Path, **kwargs) -> Path:
    """Save the trainer's adapter to ``output_dir/adapter``, then (main process) the adapter merged into the
    full-precision ``base`` as an ordinary checkpoint in ``output_dir``. Returns ``output_dir``."""
    from peft import PeftModel

    from rlhf_lite.io import is_main_process

    out = Path(output_dir)
    trainer.save_model(str(out / "adapter"))  # collective under DeepSpeed; writes on the main process
    if not is_main_process():
        return out
    full = auto_cls.from_pretrained(str(base), **SAFE_WEIGHTS, **kwargs)
    merged = PeftModel.from_pretrained(full, str(out / "adapter")).merge_and_unload()
    merged.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def adapter_of(policy: str | Path) -> Path | None:
    """The LoRA adapter a stage saved beside its merged checkpoint, if any."""
    p = Path(policy) / "adapter"
    return p if (p / "adapter_config.json").exists() else None
