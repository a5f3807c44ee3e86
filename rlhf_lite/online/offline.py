"""The vanilla (offline) DPO baseline of the paper's Table 2: one DPO run from pi_0 on a fixed set of MIX2
pairs, which other policies wrote, with as many DPO steps as the online loop takes.

It is evaluated like the loop's iterates (rlhf_lite.online.evaluate), against the same pi_0 samples, so
the two are compared on data, not on compute or on evaluation noise. Chapter: the iterative DPO chapter.
"""

from __future__ import annotations

import json

from rlhf_lite.config import Config
from rlhf_lite.io import atomic_dir, exclusive, intact, stage_code, write_json
from rlhf_lite.online.evaluate import PolicyEvaluator, summarise
from rlhf_lite.online.judge import load_judge
from rlhf_lite.online.loop import make_generator, offline_pairs, online_root
from rlhf_lite.online.runs import eval_path
from rlhf_lite.policy.dpo import train_dpo
from rlhf_lite.stages import prepare_pi0

# The code of the offline-DPO baseline, for its folder's key (io.stage_code): this module and what it imports.
OFFLINE_CODE = (("rlhf_lite.online.offline",), ())


def loop_pair_passes(cfg: Config) -> int:
    """How many pairs the loop's DPO rounds train on in total (each for ``dpo.epochs``), counting one pair
    per prompt: T m with ``history="new"``, m + 2m + ... + Tm with ``"all"`` (m prompts per iteration)."""
    t, m = cfg.online.iterations, cfg.data.prompts_per_iteration
    return (t * (t + 1) // 2 if cfg.online.history == "all" else t) * m + (
        cfg.online.offline_pairs * (t if cfg.online.history == "all" else 1))


def run_offline(cfg: Config, seed: int = 0, pairs: int | None = None, progress: bool = True, log=print) -> dict:
    """The vanilla-DPO baseline: one DPO run from pi_0 on a fixed offline set of MIX2 pairs, evaluated on
    the online run's prompts against the same pi_0 samples (made if they are not there yet).

    By default it gets one pair for every prompt the loop's rounds would train on if none were dropped
    (:func:`loop_pair_passes`), for the loop's epochs. The loop drops prompts whose best and worst answers tie,
    so it trains on fewer pair passes than that: the chapters report both arms' pair passes.

    Its folder's name holds the hash of the code it runs (:data:`OFFLINE_CODE`): the recipe folder's key covers
    the loop's code, not this module's."""
    n = pairs if pairs is not None else loop_pair_passes(cfg)
    pi0 = prepare_pi0(cfg, progress=progress, log=log).pi0
    judge = load_judge(cfg, progress=progress, log=log)
    root = online_root(cfg) / f"seed{seed}"
    ev = PolicyEvaluator(cfg, seed, pi0, judge, make_generator(cfg, progress), log)
    out = root / f"offline{n}-{stage_code(*OFFLINE_CODE)}"
    with exclusive(out, "the offline DPO baseline", log):
        return _train_and_evaluate(cfg, seed, n, out, pi0, ev, judge, progress, log)


def _train_and_evaluate(cfg: Config, seed: int, n: int, out, pi0, ev, judge, progress: bool, log) -> dict:
    root = out.parent
    if not intact(out / "policy", log) or not intact(out / "train_metrics.json", log):
        data = offline_pairs(cfg, n, seed)
        log(f"[offline] DPO from pi_0 on {len(data)} MIX2 pairs, reference pi_0")
        with atomic_dir(out / "policy") as tmp:
            metrics = train_dpo(pi0, pi0, data, tmp, cfg.dpo, seed=1000 * seed, progress=progress, lora=cfg.lora)
        metrics["policy_init"] = "pi0"
        write_json(out / "train_metrics.json", metrics)
    base, _ = ev.records(pi0, eval_path(root, 0), "pi_0")
    recs, _ = ev.records(out / "policy", out / "eval", "offline DPO")
    return {"policy": out / "policy", "eval": summarise(recs, base, judge),
            "train_metrics": json.loads((out / "train_metrics.json").read_text())}
