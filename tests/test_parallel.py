"""Independent jobs side by side: the same artifacts as one after another, logs kept per job, failures
reported, and cached steps computed once."""

import hashlib

import pytest

from rlhf_lite.config import Config
from rlhf_lite.io import cached_json, cached_model
from rlhf_lite.online import online_root, run_recipes
from rlhf_lite.parallel import run_jobs

CFG = {"online.iterations": 2, "data.prompts_per_iteration": 60, "sampling.n": 4, "eval_prompts": 30,
       "online.eval_n": 2, "online.validation_prompts": 20}


def _hashes(root):
    return {str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(root.rglob("*")) if f.is_file() and f.suffix in (".jsonl", ".safetensors")}


def test_loops_in_two_processes_write_the_same_bytes_as_one_after_another():
    """Two loop seeds and an offline baseline: serially in this process, then two at a time in worker
    processes. Samples, scores, pairs, evaluations and weights must be byte-identical."""
    cfg = Config.preset("ci", **CFG)
    root = online_root(cfg)
    serial, _ = run_recipes({"a": cfg}, [0, 1], offline=cfg, workers=1, log=lambda *a: None, progress=False)
    first = _hashes(root)
    assert any(k.endswith("model.safetensors") for k in first) and any("samples.jsonl" in k for k in first)
    for f in root.rglob("*"):  # drop the loop's artifacts (not pi_0, the data or the judge) and redo them
        if f.is_file():
            f.unlink()
    parallel, offline = run_recipes({"a": cfg}, [0, 1], offline=cfg, workers=2, log=lambda *a: None, progress=False)
    assert _hashes(root) == first
    assert [r.evals for r in parallel["a"]] == [r.evals for r in serial["a"]]
    assert len(offline) == 2 and offline[0]["eval"]["samples"] == serial["a"][0].evals[0]["samples"]


def _square(x, log=print):
    log(f"job {x} starts")
    log(f"job {x} ends")
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def test_run_jobs_keeps_order_and_each_jobs_log_lines_together():
    lines = []
    out = run_jobs(_square, [((x,), {}) for x in (3, 1, 2)], workers=2, log=lines.append, progress=False)
    assert out == [9, 1, 4]
    assert sorted(lines) == sorted(f"job {x} {w}" for x in (3, 1, 2) for w in ("starts", "ends"))
    for x in (3, 1, 2):  # a job's lines arrive together, in order
        i = lines.index(f"job {x} starts")
        assert lines[i + 1] == f"job {x} ends"


def test_a_failing_job_fails_the_call_with_its_own_error():
    with pytest.raises(ValueError, match="negative: -1"):
        run_jobs(_square, [((2,), {}), ((-1,), {})], workers=2, log=lambda *a: None, progress=False)


def test_run_jobs_refuses_bad_worker_settings(monkeypatch):
    monkeypatch.setenv("RLHF_LITE_WORKERS", "0")
    with pytest.raises(ValueError, match="RLHF_LITE_WORKERS must be >= 1"):
        run_jobs(_square, [((1,), {})], log=lambda *a: None)


def test_cached_steps_run_once_and_a_crash_leaves_nothing(tmp_path):
    calls = []

    def train(folder):
        calls.append(folder)
        (folder / "weights").write_text("w")
        return {"loss": 0.5}

    assert cached_model(tmp_path / "m", train) == {"loss": 0.5}
    assert cached_model(tmp_path / "m", train) == {"loss": 0.5} and len(calls) == 1
    assert (tmp_path / "m" / "weights").read_text() == "w"

    def crash(folder):
        (folder / "weights").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_model(tmp_path / "n", crash)
    assert not (tmp_path / "n").exists()
    assert cached_json(tmp_path / "j.json", lambda: {"margin": 0.25}) == {"margin": 0.25}
    assert cached_json(tmp_path / "j.json", lambda: {"margin": 9.0}) == {"margin": 0.25}
