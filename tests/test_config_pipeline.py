from pathlib import Path

import pytest

from rlhf_lite import io
from rlhf_lite.config import PRESETS, Config, load_recipe, with_overrides
from rlhf_lite.stages import prepare_pi0, stage_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_has_a_recipe_that_loads_to_it(name):
    import json

    import yaml

    path = ROOT / "recipes" / "lite" / f"{name}.yaml"
    assert load_recipe(path) == Config.preset(name)
    # ... and spells out every field, so a reader sees every knob (tuples are YAML lists)
    assert yaml.safe_load(path.read_text()) == json.loads(json.dumps(Config.preset(name).to_dict()))


def test_every_recipe_loads():
    from rlhf_lite.data.mixtures import MixtureRecipe, load_mixture_recipe

    recipes = sorted((ROOT / "recipes").rglob("*.yaml"))
    assert recipes
    for path in recipes:
        if path.parent.name == "data":  # preference-data mixtures (chapter 3)
            assert isinstance(load_mixture_recipe(path), MixtureRecipe)
        elif path.parent.name == "accelerate":  # launcher configs, read by accelerate itself
            from accelerate.commands.config.config_args import load_config_from_file

            launcher = load_config_from_file(str(path))
            assert launcher.num_processes == 8 and launcher.mixed_precision == "bf16"
        else:
            assert isinstance(load_recipe(path), Config)


def test_accelerate_configs_are_ddp_zero2_and_zero3():
    from accelerate.commands.config.config_args import load_config_from_file

    stages = {n: load_config_from_file(str(ROOT / "recipes" / "accelerate" / f"{n}.yaml")) for n in ("ddp", "zero2", "zero3")}
    assert stages["ddp"].distributed_type == "MULTI_GPU"
    assert [stages[n].deepspeed_config["zero_stage"] for n in ("zero2", "zero3")] == [2, 3]
    assert stages["zero3"].deepspeed_config["zero3_save_16bit_model"]  # gathered weights when saving


def test_full_recipes_carry_the_papers_hyper_parameters():
    full = load_recipe(ROOT / "recipes" / "full" / "paper.yaml")
    qlora = load_recipe(ROOT / "recipes" / "full" / "paper-qlora.yaml")

    def global_batch(s, gpus):
        return s.batch_size * s.grad_accum * gpus

    # Sections 2-3 and Table 7: SFT 2e-5 / 32, BT 2e-6 / 512, preference model 5e-6 / 128, DPO 5e-7 / 128, beta 0.1
    assert (full.sft.learning_rate, global_batch(full.sft, 8)) == (2e-5, 32)
    assert (full.reward.learning_rate, global_batch(full.reward, 8)) == (2e-6, 512)
    assert (full.preference.learning_rate, global_batch(full.preference, 8)) == (5e-6, 128)
    assert (full.dpo.learning_rate, global_batch(full.dpo, 8), full.dpo.beta, full.dpo.epochs) == (5e-7, 128, 0.1, 2.0)
    assert (full.dpo.batch_size, full.dpo.grad_accum) == (2, 8)  # Table 7, per device
    assert (full.sampling.n, full.sampling.temperatures, full.sampling.max_new_tokens) == (8, (1.0, 0.7), 2048)
    assert (full.online.iterations, full.data.prompts_per_iteration, full.online.history) == (3, 20_000, "new")
    assert full.policy == "meta-llama/Meta-Llama-3-8B" and full.data.source == "hub" and not full.lora.enabled
    # the one-GPU variant: the same global batches on one GPU, QLoRA, everything else inherited
    for stage in ("sft", "reward", "preference", "dpo"):
        assert global_batch(getattr(qlora, stage), 1) == global_batch(getattr(full, stage), 8), stage
    assert qlora.lora.enabled and qlora.lora.quantize_4bit and qlora.sampling.data_parallel == 1
    assert (qlora.sampling, qlora.online, qlora.data) == (
        full.sampling.__class__(**{**full.sampling.__dict__, "data_parallel": 1}), full.online, full.data)


def test_the_as_tested_full_recipe_is_the_papers_with_the_lite_chapters_loss_and_history():
    """recipes/full/paper-as-tested.yaml: paper.yaml with the two algorithm settings the lite chapters ran (the
    scaling-up chapter recommends it), and nothing else changed."""
    import dataclasses

    full = load_recipe(ROOT / "recipes" / "full" / "paper.yaml")
    tested = load_recipe(ROOT / "recipes" / "full" / "paper-as-tested.yaml")
    lite = Config.preset("book")
    assert (tested.dpo.loss_type, tested.online.history) == (lite.dpo.loss_type, lite.online.history) == (
        ("sigmoid", "sft"), "all")
    assert (full.dpo.loss_type, full.online.history) == (("sigmoid",), "new")  # what the lite chapters never ran
    assert tested == dataclasses.replace(full, dpo=dataclasses.replace(full.dpo, loss_type=lite.dpo.loss_type),
                                         online=dataclasses.replace(full.online, history=lite.online.history))


def test_recipe_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: ci\nsft:\n  epochz: 2\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*epochz"):
        load_recipe(bad)


def test_overrides_are_validated_and_applied():
    cfg = with_overrides(Config.preset("ci"), {"sft.epochs": 2.0, "world.demo_verbose": 0.0, "seed": 3})
    assert cfg.sft.epochs == 2.0 and cfg.world.demo_verbose == 0.0 and cfg.seed == 3
    assert cfg.model == Config.preset("ci").model
    with pytest.raises(ValueError, match="no field"):
        with_overrides(cfg, {"sft.nope": 1})
    with pytest.raises(ValueError, match="probability"):
        with_overrides(cfg, {"world.demo_wrong": 2.0})
    with pytest.raises(ValueError, match="unknown profile"):
        Config.preset("huge")


def test_stage_dir_depends_on_config():
    a, b = Config.preset("ci"), Config.preset("ci", seed=1)
    assert stage_dir(a) != stage_dir(b)
    assert stage_dir(a) == stage_dir(Config.preset("ci"))


def test_prepare_pi0_reuses_a_finished_stage(pi0_artifacts, ci_cfg):
    logs = []
    again = prepare_pi0(ci_cfg, progress=False, log=logs.append)
    assert again.pi0 == pi0_artifacts.pi0
    assert any("cached" in line for line in logs) and not any("[sft] TRL" in line for line in logs)


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with io.atomic_dir(target) as tmp:
            (tmp / "half.bin").write_text("x")
            raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with io.atomic_dir(target) as tmp:
        (tmp / "whole.bin").write_text("x")
    assert (target / "whole.bin").exists()


def test_write_json_is_atomic_and_readable(tmp_path):
    import json

    p = io.write_json(tmp_path / "r.json", {"a": 1.5})
    assert json.loads(p.read_text()) == {"a": 1.5}
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_policy_given_by_path_uses_the_full_mode_code_path(pi0_artifacts, ci_cfg):
    """Full mode names a base model (hub id or folder) instead of "lite"; the same stages run on it."""
    cfg = with_overrides(ci_cfg, {"policy": str(pi0_artifacts.init), "sft.num_demos": 256, "sft.epochs": 1.0})
    art = prepare_pi0(cfg, progress=False, log=lambda *a: None)
    assert str(art.init) == str(pi0_artifacts.init)
    assert not (art.root / "pi_init").exists()  # nothing was built from scratch
    assert (art.pi0 / "model.safetensors").exists()
    assert art.metrics["eval_loss_after"] < art.metrics["eval_loss_before"]


def test_code_fingerprint_is_fixed_for_the_life_of_a_process(tmp_path, monkeypatch):
    """Editing the package while a notebook runs must not change the cache key mid-run."""
    before = io.code_fingerprint()
    (tmp_path / "mod.py").write_text("x = 1\n")
    monkeypatch.setattr(io, "PACKAGE_DIR", tmp_path)  # as if every source file had changed
    assert io.code_fingerprint() == before
    io.code_fingerprint.cache_clear()
    try:
        assert io.code_fingerprint() != before  # a new process would see the new code
    finally:
        io.code_fingerprint.cache_clear()


def test_code_fingerprint_sees_every_sub_package(tmp_path, monkeypatch):
    """The stages' code lives in sub-packages (world/, policy/, ...): an edit there must change the key."""
    (tmp_path / "policy").mkdir()
    (tmp_path / "config.py").write_text("x = 1\n")
    (tmp_path / "policy" / "dpo.py").write_text("beta = 0.1\n")
    monkeypatch.setattr(io, "PACKAGE_DIR", tmp_path)
    io.code_fingerprint.cache_clear()
    try:
        before = io.code_fingerprint()
        (tmp_path / "policy" / "dpo.py").write_text("beta = 0.2\n")
        io.code_fingerprint.cache_clear()
        edited = io.code_fingerprint()
        (tmp_path / "policy" / "dpo.py").rename(tmp_path / "dpo.py")  # the same file moved up a folder
        (tmp_path / "dpo.py").write_text("beta = 0.1\n")
        io.code_fingerprint.cache_clear()
        moved = io.code_fingerprint()
    finally:
        io.code_fingerprint.cache_clear()
    assert len({before, edited, moved}) == 3


def test_an_edit_to_the_pages_code_keeps_the_stages_but_reruns_the_chapters(tmp_path, monkeypatch):
    """The scorecard's or the course guide's code decides what a page says, not what a stage computes: editing
    it must leave every trained model valid, and still change the key of an executed chapter."""
    (tmp_path / "stages.py").write_text("x = 1\n")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "scorecard.py").write_text("rule = 1\n")
    monkeypatch.setattr(io, "PACKAGE_DIR", tmp_path)
    io.code_fingerprint.cache_clear()
    try:
        stages, pages = io.code_fingerprint(), io.code_fingerprint(pages=True)
        (tmp_path / "site" / "scorecard.py").write_text("rule = 2\n")
        io.code_fingerprint.cache_clear()
        assert io.code_fingerprint() == stages and io.code_fingerprint(pages=True) != pages
        (tmp_path / "stages.py").write_text("x = 2\n")
        io.code_fingerprint.cache_clear()
        assert io.code_fingerprint() != stages
    finally:
        io.code_fingerprint.cache_clear()
