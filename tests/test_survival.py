"""What survives what: the ci-profile loop run as a real process (`rlhf-lite loop`), killed with SIGKILL at
several moments and run again, ends with the same artifacts as an uninterrupted run; two processes started
on one runs/ folder wait for each other; a damaged artifact under runs/ is caught and rebuilt.

Bit for bit means every file of the loop's folder, with two exceptions, both of which record *where* a run
happened rather than what it computed: TRL's ``training_args.bin`` (it holds the random name of the scratch
folder the policy was trained in) and the absolute paths in the metrics (the runs/ folder differs by test).
Everything else (samples, scores, pairs, weights, evaluations, summary) is deterministic on the CPU and
compared as bytes."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ["--profile", "ci", "--set", "online.iterations=2", "--set", "data.prompts_per_iteration=60",
            "--set", "sampling.n=4", "--set", "eval_prompts=30", "--set", "online.eval_n=2",
            "--set", "online.validation_prompts=20"]
LOOP = ["loop", *SETTINGS]
NOT_COMPARED = {"training_args.bin"}  # holds the scratch folder's random name: where, not what


def _env(runs: Path) -> dict:
    # PYTHONPATH: tests/killed_at.py must import this checkout's package, as `python -m` from ROOT does
    return dict(os.environ, RLHF_LITE_RUNS=str(runs), PYTHONUNBUFFERED="1", GOMP_SPINCOUNT="5000", PYTHONPATH=str(ROOT))


def _cli(runs: Path, *args, killer: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "tests" / "killed_at.py"), killer, "--", *args] if killer else \
        [sys.executable, "-m", "rlhf_lite.cli", *args]
    return subprocess.run(cmd, env=_env(runs), capture_output=True, text=True, timeout=900, cwd=ROOT)


def _loop_dir(runs: Path) -> Path:
    (found,) = runs.glob("ci-online-*/seed0")
    return found


def _artifacts(runs: Path, *copied_from: Path) -> dict:
    """{relative path: bytes} of the loop's folder, manifests excepted (they hash training_args.bin too), with
    the runs/ folder's own path (and that of any folder its files were copied from) written as <runs>."""
    loop = _loop_dir(runs)
    out = {}
    for f in sorted(loop.rglob("*")):
        if f.is_file() and f.name not in NOT_COMPARED and not f.name.endswith("manifest.json") and f.name != ".lock":
            data = f.read_bytes()
            for folder in (runs, *copied_from):
                data = data.replace(str(folder).encode(), b"<runs>")
            out[f.relative_to(loop).as_posix()] = data
    return out


def _leftovers(runs: Path) -> list:
    return sorted(p.relative_to(runs).as_posix() for p in runs.rglob("*.tmp-*"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run, from nothing: pi_0, the data, the judge, and the loop."""
    runs = tmp_path_factory.mktemp("uninterrupted")
    out = _cli(runs, *LOOP)
    assert out.returncode == 0, out.stderr[-3000:]
    return runs, _artifacts(runs)


def _foundation(reference, tmp_path) -> Path:
    """A runs/ folder holding the reference's pi_0, data and judge, but nothing of the loop (runs/shared also
    goes: pi_0's samples would otherwise be reused, and iteration 1 would not sample at all)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    for d in reference[0].iterdir():
        if d.is_dir() and "-online-" not in d.name and d.name != "shared":
            shutil.copytree(d, runs / d.name)
    return runs


def _resume_and_compare(runs: Path, reference) -> str:
    out = _cli(runs, *LOOP)
    assert out.returncode == 0, out.stderr[-3000:]
    got, want = _artifacts(runs), reference[1]
    assert got.keys() == want.keys()
    assert [k for k in want if got[k] != want[k]] == []  # every artifact equal to the uninterrupted run's
    assert _leftovers(runs) == []  # the killed process's scratch copies were removed
    return out.stdout


def test_killed_during_sampling_resumes_to_the_same_artifacts(reference, tmp_path):
    """Killed inside iteration 2's sampling (the second call of the loop's sampler; the first is iteration 1's).
    A kill from outside, 0.1 s after the stage's log line, once came after a fast sampler had already written
    generations.jsonl; the kill from inside the process cannot miss."""
    runs = _foundation(reference, tmp_path)
    out = _cli(runs, *LOOP, killer="call:rlhf_lite.online.loop:sample_responses@2")
    assert out.returncode == -signal.SIGKILL and "[iter 2] generate:" in out.stdout, out.stderr[-2000:]
    it2 = _loop_dir(runs) / "iter2"
    assert (it2.parent / "iter1" / "policy").exists() and not (it2 / "generations.jsonl").exists()
    log = _resume_and_compare(runs, reference)
    assert "[iter 1] DPO on" not in log  # the finished round was not trained again


def test_killed_during_dpo_resumes_to_the_same_artifacts(reference, tmp_path):
    """Killed inside iteration 1's DPO, as its second optimiser step begins. A kill from outside, 0.5 s after the
    stage's log line, once came after a fast machine had finished the round (CI, 2026-12-08); the kill from
    inside cannot miss."""
    runs = _foundation(reference, tmp_path)
    out = _cli(runs, *LOOP, killer="call:transformers.trainer:Trainer.training_step@2")
    assert out.returncode == -signal.SIGKILL and "[iter 1] DPO on" in out.stdout, out.stderr[-2000:]
    it1 = _loop_dir(runs) / "iter1"
    assert (it1 / "pairs.jsonl").exists() and not (it1 / "policy").exists()
    assert list(it1.glob(".policy.tmp-*"))  # killed mid-training: its scratch folder is left behind ...
    _resume_and_compare(runs, reference)  # ... and removed by the rerun


@pytest.mark.parametrize("name", ["pairs.jsonl@2", ".samples.jsonl.manifest.json@2", "policy@2"])
def test_killed_while_writing_resumes_to_the_same_artifacts(reference, tmp_path, name):
    """Killed at the rename that puts an artifact in place: after its manifest is written but before the file
    (pairs.jsonl), inside the manifest's own write (samples), and with a trained policy complete in its
    scratch folder (policy)."""
    runs = _foundation(reference, tmp_path)
    out = _cli(runs, *LOOP, killer=name)
    assert out.returncode == -signal.SIGKILL and "[killed_at] SIGKILL" in out.stdout, out.stderr[-2000:]
    assert _leftovers(runs)  # the half-done write left its scratch copy
    _resume_and_compare(runs, reference)


def test_two_processes_on_one_runs_folder_wait_for_each_other(reference, tmp_path):
    """Started together from nothing: the second waits at each stage the first holds, then reuses its work."""
    runs = tmp_path / "runs"
    procs = [subprocess.Popen([sys.executable, "-m", "rlhf_lite.cli", *LOOP], env=_env(runs), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    logs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert logs[0].splitlines()[-1] == logs[1].splitlines()[-1]  # the same output policy and validation
    assert any("[lock] another process is running" in log for log in logs)
    both = "".join(logs)
    assert both.count("[sft] TRL SFTTrainer") == 1 and both.count("] DPO on") == 2  # each stage trained once
    assert _artifacts(runs) == reference[1] and _leftovers(runs) == []


def test_a_damaged_cache_is_caught_and_rebuilt(reference, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(reference[0], runs)
    loop = _loop_dir(runs)
    weights = loop / "iter2" / "policy" / "model.safetensors"
    with open(weights, "r+b") as f:  # truncated, as by a full disk
        f.truncate(weights.stat().st_size // 2)
    samples = loop / "iter1" / "samples.jsonl"
    data = bytearray(samples.read_bytes())
    data[100] = ord("7") if data[100] != ord("7") else ord("8")  # one byte altered, the size unchanged
    samples.write_bytes(bytes(data))
    pi0_weights = next(runs.glob("ci-*/pi0/model.safetensors"))
    pi0_weights.write_bytes(pi0_weights.read_bytes()[:-10] + b"0123456789")
    out = _cli(runs, *LOOP)
    assert out.returncode == 0, out.stderr[-3000:]
    for damaged in (weights, samples, pi0_weights):
        assert f"damaged cache: {damaged}" in out.stdout or f"damaged cache: {damaged.parent}" in out.stdout
    assert "[sft] TRL SFTTrainer" in out.stdout and "[iter 2] DPO on" in out.stdout  # rebuilt, not reused
    moved = sorted(p.name for p in (runs / "damaged").rglob("*") if p.is_file())
    assert "model.safetensors" in moved and "samples.jsonl" in moved
    assert _artifacts(runs, reference[0]) == reference[1]
