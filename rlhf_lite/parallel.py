"""Independent jobs (loop seeds, recipe variants, reward models) side by side in worker processes.

On a 2-core machine the lite models are too small for two torch threads to help much inside one
process (``bench/bench_races.py`` measures it), while two processes with one thread each keep both
cores busy. Each job runs with the same fixed number of torch threads whether it runs alone or beside
others, because CPU kernels do not give bit-identical results for different thread counts: with the
thread count fixed, ``workers=1`` and ``workers=2`` write byte-identical artifacts (a test checks it).

Why our own code: ``concurrent.futures`` runs the processes; what it does not do is pin the thread
count before torch is imported in each worker, keep a job's log lines together for the notebook, and
fall back to running in this process when one worker is asked for.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from rlhf_lite.integrity import launched_together

# OpenMP threads with nothing to do spin before they sleep: GNU OpenMP (which Linux torch wheels bundle)
# spins 300,000 times by default. Beside another CPU-bound job the spinning threads steal the cores the
# other job's threads wait for: a DPO epoch took 10x its time alone. Spinning 5,000 times costs nothing
# measurable alone and keeps the slowdown near the fair 2x; a passive wait is as fair but 1.3x slower
# alone (bench/bench_races.py, "shared"). Set before torch loads: by make, the book build, the workers.
THREAD_ENV = {"GOMP_SPINCOUNT": "5000"}


def default_workers() -> int:
    """How many jobs run at once: $RLHF_LITE_WORKERS, else one per core this process may use. One on a GPU
    machine (the jobs would share the GPU's memory) and under a multi-process launch (accelerate, torchrun)."""
    if os.environ.get("RLHF_LITE_WORKERS"):
        n = int(os.environ["RLHF_LITE_WORKERS"])
        if n < 1:
            raise ValueError(f"RLHF_LITE_WORKERS must be >= 1, got {n}.")
        return n
    from rlhf_lite.devices import has_accelerator

    if has_accelerator() or launched_together():
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def job_threads() -> int:
    """torch threads per job: $RLHF_LITE_JOB_THREADS, else 1. Fixed, so that a job's numbers do not depend
    on how many jobs run beside it."""
    n = int(os.environ.get("RLHF_LITE_JOB_THREADS", "1"))
    if n < 1:
        raise ValueError(f"RLHF_LITE_JOB_THREADS must be >= 1, got {n}.")
    return n


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, then restore the previous number."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _init_worker(threads: int, parent: int) -> None:
    # runs before the first job unpickles (and so imports) anything heavy: OpenMP, MKL and torch read these
    # when they load, and torch takes its number of threads from OMP_NUM_THREADS (and _call sets it again).
    # THREAD_ENV is already set: unpickling this function imported rlhf_lite.
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    import threading
    import time

    def orphaned():  # a worker whose parent died (a killed kernel) stops instead of training on for nobody
        while os.getppid() == parent:
            time.sleep(2)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()


class JobError(RuntimeError):
    """A job failed in a worker; the message holds its own error and what it had logged."""


def _call(fn: Callable, args: tuple, kwargs: dict, threads: int) -> tuple[Any, list[str]]:
    """Run one job in a worker with ``threads`` torch threads, collecting what it logs (its ``log=`` lines)
    to hand back to the parent, with its error if it fails."""
    import traceback

    import torch

    torch.set_num_threads(threads)
    lines: list[str] = []
    try:
        result = fn(*args, **{**kwargs, "log": lambda *a: lines.append(" ".join(str(x) for x in a))})
    except Exception as e:
        raise JobError(f"{type(e).__name__}: {e}\n--- what the job logged:\n" + "\n".join(lines)
                       + f"\n--- in the worker:\n{traceback.format_exc()}") from None
    return result, lines


def run_jobs(fn: Callable, jobs: Sequence[tuple[tuple, dict]], workers: int | None = None,
             threads: int | None = None, log: Callable = print, desc: str = "jobs",
             progress: bool = True, costs: Sequence[float] | None = None) -> list:
    """``[fn(*args, **kwargs, log=...) for args, kwargs in jobs]``, up to ``workers`` at a time in worker
    processes, each with ``threads`` torch threads; results come back in the order of ``jobs``.

    ``costs`` (one estimate per job, in any unit): the jobs start longest first, so that the last minutes are
    not one long job alone on one core while the others idle (the schedule, not the results, changes).

    ``fn`` must be importable (a module-level function of a package) and take a ``log`` keyword. Its log
    lines are printed through ``log`` when its job ends, each job's lines together. With ``workers=1`` the
    jobs run here, one after another, with the same thread count (and the same results)."""
    from tqdm.auto import tqdm

    jobs = list(jobs)
    if costs is not None and len(costs) != len(jobs):
        raise ValueError(f"run_jobs: {len(costs)} costs for {len(jobs)} jobs; give one estimate per job.")
    # the order the jobs start in: longest first (stable: equal costs keep the order given)
    start = sorted(range(len(jobs)), key=lambda i: -costs[i]) if costs is not None else list(range(len(jobs)))
    # under accelerate launch / torchrun every process is already one rank of a collective job
    workers = 1 if launched_together() else min(workers or default_workers(), max(1, len(jobs)))
    threads = threads or job_threads()
    if workers == 1:
        out: list = [None] * len(jobs)
        with torch_threads(threads):
            for i in tqdm(start, desc=desc, disable=not progress or len(jobs) < 2):
                args, kwargs = jobs[i]
                out[i] = fn(*args, **{**kwargs, "log": log})
        return out
    import multiprocessing

    results: list = [None] * len(jobs)
    # spawn, not fork: forking a process whose OpenMP threads already exist can deadlock the child
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads, os.getpid()))
    try:
        futures = {pool.submit(_call, fn, *jobs[i], threads): i for i in start}  # the pool takes them in this order
        for fut in tqdm(as_completed(futures), total=len(jobs), desc=f"{desc} ({workers} processes)",
                        disable=not progress):
            results[futures[fut]], lines = fut.result()
            for line in lines:
                log(line)
    except BaseException:
        # a failed job (or Ctrl-C) stops the others now, not after their current job; what finished is cached
        # on disk and every stage is written atomically, so a rerun resumes there
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
