"""The rlhf-lite CLI runs every stage end to end on the CPU from the lite presets, one stage at a time as a
user would, each finding the previous one's artifacts; QLoRA and two-process (DDP) runs go the same way."""

import json
import os
import subprocess
import sys

import pytest
from test_online import CFG  # the online tests' small loop: the stages below reuse their pi_0, data and judges
from typer.testing import CliRunner

from rlhf_lite.cli import app
from rlhf_lite.config import Config
from rlhf_lite.online.loop import iteration_dir

SETS = [x for k, v in CFG.items() for x in ("--set", f"{k}={v}")]


def run(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def last_json(result):
    return json.loads([line for line in result.stdout.splitlines() if line.startswith('{"')][-1])


@pytest.fixture(scope="module")
def cfg():
    return Config.preset("ci", **CFG)


def test_every_stage_runs_from_the_command_line_and_finds_the_last_ones_artifacts(cfg):
    run("curate", "--profile", "ci", *SETS)
    assert os.path.exists(last_json(run("sft", "--profile", "ci", *SETS))["pi0"])
    assert "bt-mix2" in last_json(run("train-rm", "--profile", "ci", *SETS))
    assert "pm-mix2" in last_json(run("train-pm", "--profile", "ci", *SETS))
    for t in (1, 2):  # Algorithm 2, one stage at a time
        run("generate", "--profile", "ci", *SETS, "--iteration", str(t), "--seed", "7")
        run("annotate", "--profile", "ci", *SETS, "--iteration", str(t), "--seed", "7")
        report = last_json(run("pair", "--profile", "ci", *SETS, "--iteration", str(t), "--seed", "7"))["report"]
        assert report["pairs"] > 0
        run("dpo", "--profile", "ci", *SETS, "--iteration", str(t), "--seed", "7")
    it2 = iteration_dir(cfg, 7, 2)
    metrics = json.loads((it2 / "train_metrics.json").read_text())
    assert metrics["policy_init"] == "iter1/policy" and metrics["reference"].endswith("pi0")
    # the loop command finds every stage done and only evaluates; its iterates are the ones trained above
    stamp = (it2 / "policy" / "model.safetensors").stat().st_mtime_ns
    out = last_json(run("loop", "--profile", "ci", *SETS, "--seed", "7"))
    assert out["best_iteration"] in (1, 2) and len(out["validation"]) == 2
    assert (it2 / "policy" / "model.safetensors").stat().st_mtime_ns == stamp
    rows = [json.loads(x) for x in run("evaluate", "--profile", "ci", *SETS, "--seed", "7").stdout.splitlines()
            if x.startswith('{"')]
    assert [r["policy"] for r in rows] == ["pi_1", "pi_2"]
    summary = json.loads((it2.parent / "summary.json").read_text())  # what the loop measured on the same samples
    assert [r["win_rate"] for r in rows] == [e["win_rate"] for e in summary["evals"][1:]]
    off = last_json(run("dpo", "--profile", "ci", *SETS, "--offline", "--seed", "7"))
    assert os.path.exists(off["policy"])


def test_stages_out_of_order_say_what_to_run_first(cfg):
    result = CliRunner().invoke(app, ["generate", "--profile", "ci", *SETS, "--iteration", "2", "--seed", "99"])
    assert result.exit_code != 0 and "rlhf-lite dpo --iteration 1" in result.output
    result = CliRunner().invoke(app, ["dpo", "--profile", "ci", *SETS, "--iteration", "2", "--seed", "99"])
    assert result.exit_code != 0 and "run the loop (or generate, annotate, pair, dpo)" in str(result.exception)


def test_overrides_and_recipes_are_checked():
    result = CliRunner().invoke(app, ["plan", "--profile", "ci", "--set", "sft.epochz=2"])
    assert result.exit_code != 0 and "epochz" in result.output
    result = CliRunner().invoke(app, ["plan", "--profile", "ci", "--set", "sft.epochs"])
    assert result.exit_code != 0 and "key=value" in result.output


def test_plan_prints_one_row_per_stage_for_the_full_recipes(root):
    rows = [json.loads(x) for x in run("plan", "--recipe", str(root / "recipes/full/paper-qlora.yaml"), "--gpu-gb",
                                       "24").stdout.splitlines() if x.startswith('{"')]
    assert [r["stage"] for r in rows] == ["SFT", "reward model", "preference model", "DPO", "generation (vLLM)"]
    assert all(r["fits"] for r in rows) and rows[0]["setup"] == "QLoRA r=16"


def test_a_training_stage_warns_when_the_plan_does_not_fit(root):
    # the full-parameter 8B recipe on a 24 GB GPU: the planner's warning comes before anything is loaded
    result = CliRunner().invoke(app, ["sft", "--recipe", str(root / "recipes/full/paper.yaml"), "--gpu-gb", "24",
                                      "--set", "sft.dataset=/nonexistent/sft-data"])
    assert "will probably NOT fit" in result.output
    assert result.exit_code != 0  # and then the missing data set stops it


def test_qlora_recipe_runs_sft_and_the_reward_model_on_cpu(root):
    recipe = str(root / "recipes/lite/ci-qlora.yaml")
    small = ["--set", "sft.num_demos=800", "--set", "sft.epochs=1", "--set", "reward.epochs=1",
             "--set", "data.scale=0.1", "--set", "data.prompts_per_iteration=30", "--set", "eval_prompts=20"]
    pi0 = last_json(run("sft", "--recipe", recipe, *small))["pi0"]
    assert os.path.exists(os.path.join(pi0, "adapter", "adapter_config.json"))
    rm = last_json(run("train-rm", "--recipe", recipe, *small))["bt-mix2"]["path"]
    assert os.path.exists(os.path.join(rm, "adapter", "adapter_config.json"))


def test_two_processes_train_one_policy_and_write_it_once(tmp_path):
    # torchrun is what `accelerate launch --multi_gpu` runs; on the CPU the processes talk over gloo
    env = dict(os.environ, RLHF_LITE_RUNS=str(tmp_path))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "rlhf_lite.cli", "sft",
           "--profile", "ci", "--set", "sft.num_demos=2000", "--set", "sft.epochs=1"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith('{"')]
    assert len(lines) == 2 and lines[0] == lines[1]  # both processes ended with the same pi_0
    stage = os.path.dirname(lines[0]["pi0"])
    # no scratch folders left (a file's manifest, ".<name>.manifest.json", is not one)
    assert sorted(n for n in os.listdir(stage) if not n.endswith(".manifest.json")) == \
        ["data", "pi0", "pi_init", "sft_metrics.json"]
    assert os.path.exists(os.path.join(stage, "pi0", "manifest.json"))  # written once, by the main process
    metrics = json.load(open(os.path.join(stage, "sft_metrics.json")))
    # 2000 demonstrations, batch 64 per process: 16 steps each (one process alone would take 32)
    assert max(h["step"] for h in metrics["log_history"]) <= 16
    from rlhf_lite.policy.models import load_policy

    load_policy(lines[0]["pi0"])


def test_book_command_is_the_book_build(monkeypatch):
    import rlhf_lite.site.book

    seen = []
    monkeypatch.setattr(rlhf_lite.site.book, "main", lambda argv: seen.append(argv))
    run("book", "--profile", "ci", "--only", "03")
    assert seen == [["--profile", "ci", "--only", "03"]]


def test_stages_that_are_not_collective_refuse_a_multi_process_launch(cfg, monkeypatch):
    from rlhf_lite.online.loop import generate

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="runs in one process"):
        generate(cfg, 123, 1, policy=None, make=None)


def test_main_process_writes_and_the_others_wait(tmp_path, monkeypatch):
    import threading
    import time

    from rlhf_lite.io import main_writes

    target = tmp_path / "artifact"
    monkeypatch.setenv("RANK", "1")  # not the main process: must not write, must wait
    threading.Timer(1.5, target.touch).start()  # the "main process"
    start = time.time()
    main_writes(target.exists, lambda: pytest.fail("a non-main process wrote"), "artifact")
    assert target.exists() and time.time() - start >= 1.0
