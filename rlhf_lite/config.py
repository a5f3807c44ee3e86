"""One configuration object for every chapter, with named presets and YAML recipes.

``Config.preset("ci")`` is small enough for the test suite, ``"book"`` gives the book's
results on 2 CPU cores. A YAML recipe (``recipes/``) holds the same fields, nested the same
way, so ``load_recipe("recipes/lite/book.yaml") == Config.preset("book")`` (a test checks it).
Full mode differs only in values: ``policy`` becomes a hub id instead of ``"lite"``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlhf_lite.policy.dpo_settings import DPOSettings
from rlhf_lite.policy.lora import LoraSettings
from rlhf_lite.policy.models import TinyModelConfig
from rlhf_lite.policy.sft import SFTSettings
from rlhf_lite.reward.settings import RewardSettings
from rlhf_lite.world.tasks import WorldConfig


@dataclass(frozen=True)
class SamplingSettings:
    n: int = 8
    temperatures: tuple[float, ...] = (1.0, 0.7)
    max_new_tokens: int = 24
    batch_size: int = 128  # prompts per model.generate call (the "hf" backend)
    backend: str = "hf"  # "hf": batched transformers (CPU or GPU); "vllm": rlhf_lite.policy.vllm_backend (GPUs)
    tensor_parallel: int = 1  # vllm: GPUs per model replica
    data_parallel: int = 1  # vllm: replicas, each given its own shard of the prompts
    prompt_length: int = 16  # typical prompt tokens, for the memory plan (rlhf_lite.scale.memory)


@dataclass(frozen=True)
class DataSettings:
    """Chapter 3: the lite preference sources and the online prompt set."""

    # "lite": the lite world's twins of the Table 5 datasets, written locally. "hub": the real datasets of
    # recipes/data/mix{1,2}.yaml, read by id, or from local copies in their native formats (local_paths).
    source: str = "lite"
    local_paths: dict | None = None  # hub mode: source name -> local file or folder (e.g. a mirror)
    scale: float = 1.0  # multiplies every lite source's number of prompts
    iterations: int = 3  # the online prompt set is split into this many disjoint subsets ...
    prompts_per_iteration: int = 1000  # ... of this size (paper: 3 x 20K)


@dataclass(frozen=True)
class PreferenceSettings:
    """The pairwise preference model's SFT (the paper: packing, block 3072, lr 5e-6, 1 epoch)."""

    # Lite: at lr 1e-3 for 1 epoch the label loss never left a coin flip's (the model learnt nothing, not even
    # length); at the BT model's 3e-4 it trains. The learning rate stays constant after warm-up, so the model
    # after epoch k of chapter 4's learning curve is the model trained for k epochs.
    epochs: float = 3.0
    learning_rate: float = 3e-4
    batch_size: int = 64  # per device
    grad_accum: int = 1  # global batch = batch_size x grad_accum x GPUs
    warmup: float = 0.03
    lr_scheduler: str = "constant_with_warmup"
    max_length: int = 96  # the formatted pair holds the prompt and both responses
    packing: bool = False  # the paper packs the formatted pairs into 3072-token blocks
    bf16: bool = False
    gradient_checkpointing: bool = False
    micro_batch: int | None = 32  # rows per forward, grouped by length (SFTSettings.micro_batch)
    # how a pair is shown (rlhf_lite.reward.preference.FORMATS): "markers", the authors' released format, or "own",
    # each answer after its own copy of the prompt as pi_0 read answers in SFT (issue 41's first factor)
    format: str = "markers"

    def __post_init__(self):
        if self.format not in ("markers", "own", "own-last"):
            raise ValueError(f"preference.format {self.format!r}: use 'markers' (the authors' format), 'own' (each "
                             f"answer after its own prompt) or 'own-last' (the same, one marker after both).")

    def to_sft(self) -> SFTSettings:
        return SFTSettings(num_demos=0, epochs=self.epochs, learning_rate=self.learning_rate,
                           batch_size=self.batch_size, grad_accum=self.grad_accum, warmup=self.warmup,
                           lr_scheduler=self.lr_scheduler, max_length=self.max_length, packing=self.packing, bf16=self.bf16,
                           gradient_checkpointing=self.gradient_checkpointing, micro_batch=self.micro_batch)


@dataclass(frozen=True)
class RewardEvalSettings:
    """Chapters 4-5: how much evaluation data to draw."""

    bench_per_category: int = 500  # lite RewardBench pairs per category (95% interval about ±4 points)
    bias_prompts: int = 300  # length-bias heatmap: prompts (the paper: 2K) ...
    bias_n: int = 8  # ... and pi_0 samples per prompt (the paper: 8; 16 in Figure 3's caption)


@dataclass(frozen=True)
class TheorySettings:
    """The theory chapter's tabular bandit and its online-vs-offline experiment (rlhf_lite.theory.bandit)."""

    prompts: int = 8
    responses: int = 10
    eta: float = 0.5
    reward_scale: float = 4.0
    best_gap: float = 2.0  # how far the rare best response sits above the rest
    seeds: int = 5  # independent bandits and runs, for the error bars
    iterations: int = 12
    batch: int = 400  # oracle queries per iteration (the paper's m)
    best_of: int = 8  # n of best-of-n / worst-of-n
    l2: float = 1.0  # ridge of the regularised DPO/MLE fit, in pseudo-pairs
    bonus: float = 3.0  # the tabular enhancer's optimism


@dataclass(frozen=True)
class OnlineSettings:
    """The iterative DPO chapter's loop (rlhf_lite.online.loop) and how it is evaluated."""

    iterations: int = 3  # T (the paper: 3), at most data.iterations prompt subsets
    # A chapter-3 model ranking the samples (the paper: its BT reward model), the folder / hub id of a
    # trained one, of kind judge_kind ("bt" reward model or "pm" preference model), or "gold": the lite
    # world's true reward r* itself, the ceiling a perfect reward model would reach.
    judge: str = "bt-mix2"
    judge_kind: str = "bt"
    rule: str = "best-worst"  # pair rule of rlhf_lite.online.pairs (the paper: best vs worst of n)
    length_penalty: float = 0.0  # lambda per character of eq. 9 (the paper's concise model: 0.001)
    # What each DPO round trains on. "all": D_off U D_1..D_t, Algorithm 2 as written. "new": D_t alone,
    # from the last iterate, so pi_t has seen D_off, D_1, ..., D_t once each, in order: the shortcut of
    # the paper's runs (Section 3.3; RLHFlow/Online-RLHF issue #5), about half the DPO cost at T = 3.
    history: str = "all"
    # The reference of every DPO round: "pi0", Algorithm 2 and what the maintainers say (RLHFlow/Online-RLHF
    # issue #18), or "previous": the last iterate, what the repository's loop scripts actually pass.
    reference: str = "pi0"
    # Where pi^2_t's half of the n samples comes from (Algorithm 2, line 4): "current", the policy pi_{t-1} like
    # pi^1_t (the paper: the two differ by their sampling temperature only), or "previous": pi_{t-2}, two checkpoints
    # of one run as pi^1 and pi^2 (an exploration heuristic the paper lists; pi_0 in round 2, round 1 unchanged).
    pi2: str = "current"
    offline_pairs: int = 0  # |D_off|, curated MIX2 pairs trained on before D_1 (the paper: none, Figure 4)
    # After the last of the data.iterations prompt subsets, iteration t takes subset ((t - 1) mod data.iterations) + 1
    # again, with fresh samples from the current policy (a finite prompt pool run for more rounds). Off: the loop
    # refuses more iterations than subsets. Iterations 1..T do not depend on T or on this setting, so a longer
    # loop continues a shorter one in the same folder (rlhf_lite.online.loop.online_root).
    reuse_prompts: bool = False
    seeds: int = 3  # loop seeds per variant in the chapter, for the error bars
    eval_n: int = 2  # samples per held-out prompt for the evaluation (the seeds, not the samples, set the intervals)
    validation_prompts: int = 200  # for choosing the output iterate


@dataclass(frozen=True)
class Config:
    profile: str = "book"
    seed: int = 0
    # "lite": build the tiny world's policy from scratch; anything else is a local folder or a
    # Hugging Face id passed to from_pretrained.
    policy: str = "lite"
    world: WorldConfig = field(default_factory=WorldConfig)
    model: TinyModelConfig = field(default_factory=TinyModelConfig)
    sft: SFTSettings = field(default_factory=SFTSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    data: DataSettings = field(default_factory=DataSettings)
    reward: RewardSettings = field(default_factory=RewardSettings)
    preference: PreferenceSettings = field(default_factory=PreferenceSettings)
    reward_eval: RewardEvalSettings = field(default_factory=RewardEvalSettings)
    theory: TheorySettings = field(default_factory=TheorySettings)
    dpo: DPOSettings = field(default_factory=DPOSettings)
    online: OnlineSettings = field(default_factory=OnlineSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)  # (Q)LoRA for every training stage
    eval_prompts: int = 500

    @staticmethod
    def preset(name: str, **overrides) -> "Config":
        if name not in PRESETS:
            raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PRESETS)}.")
        return with_overrides(PRESETS[name], overrides) if overrides else PRESETS[name]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PRESETS: dict[str, Config] = {
    "ci": Config(
        profile="ci",
        model=TinyModelConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128),
        sft=SFTSettings(num_demos=6_000, epochs=2.0, batch_size=64),
        sampling=SamplingSettings(n=4),
        data=DataSettings(scale=0.25, prompts_per_iteration=200),
        reward_eval=RewardEvalSettings(bench_per_category=100, bias_prompts=80, bias_n=6),
        theory=TheorySettings(seeds=2, iterations=4, batch=100),
        online=OnlineSettings(iterations=2, seeds=2, eval_n=2, validation_prompts=60),
        eval_prompts=120,
    ),
    "book": Config(profile="book"),
}


def _build(cls, values: dict, where: str):
    """Instantiate a (nested) dataclass from a dict, rejecting unknown keys with their path."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(names)}.")
    kwargs = {}
    for key, value in values.items():
        default = getattr(cls(), key) if _all_defaults(cls) else None
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            kwargs[key] = _build(type(default), value, f"{where}.{key}")
        elif isinstance(default, tuple) and isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def _all_defaults(cls) -> bool:
    return all(
        f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        for f in dataclasses.fields(cls)
    )


def with_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """Apply dotted overrides, e.g. {"sft.epochs": 2, "seed": 1}, returning a new Config."""
    data = cfg.to_dict()
    for dotted, value in overrides.items():
        node = data
        keys = dotted.split(".")
        for k in keys[:-1]:
            if k not in node or not isinstance(node[k], dict):
                raise ValueError(f"override {dotted!r}: {k!r} is not a section of the config.")
            node = node[k]
        if keys[-1] not in node:
            raise ValueError(f"override {dotted!r}: no field {keys[-1]!r}; allowed: {sorted(node)}.")
        node[keys[-1]] = value
    return _build(Config, data, "config")


def load_recipe(path: str | Path, **overrides) -> Config:
    """Read a YAML recipe: optional ``base:`` (a preset name, or another recipe's file relative to this
    one) plus any fields to change."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e}).") from e
    base = data.pop("base", None)
    if isinstance(base, str) and base.endswith((".yaml", ".yml")):  # another recipe, relative to this one
        cfg = load_recipe(path.parent / base)
    else:
        cfg = Config.preset(base) if base else Config()
    flat = dict(_flatten(data))
    flat.update(overrides)
    try:
        return with_overrides(cfg, flat)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e


def _flatten(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("family_weights", "local_paths"):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v
