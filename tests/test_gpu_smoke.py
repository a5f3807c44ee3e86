"""The GPU smoke test's parts that do not need a GPU: its recipes, the vLLM head-size check, the memory verdict,
the step runner (each step in its own process) and its report, and what it says on a machine with no GPU."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rlhf_lite import smoke
from rlhf_lite.cli import app
from rlhf_lite.config import Config
from rlhf_lite.scale.memory import plan_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_loop_step_samples_with_vllm_on_a_model_its_kernels_take():
    cfg = smoke.step_config("loop")
    assert cfg.sampling.backend == "vllm" and cfg.online.iterations == 2
    assert smoke.head_size(cfg) in smoke.VLLM_HEAD_SIZES
    assert smoke.head_size(Config.preset("ci")) not in smoke.VLLM_HEAD_SIZES  # why the smoke widens the model


def test_the_qlora_step_trains_a_4bit_base_through_adapters_and_is_planned_as_such():
    cfg = smoke.step_config("qlora-dpo")
    assert cfg.lora.enabled and cfg.lora.quantize_4bit
    (dpo,) = [r for r in plan_config(cfg, 24.0) if getattr(r, "stage", None) == "DPO"]
    assert dpo.note.startswith("QLoRA") and dpo.total > dpo.overhead > 0
    with pytest.raises(ValueError, match="no recipe"):
        smoke.step_config("env")


def test_the_memory_verdict_says_whether_the_planner_held():
    held = smoke.memory_verdict(predicted_gb=3.0, overhead_gb=1.0, peak_bytes=int(1.5e9))
    assert held["verdict"].startswith("the planner holds") and held["measured_over_predicted"] == 0.75
    missed = smoke.memory_verdict(predicted_gb=3.0, overhead_gb=1.0, peak_bytes=int(3.5e9))
    assert "under-predicts by 0.500 GB" in missed["verdict"]


def test_each_step_runs_in_its_own_process_and_the_report_says_what_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_LITE_RUNS", str(tmp_path))
    report = smoke.main(("env", "loop"), log=lambda *a: None)
    assert report["env"]["ok"] and report["env"]["cuda"] is False and report["env"]["torch"]
    assert not report["loop"]["ok"] and "needs a CUDA GPU" in report["loop"]["error"]  # this machine has none
    assert json.loads((tmp_path / "gpu-smoke" / "report.json").read_text()) == report
    assert "needs a CUDA GPU" in (tmp_path / "gpu-smoke" / "loop.log").read_text()


def test_the_command_exits_1_when_a_step_fails_and_refuses_unknown_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHF_LITE_RUNS", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["gpu-smoke", "--step", "env"]).exit_code == 0
    assert runner.invoke(app, ["gpu-smoke", "--step", "qlora-dpo"]).exit_code == 1
    bad = runner.invoke(app, ["gpu-smoke", "--step", "warp"])
    assert bad.exit_code == 2 and "unknown steps" in bad.output


def test_the_script_stops_at_once_without_a_gpu():
    env = dict(os.environ, PATH="/usr/bin:/bin")  # no nvidia-smi on this machine's PATH
    out = subprocess.run(["bash", str(ROOT / "tools" / "gpu_smoke.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 2 and "no NVIDIA GPU visible" in out.stderr
