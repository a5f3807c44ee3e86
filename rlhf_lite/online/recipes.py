"""Many loops at once: every recipe of a chapter and every loop seed, plus the offline baseline, in worker
processes, after what they share (pi_0, the data, the judges) is built once.
"""

from __future__ import annotations

from rlhf_lite.config import Config
from rlhf_lite.online.loop import OnlineRun, online_root, prepare_data, run_online
from rlhf_lite.online.offline import run_offline
from rlhf_lite.parallel import run_jobs
from rlhf_lite.stages import REWARD_MODELS, prepare_pi0, prepare_reward_models, reward_stage_dir


def _loop_job(kind: str, cfg: Config, seed: int, progress: bool = False, log=print):
    return run_online(cfg, seed, progress=progress, log=log) if kind == "online" else \
        run_offline(cfg, seed, progress=progress, log=log)


def run_recipes(variants: dict[str, Config], seeds, offline: Config | None = None, workers: int | None = None,
                log=print, progress: bool = True) -> tuple[dict[str, list[OnlineRun]], list[dict]]:
    """Algorithm 2 for every recipe in ``variants`` and every loop seed, plus the offline-DPO baseline of
    ``offline`` for each seed: ``({name: [run per seed]}, [offline result per seed])``.

    The loops are independent (their own folders, their own seeds), so they run ``workers`` at a time in
    worker processes (rlhf_lite.parallel), each with the same fixed number of torch threads: the artifacts
    are the same as one after another. What they share (pi_0, the data, the judges) is built first, here."""
    seeds = list(seeds)
    cfgs = list(variants.values()) + ([offline] if offline is not None else [])
    quiet = lambda *a: None  # noqa: E731
    judges: dict = {}  # the book's judges each config needs, by the reward stage that trains them
    for c in cfgs:
        prepare_pi0(c, progress=progress, log=quiet)
        prepare_data(c, quiet)
        if c.online.judge in REWARD_MODELS:
            judges.setdefault(reward_stage_dir(c), (c, set()))[1].add(c.online.judge)
    for c, names in judges.values():
        prepare_reward_models(c, sorted(names), progress=progress, log=log, workers=workers)
    # a job is its kind, its run folder and its seed: two recipes that are the same config run once
    wanted = [("online", c, k) for c in variants.values() for k in seeds]
    wanted += [("offline", offline, k) for k in seeds] if offline is not None else []
    key = lambda job: (job[0], str(online_root(job[1])), job[2])  # noqa: E731
    unique = list({key(j): j for j in wanted}.values())
    done = dict(zip(map(key, unique), run_jobs(_loop_job, [(j, {}) for j in unique], workers=workers, log=log,
                                               desc="loops", progress=progress)))
    out = [done[key(j)] for j in wanted]
    runs = {name: out[i * len(seeds):(i + 1) * len(seeds)] for i, name in enumerate(variants)}
    return runs, out[len(variants) * len(seeds):]
