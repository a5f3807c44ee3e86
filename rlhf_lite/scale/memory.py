"""How much GPU memory each stage of a recipe needs, and whether it fits: the scaling-up chapter's planner.

Per GPU, a training stage holds (bytes; Psi = parameters of the model, Psi_L = LoRA parameters):

- model states, the accounting of the ZeRO paper (Rajbhandari et al. 2020, Section 3.1): mixed-precision
  AdamW keeps 16-bit weights (2 Psi), 16-bit gradients (2 Psi) and float32 master weights, momentum and
  variance (K Psi, K = 12). ZeRO-1 shards the optimiser states over N GPUs (4 Psi + 12 Psi / N), ZeRO-2
  also the gradients (2 Psi + 14 Psi / N), ZeRO-3 also the weights (16 Psi / N);
- under LoRA, the frozen base in 16 bits (2 Psi) or, under QLoRA, in 4-bit NF4 with double quantisation,
  4 + 0.127 bits per quantised weight (Dettmers et al. 2023, Section 3), plus per LoRA parameter 16 bytes
  (float32 weight, gradient and two Adam moments) or, under QLoRA, 12 (TRL keeps QLoRA adapters in bfloat16);
- activations: with gradient checkpointing, each layer's input, 2 s b h bytes per layer (Korthikanti et
  al. 2022, Section 5), plus one layer recomputed in full during the backward pass, 34 s b h bytes
  (their eq. 1 without the attention-score term, which fused attention kernels do not store), plus the
  float32 logits, 4 s b V; without checkpointing, 34 s b h per layer;
- DPO's reference: another copy of the 16-bit weights (sharded under ZeRO-3), nothing when its log-probs
  are precomputed (``dpo.precompute_ref_log_probs``), nothing under LoRA (the base, adapter disabled);
- a fixed allowance for the CUDA context and allocator fragmentation (``overhead_gb``).

Generation holds the 16-bit weights, split over the tensor-parallel GPUs, and a KV cache of
2 L h_kv d_head 2 bytes per token; the planner says how many sequences of prompt + max_new_tokens fit.

These are estimates of the peak, good to about 20% (a test compares them with the published figures);
the only real test is a run, so the CLI warns instead of refusing.

Why our own code: accelerate's ``estimate-memory`` counts weights and Adam states of a hub model but not
activations, LoRA/QLoRA, ZeRO sharding, or DPO's reference model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

GB = 1e9  # the ZeRO and QLoRA papers' gigabytes
NF4_DQ_BITS = 4 + 8 / 64 + 32 / (64 * 256)  # 4-bit weights + double-quantised constants (QLoRA, Section 3)


@dataclass(frozen=True)
class ModelShape:
    """The numbers the estimate needs from a decoder-only transformer's config."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied_embeddings: bool = False

    @property
    def params(self) -> int:
        h, d = self.hidden, self.hidden // self.heads
        attn = h * h * 2 + 2 * h * self.kv_heads * d  # q and o, k and v (grouped-query)
        per_layer = attn + 3 * h * self.intermediate + 2 * h  # SwiGLU MLP, two RMSNorms
        emb = self.vocab * h * (1 if self.tied_embeddings else 2)
        return self.layers * per_layer + emb + h

    @property
    def linear_params(self) -> int:
        """Weights of the layers' linear modules: what QLoRA quantises and LoRA attaches to."""
        h, d = self.hidden, self.hidden // self.heads
        return self.layers * (h * h * 2 + 2 * h * self.kv_heads * d + 3 * h * self.intermediate)

    def lora_params(self, r: int) -> int:
        """LoRA on every linear module of every layer ("all-linear"): r (d_in + d_out) each."""
        h, d, f = self.hidden, self.hidden // self.heads, self.intermediate
        per_layer = r * ((h + h) * 2 + 2 * (h + self.kv_heads * d) + 2 * (h + f) + (f + h))
        return self.layers * per_layer

    @classmethod
    def from_hf_config(cls, c) -> "ModelShape":
        return cls(hidden=c.hidden_size, layers=c.num_hidden_layers, heads=c.num_attention_heads,
                   kv_heads=getattr(c, "num_key_value_heads", None) or c.num_attention_heads,
                   intermediate=c.intermediate_size, vocab=c.vocab_size,
                   tied_embeddings=bool(getattr(c, "tie_word_embeddings", False)))


# Shapes of the models the recipes and the tests name, so planning needs no download.
KNOWN_SHAPES = {
    "meta-llama/Meta-Llama-3-8B": ModelShape(4096, 32, 32, 8, 14336, 128256),
    "meta-llama/Meta-Llama-3-8B-Instruct": ModelShape(4096, 32, 32, 8, 14336, 128256),
    "RLHFlow/LLaMA3-SFT": ModelShape(4096, 32, 32, 8, 14336, 128256),
    "huggyllama/llama-7b": ModelShape(4096, 32, 32, 32, 11008, 32000),
    "huggyllama/llama-13b": ModelShape(5120, 40, 40, 40, 13824, 32000),
    "huggyllama/llama-30b": ModelShape(6656, 60, 52, 52, 17920, 32000),
    "huggyllama/llama-65b": ModelShape(8192, 80, 64, 64, 22016, 32000),
}


def shape_of(policy: str, lite_model=None, vocab: int | None = None) -> ModelShape:
    """The shape of ``cfg.policy``: the lite model's, a known hub model's, or read with AutoConfig."""
    if policy == "lite":
        m = lite_model
        return ModelShape(m.hidden_size, m.num_hidden_layers, m.num_attention_heads, m.num_attention_heads,
                          m.intermediate_size, vocab or 64, tied_embeddings=True)
    if policy in KNOWN_SHAPES:
        return KNOWN_SHAPES[policy]
    from transformers import AutoConfig

    try:
        return ModelShape.from_hf_config(AutoConfig.from_pretrained(policy))
    except OSError as e:
        raise ValueError(f"cannot read the config of {policy!r} to plan memory ({e}); use a local folder, a "
                         f"connected machine, or one of {sorted(KNOWN_SHAPES)}.") from e


def model_state_bytes(params: float, zero_stage: int = 0, gpus: int = 1, k: int = 12) -> float:
    """Per-GPU bytes of weights, gradients and optimiser states of full mixed-precision training."""
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0 (DDP), 1, 2 or 3, got {zero_stage}.")
    if gpus < 1:
        raise ValueError(f"gpus must be >= 1, got {gpus}.")
    weights, grads, opt = 2 * params, 2 * params, k * params
    if zero_stage >= 1:
        opt /= gpus
    if zero_stage >= 2:
        grads /= gpus
    if zero_stage >= 3:
        weights /= gpus
    return weights + grads + opt


@dataclass(frozen=True)
class StagePlan:
    stage: str
    weights: float  # GB per GPU, here and below
    trainable: float  # gradients + optimiser states (+ LoRA weights)
    activations: float
    reference: float
    overhead: float
    note: str = ""

    @property
    def total(self) -> float:
        return self.weights + self.trainable + self.activations + self.reference + self.overhead

    def fits(self, gpu_gb: float) -> bool:
        return self.total <= gpu_gb


def plan_training(shape: ModelShape, stage: str, *, seq_len: int, micro_batch: int, lora=None,
                  zero_stage: int = 0, gpus: int = 1, gradient_checkpointing: bool = True,
                  reference: str = "none", overhead_gb: float = 1.0) -> StagePlan:
    """Peak memory per GPU of one training stage ("SFT", "reward model", "preference model" or "DPO").
    ``reference``: "none" (SFT, reward models), "model" (DPO with a reference copy), "precomputed" (DPO
    with reference log-probs computed beforehand)."""
    if reference not in ("none", "model", "precomputed"):
        raise ValueError(f"reference must be 'none', 'model' or 'precomputed', got {reference!r}.")
    p = shape.params
    if lora is not None and lora.enabled:
        other = p - shape.linear_params
        base = (shape.linear_params * NF4_DQ_BITS / 8 + 2 * other) if lora.quantize_4bit else 2 * p
        weights, trainable = base, (12 if lora.quantize_4bit else 16) * shape.lora_params(lora.r)
        ref = 0.0  # the reference is the base with the adapter disabled
        note = ("QLoRA" if lora.quantize_4bit else "LoRA") + f" r={lora.r}"
    else:
        states = model_state_bytes(p, zero_stage, gpus)
        weights = 2 * p / (gpus if zero_stage >= 3 else 1)
        trainable = states - weights
        ref = {"none": 0.0, "precomputed": 0.0, "model": weights}[reference]
        note = f"full, ZeRO-{zero_stage} over {gpus} GPU(s)" if zero_stage else f"full, {gpus} GPU(s), no sharding"
    # DPO and the reward model (TRL's RewardTrainer) run chosen and rejected through the model together
    sequences = micro_batch * (2 if reference != "none" or stage == "reward model" else 1)
    s, b, h = seq_len, sequences, shape.hidden
    if gradient_checkpointing:
        acts = 2 * s * b * h * shape.layers + 34 * s * b * h
    else:
        acts = 34 * s * b * h * shape.layers
    acts += 4 * s * b * shape.vocab if stage not in ("reward model",) else 0
    return StagePlan(stage, weights / GB, trainable / GB, acts / GB, ref / GB, overhead_gb, note)


def plan_generation(shape: ModelShape, *, prompt_len: int, max_new_tokens: int, gpu_gb: float,
                    tensor_parallel: int = 1, memory_fraction: float = 0.9, overhead_gb: float = 1.0) -> dict:
    """vLLM's budget on each GPU: 16-bit weights / TP, and the rest (of ``memory_fraction``) as KV cache."""
    d = shape.hidden // shape.heads
    weights = 2 * shape.params / tensor_parallel / GB
    kv_per_token = 2 * shape.layers * shape.kv_heads * d * 2 / tensor_parallel / GB
    free = gpu_gb * memory_fraction - weights - overhead_gb
    per_seq = kv_per_token * (prompt_len + max_new_tokens)
    return {"weights": weights, "kv_per_sequence": per_seq, "kv_budget": max(free, 0.0),
            "sequences": int(max(free, 0.0) // per_seq), "fits": free > per_seq}


def plan_config(cfg, gpu_gb: float, gpus: int = 1, zero_stage: int = 0, micro_batch: int | None = None) -> list:
    """The plan of every stage of a recipe (rlhf_lite.config.Config) on ``gpus`` GPUs of ``gpu_gb`` each."""
    from rlhf_lite.world.tokenizer import build_tokenizer

    vocab = len(build_tokenizer()) if cfg.policy == "lite" else None
    shape = shape_of(cfg.policy, cfg.model, vocab)
    common = dict(lora=cfg.lora, zero_stage=zero_stage, gpus=gpus)
    rows = []
    for stage, s, ref in (("SFT", cfg.sft, "none"), ("reward model", cfg.reward, "none"),
                          ("preference model", cfg.preference.to_sft(), "none"),
                          ("DPO", cfg.dpo, "precomputed" if cfg.dpo.precompute_ref_log_probs else "model")):
        rows.append(plan_training(shape, stage, seq_len=s.max_length, micro_batch=micro_batch or s.batch_size,
                                  gradient_checkpointing=getattr(s, "gradient_checkpointing", False),
                                  reference=ref, **common))
    gen = plan_generation(shape, prompt_len=cfg.sampling.prompt_length, max_new_tokens=cfg.sampling.max_new_tokens,
                          gpu_gb=gpu_gb, tensor_parallel=cfg.sampling.tensor_parallel)
    return rows + [gen]


def plan_table(rows, gpu_gb: float) -> list[dict]:
    """Rows for printing: stage, GB of each part, total, and whether it fits in ``gpu_gb``."""
    out = []
    for r in rows:
        if isinstance(r, StagePlan):
            d = {k: round(v, 2) for k, v in dataclasses.asdict(r).items() if isinstance(v, float)}
            out.append({"stage": r.stage, **d, "total": round(r.total, 2), "fits": r.fits(gpu_gb), "setup": r.note})
        else:
            out.append({"stage": "generation (vLLM)", "weights": round(r["weights"], 2),
                        "kv cache": round(r["kv_budget"], 2), "total": round(r["weights"] + r["kv_budget"], 2),
                        "fits": r["fits"], "setup": f"{r['sequences']} sequences in the KV cache"})
    return out


# Published memory figures the planner is checked against, with their sources: the ZeRO paper's model states of a
# 7.5B model on 64 GPUs (Rajbhandari et al. 2020, Figure 1), the QLoRA paper's 4-bit LLaMA sizes (Dettmers et al.
# 2023, Section 2 and Table 6; the paper's "33B" is the checkpoint published as "30b") and its 65B fine-tune.
ZERO_FIGURE1 = ((0, "DDP", 120.0), (1, "ZeRO-1 (P_os)", 31.4), (2, "ZeRO-2 (P_os+g)", 16.6), (3, "ZeRO-3 (P_os+g+p)", 1.9))
QLORA_SIZES = (("7B", "huggyllama/llama-7b", 5.048), ("13B", "huggyllama/llama-13b", 10.0),
               ("33B", "huggyllama/llama-30b", 21.0), ("65B", "huggyllama/llama-65b", 41.0))
QLORA_65B_FINETUNE_GB = 48.0  # "from >780GB of GPU memory to <48GB" (Section 1)


def published_checks(lora) -> list[dict]:
    """Each published figure beside the planner's number for it: {"figure", "published GB", "planner GB"}. ``lora``:
    the QLoRA paper's adapters (4-bit, r = 64) for its rows. The ZeRO rows are the same arithmetic (equal to
    rounding); the QLoRA sizes are measured on a GPU, which the planner promises to within 20%."""
    rows = [{"figure": f"ZeRO Fig. 1: {'7.5B, 64 GPUs, ' if stage == 0 else ''}{what}", "published GB": gb,
             "planner GB": model_state_bytes(7.5e9, stage, 64) / GB} for stage, what, gb in ZERO_FIGURE1]
    for size, name, gb in QLORA_SIZES:
        p = plan_training(KNOWN_SHAPES[name], "SFT", seq_len=512, micro_batch=1, lora=lora)
        rows.append({"figure": f"QLoRA: 4-bit {size} model", "published GB": gb, "planner GB": p.weights + p.overhead})
    p65 = plan_training(KNOWN_SHAPES["huggyllama/llama-65b"], "SFT", seq_len=512, micro_batch=1, lora=lora)
    rows.append({"figure": f"QLoRA: fine-tune 65B (< {QLORA_65B_FINETUNE_GB:.0f})", "published GB": QLORA_65B_FINETUNE_GB,
                 "planner GB": p65.total})
    return rows
