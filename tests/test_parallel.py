"""Independent jobs side by side: the same artifacts as one after another, logs kept per job, failures
reported, and cached steps computed once."""

import hashlib
import shutil

import parallel_jobs as jobs
import pytest

from rlhf_lite.config import Config
from rlhf_lite.io import cached_json, cached_model, runs_dir
from rlhf_lite.online.loop import online_root
from rlhf_lite.online.runner import run_recipes
from rlhf_lite.parallel import JobError, run_jobs

CFG = {"online.iterations": 2, "data.prompts_per_iteration": 60, "sampling.n": 4, "eval_prompts": 30,
       "online.eval_n": 2, "online.validation_prompts": 20}


def _hashes(root):
    return {str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(root.rglob("*")) if f.is_file() and f.suffix in (".jsonl", ".safetensors")}


def test_loops_in_two_processes_write_the_same_bytes_as_one_after_another():
    """A loop seed and an offline baseline: in this process one after the other, then side by side in two
    worker processes. Samples, scores, pairs, evaluations and weights must be byte-identical."""
    cfg = Config.preset("ci", **CFG)
    root, seed = online_root(cfg), 21  # a seed no other test uses: every artifact is this test's own

    def clear():  # this test's loop artifacts and every shared one, so that the second run redoes them all
        shutil.rmtree(root / f"seed{seed}", ignore_errors=True)
        shutil.rmtree(runs_dir() / "shared", ignore_errors=True)

    clear()
    serial, _ = run_recipes({"a": cfg}, [seed], offline=cfg, workers=1, log=lambda *a: None, progress=False)
    first = _hashes(root / f"seed{seed}")
    assert any(k.endswith("model.safetensors") for k in first) and any("samples.jsonl" in k for k in first)
    assert any(k.startswith("offline") for k in first)
    clear()
    parallel, offline = run_recipes({"a": cfg}, [seed], offline=cfg, workers=2, log=lambda *a: None, progress=False)
    assert _hashes(root / f"seed{seed}") == first
    assert [r.evals for r in parallel["a"]] == [r.evals for r in serial["a"]]
    assert offline[0]["eval"]["samples"] == serial["a"][0].evals[0]["samples"]


def test_run_jobs_keeps_order_and_each_jobs_log_lines_together_and_fixes_the_threads():
    lines = []
    out = run_jobs(jobs.square, [((x,), {}) for x in (3, 1, 2)], workers=2, log=lines.append, progress=False)
    assert out == [9, 1, 4]
    assert sorted(lines) == sorted(f"job {x} {w}" for x in (3, 1, 2) for w in ("starts", "ends"))
    for x in (3, 1, 2):  # a job's lines arrive together, in order
        i = lines.index(f"job {x} starts")
        assert lines[i + 1] == f"job {x} ends"
    # every job has the fixed thread count, in a worker and in this process
    assert run_jobs(jobs.threads, [((), {})] * 2, workers=2, threads=1, progress=False) == [1, 1]
    assert run_jobs(jobs.threads, [((), {})], workers=1, threads=1, progress=False) == [1]


def test_run_jobs_starts_the_costliest_job_first_and_returns_results_in_the_order_given():
    lines = []
    out = run_jobs(jobs.square, [((x,), {}) for x in (3, 1, 2)], workers=1, log=lines.append, progress=False,
                   costs=[1.0, 5.0, 3.0])
    assert out == [9, 1, 4]
    assert [line for line in lines if line.endswith("starts")] == ["job 1 starts", "job 2 starts", "job 3 starts"]
    with pytest.raises(ValueError, match="one estimate per job"):
        run_jobs(jobs.square, [((1,), {})], workers=1, log=lambda *a: None, costs=[1.0, 2.0])


def test_a_failing_job_fails_the_call_with_its_own_error_and_what_it_logged():
    with pytest.raises(JobError, match="ValueError: negative: -1") as e:
        run_jobs(jobs.square, [((2,), {}), ((-1,), {})], workers=2, log=lambda *a: None, progress=False)
    assert "job -1 starts" in str(e.value)


def test_run_jobs_refuses_bad_worker_settings(monkeypatch):
    monkeypatch.setenv("RLHF_LITE_WORKERS", "0")
    with pytest.raises(ValueError, match="RLHF_LITE_WORKERS must be >= 1"):
        run_jobs(jobs.square, [((1,), {})], log=lambda *a: None)


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


def test_recipes_share_what_they_would_compute_alike_and_nothing_else():
    """Two recipes that differ only in the length penalty: pi_0's samples on iteration 1's prompts, their
    scores and pi_0's evaluation are computed once and copied; the pairs (penalised) differ."""
    from rlhf_lite.config import with_overrides

    cfg = Config.preset("ci", **{**CFG, "online.iterations": 1})
    plain, concise = cfg, with_overrides(cfg, {"online.length_penalty": 0.05})
    lines = []
    # loop seed 31 is this test's own: nothing it shares was computed before
    runs, _ = run_recipes({"plain": plain, "concise": concise}, [31], workers=1, log=lines.append, progress=False)
    a, b = runs["plain"][0].root, runs["concise"][0].root
    assert a != b
    for f in ("iter1/generations.jsonl", "iter1/samples.jsonl", "pi0_eval/eval.jsonl", "pi0_eval/validation.jsonl"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "iter1/pairs.jsonl").read_bytes() != (b / "iter1/pairs.jsonl").read_bytes()
    computed = [x for x in lines if x.startswith(("[iter 1] generate", "[iter 1] annotate", "[eval] pi_0"))
                and "shared" not in x]
    assert len(computed) == 3, computed  # once each
    assert sum("shared" in x for x in lines) == 2  # the second recipe's generation and annotation


def test_recipes_that_differ_in_rounds_alone_run_once_the_longest_first(monkeypatch):
    """A recipe asked for 2 and for 3 rounds (same folder, same seed) runs once, for 3; the 2-round run is then read
    from that folder. Jobs start costliest first; each name gets its own seeds back in order."""
    import rlhf_lite.online.runner as runner
    from rlhf_lite.config import with_overrides

    cfg = Config.preset("ci", **{**CFG, "online.iterations": 2})
    longer = with_overrides(cfg, {"online.iterations": 3})
    other = with_overrides(cfg, {"online.length_penalty": 0.05})
    calls = []

    def job(kind, c, seed, progress=False, log=print):
        calls.append((kind, c.online.iterations, c.online.length_penalty, seed))
        return calls[-1]

    monkeypatch.setattr(runner, "_loop_job", job)
    runs, off = run_recipes({"short": cfg, "long": (longer, [0]), "other": other}, [0, 1], offline=cfg, workers=1,
                            log=lambda *a: None, progress=False)
    assert runs["long"] == [("online", 3, 0.0, 0)] and runs["other"] == [("online", 2, 0.05, 0), ("online", 2, 0.05, 1)]
    assert runs["short"] == [("online", 2, 0.0, 0), ("online", 2, 0.0, 1)] and off == [("offline", 2, 0.0, 0),
                                                                                      ("offline", 2, 0.0, 1)]
    pool = calls[:6]  # the pool's jobs, then the short run of seed 0 read back in this process
    assert pool[0] == ("online", 3, 0.0, 0)  # the longest first
    assert sorted(pool) == sorted([("online", 3, 0.0, 0), ("online", 2, 0.0, 1), ("online", 2, 0.05, 0),
                                   ("online", 2, 0.05, 1), ("offline", 2, 0.0, 0), ("offline", 2, 0.0, 1)])
    assert pool[-2:] == [("offline", 2, 0.0, 0), ("offline", 2, 0.0, 1)]  # the cheapest last
    assert calls[6:] == [("online", 2, 0.0, 0)]
