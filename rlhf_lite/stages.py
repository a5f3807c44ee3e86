"""The foundation stages, cached on disk: tokenizer, random-init policy, SFT data, pi_0.

``prepare_pi0(cfg)`` returns the folders every later chapter starts from. Each stage is
keyed by the config values it depends on and by the code it runs (io.stage_code), written atomically, and
skipped when already complete, so rerunning after a crash resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from rlhf_lite import world
from rlhf_lite.config import Config
# chapter 3's stage lives in data_stage; the chapters and the loop import it from here with the others
from rlhf_lite.data_stage import (DATA_CODE, PreferenceArtifacts, data_stage_dir, eval_prompts,  # noqa: F401
                                  held_out_prompts, prepare_preference_data, validation_prompts, without_held_out)
from rlhf_lite.io import (atomic_dir, exclusive, fingerprint, intact, main_writes, read_jsonl, runs_dir, stage_code,
                          write_json, write_jsonl)
from rlhf_lite.policy.models import build_tiny_policy, save_policy
from rlhf_lite.policy.sft import train_sft
from rlhf_lite.devices import machine
from rlhf_lite.reward.pm_study import STUDY_MODELS, epoch_probes, small_config, study_config, subsample
from rlhf_lite.world.tokenizer import build_tokenizer


@dataclass(frozen=True)
class Pi0Artifacts:
    root: Path
    init: Path | str  # the random-init policy (lite) or the base model's folder or hub id (full)
    pi0: Path  # the SFT policy
    sft_train: Path
    sft_eval: Path
    metrics: dict


# The code each stage runs, for its key (io.stage_code): modules with all they import, and this one by itself
PI0_CODE = (("rlhf_lite.world", "rlhf_lite.policy.sft", "rlhf_lite.config"), ("rlhf_lite.stages",))
REWARD_CODE = (("rlhf_lite.stages", "rlhf_lite.parallel"), ())  # reads pi_0 and the data (stages imports data_stage)


def stage_dir(cfg: Config) -> Path:
    key = fingerprint({"world": cfg.world, "model": cfg.model, "sft": cfg.sft, "seed": cfg.seed,
                       "policy": cfg.policy, "lora": cfg.lora, "code": stage_code(*PI0_CODE)})
    return runs_dir() / f"{cfg.profile}-{key}"


def prepare_pi0(cfg: Config, progress: bool = True, log=print) -> Pi0Artifacts:
    """pi_0 and what it is made from, built once: a second process asking for it meanwhile waits and reuses it."""
    with exclusive(stage_dir(cfg), "the SFT of pi_0", log):
        return _prepare_pi0(cfg, progress, log)


def _prepare_pi0(cfg: Config, progress: bool, log) -> Pi0Artifacts:
    root = stage_dir(cfg)
    init, pi0 = root / "pi_init", root / "pi0"
    train_path, eval_path = root / "data" / "sft_train.jsonl", root / "data" / "sft_eval.jsonl"

    def write_sft_data():
        if cfg.sft.dataset is None:
            log(f"[data] {cfg.sft.num_demos} imperfect demonstrations -> {train_path.parent}")
            write_jsonl(train_path, world.sft_records(cfg.sft.num_demos, cfg.world, seed=cfg.seed))
            write_jsonl(eval_path, world.sft_records(max(200, cfg.sft.num_demos // 20), cfg.world, seed=cfg.seed + 1))
        else:
            from rlhf_lite.policy.sft import chat_sft_records

            recs = chat_sft_records(cfg.sft.dataset, limit=cfg.sft.num_demos or None, log=log)
            held = min(1000, max(1, len(recs) // 50))  # 2% held out for the loss before/after
            log(f"[data] {len(recs)} chat demonstrations from {cfg.sft.dataset} ({held} held out) -> {train_path.parent}")
            write_jsonl(eval_path, recs[-held:])
            write_jsonl(train_path, recs[:-held])

    def write_init():
        log(f"[init] random LLaMA-architecture policy {dataclasses.asdict(cfg.model)} -> {init}")
        tok = build_tokenizer()
        with atomic_dir(init) as tmp:
            save_policy(build_tiny_policy(tok, cfg.model, seed=cfg.seed), tok, tmp)

    # under accelerate launch the main process writes these, and the others wait for them
    main_writes(lambda: intact(train_path, log) and intact(eval_path, log), write_sft_data, f"{train_path.parent}")
    if cfg.policy == "lite":
        main_writes(lambda: intact(init, log), write_init, str(init))
        base = init
    else:
        base = Path(cfg.policy) if Path(cfg.policy).exists() else cfg.policy

    metrics_path = root / "sft_metrics.json"
    if not intact(pi0, log) or not intact(metrics_path, log):
        log(f"[sft] TRL SFTTrainer on {cfg.sft.num_demos} demonstrations -> {pi0}")
        with atomic_dir(pi0) as tmp:
            metrics = train_sft(base, read_jsonl(train_path), tmp, cfg.sft, eval_records=read_jsonl(eval_path),
                                seed=cfg.seed, progress=progress, lora=cfg.lora)
        write_json(metrics_path, metrics)
    else:
        log(f"[sft] cached: {pi0}")
    metrics = json.loads(metrics_path.read_text())
    return Pi0Artifacts(root, base, pi0, train_path, eval_path, metrics)


# ----------------------------------------------------------------------------- chapters 4-5: reward models

# name -> (kind, mixture, sources kept): the models of the paper's Table 1 and Figure 3, in the lite world.
REWARD_MODELS = {
    "bt-mix1": ("bt", "mix1", None),  # Table 1: BT on MIX1
    "bt-mix2": ("bt", "mix2", None),  # Table 1: BT on MIX2
    "pm-mix2": ("pm", "mix2", None),  # Table 1: the pairwise preference model on MIX2
    # An extreme for the length-bias chapter: UltraFeedback alone, whose GPT-4 judge likes length.
    # (Figure 3's UltraRM-13B role is bt-mix1: the paper's MIX1 is UltraRM's training mixture.)
    "bt-ultrafeedback": ("bt", "mix2", ("ultrafeedback",)),
    # Curation's downstream value (lite only): MIX2 with no filter at all, and with a one-point margin.
    "bt-mix2-raw": ("bt", "mix2-raw", None),
    "bt-mix2-margin1": ("bt", "mix2-margin1", None),
}
# Chapter 4's study of the preference model (rlhf_lite.reward.pm_study): fewer pairs, a smaller pi_0.
REWARD_MODELS.update({name: (m.kind, "mix2", None) for name, m in STUDY_MODELS.items()})


@dataclass(frozen=True)
class RewardArtifacts:
    root: Path
    pi0: Path
    models: dict  # name -> folder
    metrics: dict  # name -> training metrics


def reward_stage_dir(cfg: Config) -> Path:
    key = fingerprint({"world": cfg.world, "data": cfg.data, "model": cfg.model, "sft": cfg.sft, "reward": cfg.reward,
                       "preference": cfg.preference, "reward_eval": cfg.reward_eval, "seed": cfg.seed,
                       "policy": cfg.policy, "lora": cfg.lora, "code": stage_code(*REWARD_CODE)})
    return runs_dir() / f"{cfg.profile}-rm-{key}"


def prepare_reward_models(cfg: Config, names=None, progress: bool = True, log=print,
                          workers: int | None = None) -> RewardArtifacts:
    """Train (or reuse) the chapter-3 reward and preference models, all initialised from pi_0.

    Models not yet cached are trained side by side, ``workers`` at a time (default: one per core), each in
    its own process with a fixed number of torch threads (rlhf_lite.parallel), so a model is the same
    whether it was trained alone or beside the others."""
    from rlhf_lite.parallel import run_jobs

    names = list(names or REWARD_MODELS)
    unknown = set(names) - set(REWARD_MODELS)
    if unknown:
        raise ValueError(f"unknown reward models {sorted(unknown)}; choose from {sorted(REWARD_MODELS)}.")
    pi0 = prepare_pi0(cfg, progress=progress, log=log).pi0
    if any(n in STUDY_MODELS and STUDY_MODELS[n].small for n in names):  # built here, not in two workers at once
        prepare_pi0(small_config(cfg), progress=progress, log=log)
    prepare_preference_data(cfg, log=log)
    root = reward_stage_dir(cfg)
    with exclusive(root, "reward-model training", log):  # the workers below write into root: they take no lock
        missing = [n for n in names if not _reward_model_done(root, n)]
        for name in names:
            if name not in missing:
                log(f"[{name}] cached: {root / name}")
        run_jobs(train_reward_stage, [((cfg, name), {"progress": progress and len(missing) == 1}) for name in missing],
                 workers=workers, log=log, desc="reward models", progress=progress,
                 costs=[reward_model_cost(cfg, name) for name in missing])
    models = {name: root / name for name in names}
    metrics = {name: json.loads((root / f"{name}_metrics.json").read_text()) for name in names}
    return RewardArtifacts(root, pi0, models, metrics)


def reward_model_cost(cfg: Config, name: str) -> float:
    """A model's training cost, to start the longest first (rlhf_lite.parallel.run_jobs): pairs x epochs, a quarter
    for the half-size pi_0 of chapter 4's study. An estimate for ordering only; nothing else reads it."""
    from datasets import load_from_disk

    kind, mixture, sources = REWARD_MODELS[name]
    m = STUDY_MODELS.get(name)
    share, small = (m.share, m.small) if m else (1.0, False)
    mixtures = prepare_preference_data(cfg, log=lambda *a: None).mixtures
    if mixture not in mixtures:
        return 0.0  # train_reward_stage says why it cannot train this one
    data = load_from_disk(str(mixtures[mixture]))
    pairs = sum(s in sources for s in data["source"]) if sources else len(data)
    epochs = cfg.reward.epochs if kind == "bt" else study_config(cfg, name).preference.epochs
    return pairs * share * epochs * (0.25 if small else 1.0) * (2.0 if m and m.format else 1.0)


def _reward_model_done(root: Path, name: str) -> bool:
    return intact(root / name) and intact(root / f"{name}_metrics.json")


def train_reward_stage(cfg: Config, name: str, progress: bool = True, log=print) -> Path:
    """Train one model of :data:`REWARD_MODELS` from pi_0 (a BT reward model with TRL's RewardTrainer, or the
    pairwise preference model with its SFTTrainer) into the reward stage's folder, unless it is there."""
    from datasets import load_from_disk

    from rlhf_lite.reward.bradley_terry import train_reward_model
    from rlhf_lite.policy.models import load_tokenizer
    from rlhf_lite.reward.preference import preference_records, save_format

    kind, mixture, sources = REWARD_MODELS[name]
    root = reward_stage_dir(cfg)
    out, metrics_path = root / name, root / f"{name}_metrics.json"
    if _reward_model_done(root, name):
        return out
    share = STUDY_MODELS[name].share if name in STUDY_MODELS else 1.0
    trained = study_config(cfg, name)  # cfg with the study model's one factor (its pi_0, its preference format)
    pi0 = prepare_pi0(trained, progress=False, log=lambda *a: None).pi0
    data = prepare_preference_data(cfg, log=lambda *a: None)
    if mixture not in data.mixtures:
        raise ValueError(f"reward model {name} trains on {mixture}, which only the lite data stage writes "
                         f"(data.source 'lite'); with data.source {cfg.data.source!r} train bt-mix1, bt-mix2 or pm-mix2.")
    pairs = load_from_disk(str(data.mixtures[mixture])).to_list()
    if sources:
        pairs = [p for p in pairs if p["source"] in sources]
    if cfg.data.source == "hub":  # full mode judges the loop by this model: never on prompts it saw
        pairs = without_held_out(cfg, pairs)
    pairs = subsample(pairs, share, cfg.seed) if share < 1 else pairs
    probe = epoch_probes(cfg, kind, name)
    log(f"[{name}] {'TRL RewardTrainer' if kind == 'bt' else 'TRL SFTTrainer (A/B labels)'} "
        f"on {len(pairs)} pairs -> {out}")
    t0 = time.perf_counter()
    with atomic_dir(out) as tmp:
        if kind == "bt":
            m = train_reward_model(pi0, pairs, tmp, cfg.reward, seed=cfg.seed, progress=progress, lora=cfg.lora,
                                   callbacks=probe)
        else:
            style, eos = trained.preference.format, load_tokenizer(pi0).eos_token or "<eos>"
            m = train_sft(pi0, preference_records(pairs, seed=cfg.seed, style=style, eos=eos), tmp,
                          trained.preference.to_sft(), seed=cfg.seed, progress=progress, lora=cfg.lora, callbacks=probe)
            save_format(tmp, style)  # judged as it was trained (PreferenceModel.from_pretrained reads it)
    m.update({"pairs": len(pairs), "train_seconds": round(time.perf_counter() - t0, 1),  # one worker's threads
              "machine": machine()},
             **({"curve": probe[0].curve} if probe else {}))
    write_json(metrics_path, m)
    return out
