"""Chapter 3's stage, cached on disk: the preference data (lite sources in native formats, curated MIX1/MIX2,
the online prompt set split into per-iteration subsets) and the held-out prompts every chapter scores on.
``rlhf_lite.stages`` re-exports it beside the other foundation stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from rlhf_lite import world
from rlhf_lite.config import Config
from rlhf_lite.io import exclusive, fingerprint, intact, read_jsonl, runs_dir, single_process, stage_code, write_jsonl

# The code of this stage, for its key (io.stage_code): the data and the world, with all they import, and this module
DATA_CODE = (("rlhf_lite.data", "rlhf_lite.world", "rlhf_lite.config"), ("rlhf_lite.data_stage",))


@dataclass(frozen=True)
class PreferenceArtifacts:
    root: Path
    sources: dict | None  # source name -> folder of native-format files (None: read from the hub)
    mixtures: dict  # "mix1"/"mix2" -> folder readable by datasets.load_from_disk (curated pairs)
    prompt_splits: Path  # JSON Lines: {"iteration": t, "prompt": [messages]}
    eval_prompts: list = field(repr=False)  # held out of every split (strings in lite mode, messages in hub mode)


def data_stage_dir(cfg: Config) -> Path:
    key = fingerprint({"world": cfg.world, "data": cfg.data, "seed": cfg.seed, "eval": cfg.eval_prompts,
                       "validation": cfg.online.validation_prompts if cfg.data.source == "hub" else None,
                       "code": stage_code(*DATA_CODE)})
    return runs_dir() / f"{cfg.profile}-data-{key}"


def eval_prompts(cfg: Config) -> list:
    """The held-out evaluation prompts every chapter scores policies on (never trained on): fresh draws
    of the lite world's tasks, or in hub mode prompts of the pool held out of every iteration's split."""
    if cfg.data.source == "hub":
        return held_out_prompts(cfg, "eval")
    return world.sample_prompts(cfg.eval_prompts, cfg.world, seed=cfg.seed + 10_000)


def held_out_prompts(cfg: Config, which: str) -> list:
    """Hub mode: the "eval" or "validation" prompts set aside by :func:`prepare_preference_data`."""
    path = prepare_preference_data(cfg, log=lambda *a: None).root / "held_out.jsonl"
    return [r["prompt"] for r in read_jsonl(path) if r["set"] == which]


def validation_prompts(cfg: Config) -> list[str]:
    """Prompts for choosing the output iterate (Algorithm 2's validation set), none of them an evaluation
    prompt. Like any sample of d_0 they may repeat a training prompt: the lite world's tasks are short."""
    if cfg.data.source == "hub":  # set aside from the prompt pool with the evaluation prompts
        return held_out_prompts(cfg, "validation")
    held_out = set(eval_prompts(cfg))
    n = cfg.online.validation_prompts
    pool = [x for x in world.sample_prompts(3 * n, cfg.world, seed=cfg.seed + 20_000) if x not in held_out]
    if len(pool) < n:
        raise ValueError(f"could not draw {n} validation prompts outside the evaluation set; lower online.validation_prompts.")
    return pool[:n]


def without_held_out(cfg: Config, pairs: Sequence[dict]) -> list[dict]:
    """The preference pairs whose prompt is neither an evaluation nor a validation prompt: the same lite
    task (held-out lite prompts are task strings), or in hub mode the same text after normalisation."""
    from rlhf_lite.data.filters import normalise_text
    from rlhf_lite.data.schema import prompt_text
    from rlhf_lite.data.truth import world_prompt

    held = eval_prompts(cfg) + validation_prompts(cfg)
    if cfg.data.source == "lite":
        key, banned = world_prompt, set(held)
    else:
        key = lambda p: normalise_text(prompt_text(p))  # noqa: E731
        banned = {key(p) for p in held}
    return [p for p in pairs if key(p["prompt"]) not in banned]


def prepare_preference_data(cfg: Config, progress: bool = False, log=print) -> PreferenceArtifacts:
    """Chapter 3's outputs, cached: the lite sources in native formats, curated MIX1/MIX2 (saved with
    ``datasets``), and the online prompt set split into disjoint per-iteration subsets."""
    with exclusive(data_stage_dir(cfg), "the preference-data curation", log):
        return _prepare_preference_data(cfg, progress, log)


def _prepare_preference_data(cfg: Config, progress: bool, log) -> PreferenceArtifacts:
    from rlhf_lite.data.curation import curate
    from rlhf_lite.data.filters import paper_filters
    from rlhf_lite.data.lite_sources import write_lite_sources
    from rlhf_lite.data.mixtures import (MIX1, MIX2, PROMPT_SOURCES, build_mixture, prompt_pool, save_pairs,
                                         split_prompts)
    from rlhf_lite.data.schema import prompt_text

    if cfg.data.source not in ("lite", "hub"):
        raise ValueError(f"data.source must be 'lite' or 'hub', got {cfg.data.source!r}.")
    root = data_stage_dir(cfg)
    src_root, mix_root, splits_path = root / "sources", root / "mixtures", root / "prompt_splits.jsonl"
    lite = cfg.data.source == "lite"
    if not all(intact(mix_root / r.name, log) for r in (MIX1, MIX2)):
        single_process("curating the preference data")
    if lite:
        held_out = eval_prompts(cfg)
        from rlhf_lite.data.lite_sources import LITE_SOURCES

        missing = [n for n in LITE_SOURCES if not intact(src_root / n, log)]
        if missing:
            log(f"[data] lite preference sources {missing} (scale {cfg.data.scale}) -> {src_root}")
            write_lite_sources(src_root, seed=cfg.seed, scale=cfg.data.scale, names=missing)
        paths = {n: src_root / n for n in LITE_SOURCES}
    else:  # the real datasets, by hub id or from local copies in their native formats
        paths = {k: Path(v) for k, v in cfg.data.local_paths.items()} if cfg.data.local_paths else None
    mixtures, built = {}, {}  # built: the mixtures loaded in this call, which MIX2's variants reuse
    for recipe in (MIX1, MIX2):
        out = mix_root / recipe.name
        if not intact(out, log):
            mix = built[recipe.name] = build_mixture(recipe, paths, progress=progress,
                                                     log=log if not lite else lambda *a: None)
            if recipe is MIX2:  # the prompt splits first: the saved mixture marks the stage complete
                pool = prompt_pool(mix.raw, PROMPT_SOURCES, last_turn_only=lite)
                if not lite:  # hold out evaluation and validation prompts from the pool itself
                    held = split_prompts(pool, 1, cfg.eval_prompts + cfg.online.validation_prompts, seed=cfg.seed + 1)[0]
                    write_jsonl(root / "held_out.jsonl", [
                        {"set": "eval" if i < cfg.eval_prompts else "validation", "prompt": p} for i, p in enumerate(held)])
                    held_out = [prompt_text(p) for p in held]
                splits = split_prompts(pool, cfg.data.iterations, cfg.data.prompts_per_iteration,
                                       seed=cfg.seed, exclude=held_out)
                write_jsonl(splits_path, [{"iteration": t + 1, "prompt": p} for t, s in enumerate(splits) for p in s])
            save_pairs(mix.pairs, out)
            log(f"[data] {recipe.name}: {len(mix.pairs)} curated pairs -> {out}")
        mixtures[recipe.name] = out
    if lite:  # curation's downstream value (the reward-model chapter): MIX2 uncurated, and at a stricter margin
        def mix2():  # MIX2's sources are loaded once per call, not once per variant
            if "mix2" not in built:
                built["mix2"] = build_mixture(MIX2, paths, log=lambda *a: None)
            return built["mix2"]

        strict = paper_filters(None, MIX2.max_length, 1.0, MIX2.shp_min_ratio, MIX2.shp_max_pairs)
        variants = {"mix2-raw": lambda: mix2().raw, "mix2-margin1": lambda: curate(mix2().raw, strict).kept}
        for name, pairs in variants.items():
            if not intact(mix_root / name, log):
                save_pairs(pairs(), mix_root / name)
                log(f"[data] {name} -> {mix_root / name}")
            mixtures[name] = mix_root / name
    else:
        held_out = [r["prompt"] for r in read_jsonl(root / "held_out.jsonl") if r["set"] == "eval"]
    return PreferenceArtifacts(root, paths, mixtures, splits_path, held_out)
