"""Many loops at once: every recipe of a chapter and every loop seed, plus the offline baseline, in worker
processes, after what they share (pi_0, the data, the judges) is built once.
"""

from __future__ import annotations

from rlhf_lite.config import Config
from rlhf_lite.online.loop import OnlineRun, online_root, prepare_data, run_online
from rlhf_lite.online.offline import loop_pair_passes, run_offline
from rlhf_lite.parallel import run_jobs
from rlhf_lite.stages import REWARD_MODELS, prepare_pi0, prepare_reward_models, reward_stage_dir


def _loop_job(kind: str, cfg: Config, seed: int, progress: bool = False, log=print):
    return run_online(cfg, seed, progress=progress, log=log) if kind == "online" else \
        run_offline(cfg, seed, progress=progress, log=log)


def run_recipes(variants: dict, seeds, offline: Config | None = None, workers: int | None = None,
                log=print, progress: bool = True) -> tuple[dict[str, list[OnlineRun]], list[dict]]:
    """Algorithm 2 for every recipe in ``variants`` and every loop seed, plus the offline-DPO baseline of
    ``offline`` for each seed: ``({name: [run per seed]}, [offline result per seed])``. A value of ``variants``
    is a Config, run for ``seeds``, or a (Config, its own seeds) pair.

    The loops are independent (their own folders, their own seeds), so they run ``workers`` at a time in
    worker processes (rlhf_lite.parallel), each with the same fixed number of torch threads: the artifacts
    are the same as one after another. What they share (pi_0, the data, the judges) is built first, here.
    One pool for all of them, the longest loops first (:func:`loop_cost`). Two recipes with the same folder
    and seed that differ only in their number of rounds run once, the longer: a longer loop continues a
    shorter one, whose run is then read from the same folder."""
    seeds = list(seeds)
    asked = {name: (v, seeds) if isinstance(v, Config) else (v[0], list(v[1])) for name, v in variants.items()}
    cfgs = [c for c, _ in asked.values()] + ([offline] if offline is not None else [])
    quiet = lambda *a: None  # noqa: E731
    judges: dict = {}  # the book's judges each config needs, by the reward stage that trains them
    for c in cfgs:
        prepare_pi0(c, progress=progress, log=quiet)
        prepare_data(c, quiet)
        if c.online.judge in REWARD_MODELS:
            judges.setdefault(reward_stage_dir(c), (c, set()))[1].add(c.online.judge)
    for c, names in judges.values():
        prepare_reward_models(c, sorted(names), progress=progress, log=log, workers=workers)
    # a job is its kind, its run folder and its seed: two recipes that are the same config run once, and of two
    # that differ in their rounds alone, the longer
    wanted = [("online", c, k) for c, ks in asked.values() for k in ks]
    wanted += [("offline", offline, k) for k in seeds] if offline is not None else []
    key = lambda job: (job[0], str(online_root(job[1])), job[2])  # noqa: E731
    longest: dict = {}
    for j in wanted:
        if key(j) not in longest or j[1].online.iterations > longest[key(j)][1].online.iterations:
            longest[key(j)] = j
    unique = list(longest.values())
    done = dict(zip(map(key, unique), run_jobs(_loop_job, [(j, {}) for j in unique], workers=workers, log=log,
                                               desc="loops", progress=progress, costs=[loop_cost(*j) for j in unique])))
    out = [done[key(j)] if j is longest[key(j)] else _loop_job(*j, log=quiet) for j in wanted]
    runs, k = {}, 0
    for name, (_, ks) in asked.items():
        runs[name], k = out[k:k + len(ks)], k + len(ks)
    return runs, out[k:]


def loop_cost(kind: str, cfg: Config, seed: int) -> float:
    """A job's cost, to start the longest first, in sequence forwards: DPO's pair passes (two answers, forward and
    backward: about six each), and for a loop its samples (about two each, decoding being slower per token). An
    estimate for ordering only; nothing else reads it."""
    dpo = 6.0 * loop_pair_passes(cfg) * cfg.dpo.epochs
    return dpo if kind == "offline" else dpo + 2.0 * cfg.online.iterations * cfg.data.prompts_per_iteration * cfg.sampling.n
