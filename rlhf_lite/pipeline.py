"""The foundation stages, cached on disk: tokenizer, random-init policy, SFT data, pi_0.

``prepare_pi0(cfg)`` returns the folders every later chapter starts from. Each stage is
keyed by the config values it depends on and by the package's code, written atomically, and
skipped when already complete, so rerunning after a crash resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from . import world
from .config import Config
from .io import atomic_dir, code_fingerprint, fingerprint, read_jsonl, runs_dir, write_json, write_jsonl
from .models import build_tiny_policy, save_policy
from .sft import train_sft
from .tokenizer import build_tokenizer


@dataclass(frozen=True)
class Pi0Artifacts:
    root: Path
    init: Path | str  # the random-init policy (lite) or the base model's folder or hub id (full)
    pi0: Path  # the SFT policy
    sft_train: Path
    sft_eval: Path
    metrics: dict


def stage_dir(cfg: Config) -> Path:
    key = fingerprint({"world": cfg.world, "model": cfg.model, "sft": cfg.sft, "seed": cfg.seed,
                       "policy": cfg.policy, "code": code_fingerprint()})
    return runs_dir() / f"{cfg.profile}-{key}"


def prepare_pi0(cfg: Config, progress: bool = True, log=print) -> Pi0Artifacts:
    root = stage_dir(cfg)
    init, pi0 = root / "pi_init", root / "pi0"
    train_path, eval_path = root / "data" / "sft_train.jsonl", root / "data" / "sft_eval.jsonl"

    if not (train_path.exists() and eval_path.exists()):
        log(f"[data] {cfg.sft.num_demos} imperfect demonstrations -> {train_path.parent}")
        write_jsonl(train_path, world.sft_records(cfg.sft.num_demos, cfg.world, seed=cfg.seed))
        write_jsonl(eval_path, world.sft_records(max(200, cfg.sft.num_demos // 20), cfg.world, seed=cfg.seed + 1))

    if cfg.policy == "lite":
        if not (init / "config.json").exists():
            log(f"[init] random LLaMA-architecture policy {dataclasses.asdict(cfg.model)} -> {init}")
            tok = build_tokenizer()
            with atomic_dir(init) as tmp:
                save_policy(build_tiny_policy(tok, cfg.model, seed=cfg.seed), tok, tmp)
        base = init
    else:
        base = Path(cfg.policy) if Path(cfg.policy).exists() else cfg.policy

    metrics_path = root / "sft_metrics.json"
    if not (pi0 / "config.json").exists() or not metrics_path.exists():
        log(f"[sft] TRL SFTTrainer on {cfg.sft.num_demos} demonstrations -> {pi0}")
        with atomic_dir(pi0) as tmp:
            metrics = train_sft(base, read_jsonl(train_path), tmp, cfg.sft,
                                eval_records=read_jsonl(eval_path), seed=cfg.seed, progress=progress)
        write_json(metrics_path, metrics)
    else:
        log(f"[sft] cached: {pi0}")
    metrics = json.loads(metrics_path.read_text())
    return Pi0Artifacts(root, base, pi0, train_path, eval_path, metrics)
