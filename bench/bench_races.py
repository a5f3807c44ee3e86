"""Races: each costly step of the book against its obvious alternative, as ratios measured in one run.

    .venv/bin/python bench/bench_races.py [--profile book] [--only dpo sampling threads growth shared]
                                          [--runs DIR] [--write]

1. dpo       one DPO epoch with TRL's live reference forward against precomputed reference log-probs
             (TRL's precompute_ref_log_probs, once per round; and once per history, derived), and the
             loss of one batch both ways;
2. sampling  the batched n-sample sampler against a per-prompt loop and against repeated prompts;
3. threads   independent loop seeds: one process with 2 torch threads against 2 processes with 1 each,
             and whether the two ways write identical artifacts;
4. growth    one online iteration's time against prompts x samples, with the fitted exponent;
5. shared    a training job alone and beside a second CPU-bound job, per thread setting.
(Where the time of each chapter goes: bench_reward.py, bench_online.py and the book build's own
timings, results/book_timings.json.)

Nothing here is asserted in tests. ``--write`` puts the table of this run, with the machine it ran on,
into bench/README.md. ``--runs`` reuses a runs folder that already holds the profile's pi_0, data and
judge (by default everything is built in a temporary folder first, and that time is reported as setup).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS: list[tuple[str, str, str, str]] = []  # (race, what, measured, target)


def row(race, what, measured, target=""):
    ROWS.append((race, what, measured, target))
    print(f"  {what}: {measured}" + (f"   (target: {target})" if target else ""), flush=True)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def setup(profile: str, judge: bool):
    from rlhf_lite.config import Config
    from rlhf_lite.online.judge import load_judge
    from rlhf_lite.stages import prepare_pi0, prepare_preference_data

    cfg = Config.preset(profile)
    quiet = lambda *a: None  # noqa: E731
    pi0 = prepare_pi0(cfg, progress=False, log=quiet).pi0
    prepare_preference_data(cfg, log=quiet)
    if judge:
        load_judge(cfg, progress=False, log=quiet)
    return cfg, pi0


# ----------------------------------------------------------------------------- 1. DPO reference


def race_dpo(cfg, pi0):
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.policy.dpo import batch_loss, dpo_trainer, train_dpo

    m = cfg.data.prompts_per_iteration
    pairs = offline_pairs(cfg, m, seed=0)
    print(f"[dpo] {m} MIX2 pairs from pi_0, batch {cfg.dpo.batch_size}", flush=True)
    live1 = dataclasses.replace(cfg.dpo, epochs=1.0, precompute_ref_log_probs=False)
    pre1 = dataclasses.replace(live1, precompute_ref_log_probs=True)
    pre2 = dataclasses.replace(pre1, epochs=2.0)
    with tempfile.TemporaryDirectory() as tmp:
        t_live, _ = timed(lambda: train_dpo(pi0, pi0, pairs, Path(tmp) / "a", live1, progress=False))
        t_pre1, _ = timed(lambda: train_dpo(pi0, pi0, pairs, Path(tmp) / "b", pre1, progress=False))
        t_pre2, _ = timed(lambda: train_dpo(pi0, pi0, pairs, Path(tmp) / "c", pre2, progress=False))
        # pi_1 against pi_0 on one batch, reference live and precomputed
        a = dpo_trainer(Path(tmp) / "a", pi0, pairs, Path(tmp) / "s1", live1, progress=False)
        b = dpo_trainer(Path(tmp) / "a", pi0, pairs, Path(tmp) / "s2", pre1, progress=False)
        idx = list(range(min(64, len(pairs))))
        diff = abs(batch_loss(a, idx) - batch_loss(b, idx))
    epoch, score = t_pre2 - t_pre1, 2 * t_pre1 - t_pre2  # t_pre(k epochs) = score + k * epoch
    row("dpo", "one epoch, live reference (TRL default)", f"{t_live:.1f} s")
    row("dpo", "one epoch, precomputed (scoring / training)", f"{t_pre1:.1f} s ({score:.1f} / {epoch:.1f})")
    e = cfg.dpo.epochs
    per_round = t_live / (epoch + score / e)
    row("dpo", f"per epoch, precomputed once per round of {e:g} epochs", f"{per_round:.2f}x", ">= 1.3x")
    t, mult = cfg.online.iterations, range(1, cfg.online.iterations + 1)  # history "all": round k trains k m pairs
    live_loop = sum(k * e * t_live for k in mult)
    row("dpo", f"the loop's {t} rounds, precomputed per round", f"{live_loop / sum(k * (score + e * epoch) for k in mult):.2f}x")
    row("dpo", f"the loop's {t} rounds, precomputed once per pair (derived)",
        f"{live_loop / sum(score + k * e * epoch for k in mult):.2f}x")
    row("dpo", "difference of the loss, live against precomputed, on one batch", f"{diff:.1e}", "<= 1e-5")


# ----------------------------------------------------------------------------- 2. sampling


def race_sampling(cfg, pi0, prompts: int = 256):
    from rlhf_lite import world
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import HFSampler

    model, tok = load_policy(pi0)
    xs = world.sample_prompts(prompts, cfg.world, seed=7)
    n, new, bs = cfg.sampling.n, cfg.sampling.max_new_tokens, cfg.sampling.batch_size
    print(f"[sampling] {prompts} prompts x n={n}, {new} new tokens, T=1.0", flush=True)
    t_batched, _ = timed(lambda: HFSampler(model, tok, bs, progress=False).generate(xs, n, 1.0, new, 0))
    t_repeat, _ = timed(lambda: HFSampler(model, tok, bs * n, progress=False).generate(
        [x for x in xs for _ in range(n)], 1, 1.0, new, 0))
    few = xs[:64]  # the slow way on a quarter of the prompts, scaled
    t_loop, _ = timed(lambda: HFSampler(model, tok, 1, progress=False).generate(few, n, 1.0, new, 0))
    t_loop *= len(xs) / len(few)
    s = prompts * n
    row("sampling", f"batched ({bs} prompts x num_return_sequences={n})", f"{s / t_batched:.0f} samples/s")
    row("sampling", "prompts repeated n times, one sequence each", f"{s / t_repeat:.0f} samples/s "
        f"(batched {t_repeat / t_batched:.2f}x faster)")
    row("sampling", "a loop of generate, one prompt at a time", f"{s / t_loop:.0f} samples/s "
        f"(batched {t_loop / t_batched:.1f}x faster)", ">= 5x")


# ----------------------------------------------------------------------------- 3. threads and processes


def _loop_cfg(cfg):
    from rlhf_lite.config import with_overrides

    # one iteration on a quarter of the prompts: a loop job as chapter 6 runs it, small enough to race
    return with_overrides(cfg, {"online.iterations": 1, "online.validation_prompts": 50,
                                "data.prompts_per_iteration": cfg.data.prompts_per_iteration})


def _artifact_hashes(root: Path) -> dict:
    """Hashes of the loop's records and weights (metrics hold absolute paths and are left out)."""
    out = {}
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in (".jsonl", ".safetensors"):
            out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def race_threads(cfg, jobs: int = 2):
    from rlhf_lite.io import runs_dir
    from rlhf_lite.online.loop import online_root, run_online
    from rlhf_lite.parallel import run_jobs

    lcfg = _loop_cfg(cfg)
    root = online_root(lcfg)
    print(f"[threads] {jobs} loop seeds, 1 iteration of {lcfg.data.prompts_per_iteration} prompts each", flush=True)
    results = {}
    for name, workers, threads in (("1 process, 2 threads", 1, 2), ("1 process, 1 thread", 1, 1),
                                   ("2 processes, 1 thread each", 2, 1)):
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(runs_dir() / "shared", ignore_errors=True)  # each way computes everything itself
        secs, _ = timed(lambda: run_jobs(run_online, [((lcfg,), {"seed": k, "progress": False}) for k in range(jobs)],
                                         workers=workers, threads=threads, log=lambda *a: None, progress=False))
        results[name] = (secs, _artifact_hashes(root))
    base = results["1 process, 2 threads"][0]
    for name, (secs, _) in results.items():
        row("threads", name, f"{secs:.1f} s ({base / secs:.2f}x of 2 threads)")
    same = results["1 process, 1 thread"][1] == results["2 processes, 1 thread each"][1]
    row("threads", "serial and parallel (1 thread each) write identical records and weights", str(same), "True")
    row("threads", "2 threads and 1 thread write identical weights",
        str(results["1 process, 2 threads"][1] == results["1 process, 1 thread"][1]),
        "(False: CPU kernels sum in another order)")
    shutil.rmtree(root, ignore_errors=True)


# ----------------------------------------------------------------------------- 4. growth


def race_growth(cfg, pi0):
    import numpy as np

    from rlhf_lite.io import read_jsonl
    from rlhf_lite.online.judge import load_judge
    from rlhf_lite.online.loop import prepare_data
    from rlhf_lite.online.pairs import build_pairs
    from rlhf_lite.policy.dpo import train_dpo
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import HFSampler, sample_responses

    judge = load_judge(cfg, progress=False, log=lambda *a: None)
    pool = [r["prompt"] for r in read_jsonl(prepare_data(cfg, lambda *a: None).prompt_splits) if r["iteration"] == 1]
    model, tok = load_policy(pi0)
    m_max, n_max = cfg.data.prompts_per_iteration, cfg.sampling.n
    sizes = sorted({(m_max // 8, n_max), (m_max // 4, n_max), (m_max // 2, n_max), (m_max, n_max),
                    (m_max // 2, max(2, n_max // 4)), (m_max // 2, max(2, n_max // 2))})
    print(f"[growth] one iteration (sample, rank, pair, DPO on D_t) at prompts x samples = {sizes}", flush=True)
    xs, ys = [], []
    for m, n in sizes:
        prompts = pool[:m]
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            rows = sample_responses(HFSampler(model, tok, cfg.sampling.batch_size, progress=False), prompts, n,
                                    cfg.sampling.temperatures, cfg.sampling.max_new_tokens, seed=1)
            t1 = time.perf_counter()
            scores = judge.rank_scores(prompts, [[r["response"] for r in row] for row in rows])
            pairs, _ = build_pairs(prompts, [[r["response"] for r in row] for row in rows], scores, "best-worst", 0.0,
                                   seed=1, source="bench")
            t2 = time.perf_counter()
            train_dpo(pi0, pi0, pairs, Path(tmp) / "pi1", cfg.dpo, progress=False)
            t3 = time.perf_counter()
        xs.append(m * n)
        ys.append(t3 - t0)
        row("growth", f"{m} prompts x {n} samples", f"{t3 - t0:.1f} s (sample {t1 - t0:.1f}, rank+pair "
            f"{t2 - t1:.1f}, DPO {t3 - t2:.1f})")
    slope = np.polyfit(np.log(xs), np.log(ys), 1)[0]
    row("growth", "fitted exponent of time in prompts x samples", f"{slope:.2f}", "<= 1.1")


# ----------------------------------------------------------------------------- 5. a shared machine


def _job() -> float:
    """The unit of work of the shared-machine race (in a subprocess): one DPO epoch on the profile's policy."""
    from rlhf_lite.config import Config, with_overrides
    from rlhf_lite.online.loop import offline_pairs
    from rlhf_lite.policy.dpo import train_dpo
    from rlhf_lite.stages import prepare_pi0

    cfg = Config.preset(os.environ["BENCH_PROFILE"])
    pi0 = prepare_pi0(cfg, progress=False, log=lambda *a: None).pi0
    pairs = offline_pairs(cfg, cfg.data.prompts_per_iteration, seed=0)
    settings = with_overrides(cfg, {"dpo.epochs": 1.0}).dpo
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        train_dpo(pi0, pi0, pairs, Path(tmp) / "p", settings, progress=False)
        return time.perf_counter() - t0


SHARED_SETTINGS = {
    "2 threads, OpenMP default wait": {"OMP_NUM_THREADS": "2"},
    "2 threads, GOMP_SPINCOUNT=5000 (the book's)": {"OMP_NUM_THREADS": "2", "GOMP_SPINCOUNT": "5000"},
    "2 threads, OMP_WAIT_POLICY=PASSIVE": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread": {"OMP_NUM_THREADS": "1"},
}


def race_shared(cfg):
    print(f"[shared] a DPO epoch ({cfg.profile} policy, {cfg.data.prompts_per_iteration} pairs) alone and beside a "
          f"second job of the same kind, both with the same thread settings", flush=True)
    base_env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
    base_env["BENCH_PROFILE"] = cfg.profile
    for name, env in SHARED_SETTINGS.items():
        alone = min(_run_child({**base_env, **env}) for _ in range(2))
        other = subprocess.Popen([sys.executable, __file__, "--_child", "loop"], env={**base_env, **env},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(10)  # let the other job get going
        beside = _run_child({**base_env, **env})
        other.terminate()
        other.wait()
        row("shared", name, f"alone {alone:.1f} s, beside another job {beside:.1f} s: {beside / alone:.2f}x",
            "<= 3x (2x is a fair share)")


def _run_child(env: dict) -> float:
    out = subprocess.run([sys.executable, __file__, "--_child", "once"], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _child(mode: str) -> None:
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    if mode == "once":
        print(_job())
    else:
        while True:
            _job()


# ----------------------------------------------------------------------------- report


def machine() -> str:
    import torch

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {cores} cores, {mem:.0f} GiB, {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")


def write_readme(profile: str) -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    begin, end = "<!-- races:begin -->", "<!-- races:end -->"
    table = [begin, f"Last run: `bench_races.py --profile {profile}` on {machine()}.", "",
             "| race | what | measured | target |", "| --- | --- | --- | --- |"]
    table += [f"| {r} | {w} | {m} | {t} |" for r, w, m, t in ROWS]
    table.append(end)
    block = "\n".join(table)
    if begin in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Races (last run)\n\n" + block + "\n"
    readme.write_text(text)
    print(f"[bench] table written to {readme}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="book", choices=["ci", "book"])
    ap.add_argument("--only", nargs="+", default=["dpo", "sampling", "threads", "growth", "shared"])
    ap.add_argument("--runs", help="a runs folder to reuse (default: a new temporary one)")
    ap.add_argument("--write", action="store_true", help="write the table into bench/README.md")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args._child:
        return _child(args._child)
    os.environ["RLHF_LITE_RUNS"] = args.runs or tempfile.mkdtemp(prefix="rlhf_bench_races_")
    print(f"[bench] {machine()}; runs in {os.environ['RLHF_LITE_RUNS']}", flush=True)
    judge = bool({"threads", "growth"} & set(args.only))
    secs, (cfg, pi0) = timed(lambda: setup(args.profile, judge))
    row("setup", f"pi_0, data{' and judge' if judge else ''} ({args.profile})", f"{secs:.0f} s")
    for race in args.only:
        if race == "dpo":
            race_dpo(cfg, pi0)
        elif race == "sampling":
            race_sampling(cfg, pi0)
        elif race == "threads":
            race_threads(cfg)
        elif race == "growth":
            race_growth(cfg, pi0)
        elif race == "shared":
            race_shared(cfg)
        else:
            ap.error(f"unknown race {race!r}")
    if args.write:
        write_readme(args.profile)


if __name__ == "__main__":
    main()
