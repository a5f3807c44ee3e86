"""rlhf-lite: one command per stage of the pipeline, over the same functions the chapters call.

    rlhf-lite sft --recipe recipes/lite/ci.yaml                   # pi_0
    rlhf-lite train-rm --recipe recipes/lite/ci.yaml --set reward.epochs=1
    rlhf-lite generate --recipe recipes/lite/ci.yaml --iteration 1   # then annotate, pair, dpo
    rlhf-lite loop --recipe recipes/full/paper.yaml                 # Algorithm 2, every stage
    accelerate launch --config_file recipes/accelerate/zero3.yaml -m rlhf_lite.cli dpo --recipe ... --iteration 1

Every command reads a recipe (``--recipe FILE``, or ``--profile ci|book`` for a lite preset), applies
``--set key=value`` overrides (dotted config fields; values parsed as YAML), says what it will do, and
writes its artifacts under ``runs/`` where the next stage looks for them. Stages that are already
complete are reused, so a crashed command resumes when run again. Before a training or generation stage
on a GPU (or with ``--gpu-gb``) the memory planner (rlhf_lite.scale.memory) says whether the stage fits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer
import yaml

from rlhf_lite.config import Config, load_recipe, with_overrides

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])

RECIPE = typer.Option(None, "--recipe", "-r", help="YAML recipe (recipes/...); default: --profile's preset.")
PROFILE = typer.Option("book", "--profile", "-p", help="lite preset when no recipe is given: ci or book.")
SET = typer.Option(None, "--set", "-s", help="override a field, e.g. --set sft.epochs=2 (repeatable).")
GPU_GB = typer.Option(None, "--gpu-gb", help="plan memory for GPUs of this size (default: the GPU present).")
SEED = typer.Option(0, "--seed", help="loop seed (the online stages).")
ITER = typer.Option(1, "--iteration", "-t", min=1, help="iteration t of Algorithm 2.")


def load(recipe: Optional[Path], profile: str, sets: Optional[List[str]]) -> Config:
    """The recipe (or preset) with the ``--set`` overrides applied."""
    overrides = {}
    for item in sets or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise typer.BadParameter(f"--set {item!r}: write key=value, e.g. --set dpo.beta=0.1.")
        overrides[key.strip()] = yaml.safe_load(value)
    try:
        cfg = load_recipe(recipe) if recipe else Config.preset(profile)
        return with_overrides(cfg, overrides) if overrides else cfg
    except (ValueError, FileNotFoundError) as e:
        raise typer.BadParameter(str(e)) from e


def say(msg: str) -> None:
    typer.secho(msg, fg=typer.colors.CYAN, err=True)


def check_memory(cfg: Config, stages: tuple[str, ...], gpu_gb: float | None) -> None:
    """Print the plan of ``stages`` on this GPU (or a ``--gpu-gb`` one) and warn about any that won't fit."""
    import torch

    from rlhf_lite.scale.memory import plan_config, plan_table

    if gpu_gb is None:
        if not torch.cuda.is_available():
            return
        gpu_gb = torch.cuda.get_device_properties(0).total_memory / 1e9
    gpus = int(os.environ.get("WORLD_SIZE", "1"))
    zero = int(os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "0"))  # set by accelerate launch
    for row in plan_table(plan_config(cfg, gpu_gb, gpus=gpus, zero_stage=zero), gpu_gb):
        if row["stage"] in stages:
            msg = f"[plan] {row['stage']}: about {row['total']:.1f} GB per GPU of {gpu_gb:.0f} ({row['setup']})"
            if row["fits"]:
                say(msg)
            else:
                typer.secho(msg + " -- will probably NOT fit: see `rlhf-lite plan` and the scaling-up chapter.",
                            fg=typer.colors.YELLOW, err=True)


def _policy_for(cfg: Config, seed: int, t: int) -> Path:
    from rlhf_lite.online.loop import iterate_path
    from rlhf_lite.stages import prepare_pi0

    try:
        return iterate_path(cfg, seed, t - 1, prepare_pi0(cfg).pi0 if t == 1 else None)
    except FileNotFoundError as e:
        raise typer.BadParameter(f"run `rlhf-lite dpo --iteration {t - 1}` first: iteration {t} samples from "
                                 f"pi_{t - 1}. ({e})") from e


@app.command()
def plan(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
         gpu_gb: float = typer.Option(24, "--gpu-gb"), gpus: int = typer.Option(1, "--gpus"),
         zero: int = typer.Option(0, "--zero", help="DeepSpeed ZeRO stage (0 = plain DDP).")):
    """Estimate the peak GPU memory of every stage (rlhf_lite.scale.memory) and whether it fits."""
    from rlhf_lite.scale.memory import plan_config, plan_table

    cfg = load(recipe, profile, set_)
    say(f"memory plan of {recipe or profile} on {gpus} GPU(s) of {gpu_gb:g} GB, ZeRO-{zero}")
    for row in plan_table(plan_config(cfg, gpu_gb, gpus=gpus, zero_stage=zero), gpu_gb):
        typer.echo(json.dumps(row))


@app.command()
def curate(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET):
    """Chapter 3: MIX1 and MIX2 (Table 5's datasets, curated) and the per-iteration prompt splits."""
    from rlhf_lite.stages import prepare_preference_data

    cfg = load(recipe, profile, set_)
    say(f"curate: MIX1 and MIX2 from the {cfg.data.source} sources, {cfg.data.iterations} prompt splits of "
        f"{cfg.data.prompts_per_iteration}")
    data = prepare_preference_data(cfg, progress=True)
    typer.echo(json.dumps({"mixtures": {k: str(v) for k, v in data.mixtures.items()},
                           "prompt_splits": str(data.prompt_splits)}))


@app.command()
def sft(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
        gpu_gb: Optional[float] = GPU_GB):
    """SFT of the initial policy pi_0 (TRL SFTTrainer)."""
    from rlhf_lite.stages import prepare_pi0

    cfg = load(recipe, profile, set_)
    say(f"sft: {cfg.policy} on {cfg.sft.dataset or 'the lite demonstrations'}"
        + (" (QLoRA)" if cfg.lora.quantize_4bit else " (LoRA)" if cfg.lora.enabled else ""))
    check_memory(cfg, ("SFT",), gpu_gb)
    art = prepare_pi0(cfg)
    typer.echo(json.dumps({"pi0": str(art.pi0), "eval_loss_after": art.metrics.get("eval_loss_after")}))


def _train_judges(cfg: Config, names: list[str], gpu_gb) -> None:
    from rlhf_lite.stages import prepare_reward_models

    check_memory(cfg, ("reward model", "preference model"), gpu_gb)
    art = prepare_reward_models(cfg, names)
    typer.echo(json.dumps({n: {"path": str(art.models[n]), "train_loss": art.metrics[n].get("train_loss")}
                           for n in names}))


@app.command("train-rm")
def train_rm(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
             model: List[str] = typer.Option(["bt-mix2"], "--model", help="bt-mix1, bt-mix2 or bt-ultrafeedback."),
             gpu_gb: Optional[float] = GPU_GB):
    """Bradley-Terry reward models (TRL RewardTrainer) from pi_0."""
    cfg = load(recipe, profile, set_)
    bad = [m for m in model if not m.startswith("bt-")]
    if bad:
        raise typer.BadParameter(f"{bad}: train-rm trains BT models (bt-...); use train-pm for the preference model.")
    say(f"train-rm: {', '.join(model)}")
    _train_judges(cfg, model, gpu_gb)


@app.command("train-pm")
def train_pm(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
             gpu_gb: Optional[float] = GPU_GB):
    """The pairwise preference model ("A"/"B" labels, order randomised; TRL SFTTrainer) on MIX2."""
    cfg = load(recipe, profile, set_)
    say("train-pm: pm-mix2")
    _train_judges(cfg, ["pm-mix2"], gpu_gb)


@app.command()
def generate(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
             iteration: int = ITER, seed: int = SEED, gpu_gb: Optional[float] = GPU_GB):
    """Algorithm 2, line 4: n samples per prompt of iteration t from pi_{t-1} (hf or vllm backend)."""
    from rlhf_lite.online.loop import generate as run
    from rlhf_lite.online.loop import make_generator, seed_lock

    cfg = load(recipe, profile, set_)
    check_memory(cfg, ("generation (vLLM)",), gpu_gb)
    policy = _policy_for(cfg, seed, iteration)
    with seed_lock(cfg, seed, say):
        typer.echo(str(run(cfg, seed, iteration, policy, make_generator(cfg), log=say)))


@app.command()
def annotate(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
             iteration: int = ITER, seed: int = SEED):
    """Line 5: score iteration t's samples with the proxy judge (online.judge)."""
    from rlhf_lite.online.judge import load_judge
    from rlhf_lite.online.loop import annotate as run
    from rlhf_lite.online.loop import seed_lock

    cfg = load(recipe, profile, set_)
    judge = load_judge(cfg)
    with seed_lock(cfg, seed, say):
        typer.echo(str(run(cfg, seed, iteration, judge, log=say)))


@app.command()
def pair(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
         iteration: int = ITER, seed: int = SEED):
    """Line 6: best-vs-worst pairs (online.rule, with the length penalty of eq. 9)."""
    from rlhf_lite.online.loop import pair as run
    from rlhf_lite.online.loop import seed_lock

    cfg = load(recipe, profile, set_)
    with seed_lock(cfg, seed, say):
        out = run(cfg, seed, iteration, log=say)
    typer.echo(json.dumps({"pairs": str(out), "report": json.loads((out.parent / "pair_report.json").read_text())}))


@app.command()
def dpo(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
        iteration: int = ITER, seed: int = SEED,
        offline: bool = typer.Option(False, "--offline", help="the offline-DPO baseline instead (and its evaluation)."),
        gpu_gb: Optional[float] = GPU_GB):
    """Line 7: DPO from pi_{t-1} with pi_0 as the reference (TRL DPOTrainer), or --offline vanilla DPO."""
    from rlhf_lite.online.loop import dpo as run
    from rlhf_lite.online.loop import seed_lock
    from rlhf_lite.online.offline import run_offline
    from rlhf_lite.stages import prepare_pi0

    cfg = load(recipe, profile, set_)
    check_memory(cfg, ("DPO",), gpu_gb)
    if offline:
        say("dpo --offline: one DPO run from pi_0 on as many MIX2 pairs as the loop trains on")
        out = run_offline(cfg, seed=seed)
        typer.echo(json.dumps({"policy": str(out["policy"]), "win_rate": out["eval"].get("win_rate"),
                               "proxy_win_rate": out["eval"].get("proxy_win_rate")}))
        return
    pi0 = prepare_pi0(cfg).pi0
    with seed_lock(cfg, seed, say):
        typer.echo(str(run(cfg, seed, iteration, pi0, log=say)))


@app.command()
def loop(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
         seed: int = SEED, gpu_gb: Optional[float] = GPU_GB):
    """Algorithm 2 end to end: every iteration's generate, annotate, pair, dpo and evaluation."""
    from rlhf_lite.online.loop import run_online

    cfg = load(recipe, profile, set_)
    say(f"loop: {cfg.online.iterations} iterations of {cfg.data.prompts_per_iteration} prompts x {cfg.sampling.n}, "
        f"judge {cfg.online.judge}, seed {seed}")
    check_memory(cfg, ("DPO", "generation (vLLM)"), gpu_gb)
    run = run_online(cfg, seed=seed)
    typer.echo(json.dumps({"output": str(run.output), "best_iteration": run.best, "validation": run.validation}))


@app.command()
def evaluate(recipe: Optional[Path] = RECIPE, profile: str = PROFILE, set_: Optional[List[str]] = SET,
             seed: int = SEED):
    """Every trained iterate against pi_0 on the held-out prompts: win rate by r* (lite), the proxy's win
    rate, length and KL, as a table."""
    from rlhf_lite.io import intact
    from rlhf_lite.online.evaluate import PolicyEvaluator, summarise
    from rlhf_lite.online.judge import load_judge
    from rlhf_lite.online.loop import iteration_dir, make_generator, online_root
    from rlhf_lite.online.runs import eval_path
    from rlhf_lite.stages import prepare_pi0

    cfg = load(recipe, profile, set_)
    pi0, judge = prepare_pi0(cfg).pi0, load_judge(cfg)
    ev = PolicyEvaluator(cfg, seed, pi0, judge, make_generator(cfg), say)
    base, _ = ev.records(pi0, eval_path(online_root(cfg) / f"seed{seed}", 0), "pi_0")
    trained = [t for t in range(1, cfg.online.iterations + 1)
               if intact(iteration_dir(cfg, seed, t) / "train_metrics.json")]
    if not trained:
        raise typer.BadParameter(f"no trained iterate for seed {seed} under {online_root(cfg)}: run `rlhf-lite loop` "
                                 f"or the dpo stage first.")
    for t in trained:
        recs, _ = ev.records(iteration_dir(cfg, seed, t) / "policy", eval_path(online_root(cfg) / f"seed{seed}", t),
                             f"pi_{t}")
        row = summarise(recs, base, judge)
        typer.echo(json.dumps({"policy": f"pi_{t}", **{k: row[k] for k in ("win_rate", "proxy_win_rate", "length", "kl")
                                                          if k in row}}))


@app.command("gpu-smoke")
def gpu_smoke(step: List[str] = typer.Option(None, "--step", help="only these steps (env, loop, qlora-dpo)")):
    """After installing the full extra on a GPU machine: the ci loop with vLLM, QLoRA DPO on CUDA with its peak
    memory against the planner's, and a report (runs/gpu-smoke/report.json). Exit code 1 if a step failed."""
    from rlhf_lite.smoke import STEPS, main

    bad = [s for s in step or [] if s not in STEPS]
    if bad:
        raise typer.BadParameter(f"unknown steps {bad}; choose from {', '.join(STEPS)}.")
    report = main(tuple(step) if step else STEPS, log=say)
    raise typer.Exit(0 if all(r["ok"] for r in report.values()) else 1)


@app.command()
def book(profile: str = PROFILE, only: Optional[str] = typer.Option(None, "--only")):
    """Execute every chapter with papermill (lite profile) and render the HTML book."""
    from rlhf_lite.site.book import main

    main(["--profile", profile] + (["--only", only] if only else []))


if __name__ == "__main__":
    app()
