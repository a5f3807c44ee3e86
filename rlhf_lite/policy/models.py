"""Policies: tiny causal LMs for the lite world, and loading any model by path or hub id.

Lite and full mode share one entry point, :func:`load_policy`, which calls
``AutoModelForCausalLM.from_pretrained`` on whatever it is given: a local folder written by
:func:`build_tiny_policy` in lite mode, a Hugging Face model id in full mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from rlhf_lite.devices import inference_placement

# Every model the book loads is read from safetensors only: a pickled .bin checkpoint (a hub repository's,
# or one dropped into runs/) can run code when it is unpickled. Remote code stays off (transformers'
# default; nothing here turns it on). tests/test_safe_loading.py checks both.
SAFE_WEIGHTS = {"use_safetensors": True}


@dataclass(frozen=True)
class TinyModelConfig:
    """The shape of a from-scratch LLaMA-architecture policy (the paper uses LLaMA-3-8B)."""

    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 256
    max_position_embeddings: int = 64

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"TinyModelConfig: hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})."
            )


def build_tiny_policy(tokenizer, size: TinyModelConfig, seed: int) -> LlamaForCausalLM:
    """A randomly initialised LLaMA-architecture causal LM sized for 2 CPU cores."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_hidden_layers,
        num_attention_heads=size.num_attention_heads,
        num_key_value_heads=size.num_attention_heads,
        intermediate_size=size.intermediate_size,
        max_position_embeddings=size.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    # Sample from the full distribution: the paper's temperatures are meaningless under top-k.
    model.generation_config.top_k = None
    model.generation_config.top_p = None
    model.generation_config.do_sample = True
    return model


def num_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def save_policy(model, tokenizer, path: str | Path) -> Path:
    """Save weights (safetensors), config and tokenizer side by side, as on the hub."""
    path = Path(path)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def load_policy(name_or_path: str | Path, dtype: torch.dtype | None = None):
    """Load (model, tokenizer) for sampling or scoring, from a local folder or a Hugging Face id: the same
    call in both modes. On a GPU the model goes there, in bfloat16 unless ``dtype`` says otherwise."""
    name = str(name_or_path)
    if Path(name).is_absolute() and not Path(name).exists():
        raise FileNotFoundError(
            f"no policy at {name}: build it first (rlhf_lite.stages.prepare_pi0) or pass a hub id."
        )
    tokenizer = load_tokenizer(name)
    device, default = inference_placement()
    model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype or default, **SAFE_WEIGHTS).to(device)
    model.eval()
    return model, tokenizer


def load_tokenizer(name_or_path: str | Path):
    """The policy's tokenizer, with a pad token (many hub chat models ship without one), padding left."""
    tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer
