"""Online iterative DPO, the paper's Algorithm 2.

Each iteration t = 1..T of :func:`run_online`

1. samples n responses per prompt of the iteration's own prompt subset from the current policy,
   n/2 at temperature 1.0 and n/2 at 0.7 (``sampling``), through any :class:`~rlhf_lite.policy.sampling.Generator`;
2. ranks them with the proxy judge (a BT reward model's scores, or the pairwise preference model's
   Copeland scores), optionally minus the length penalty lambda * |a| in characters (eq. 9);
3. keeps best against worst (or another rule of :mod:`rlhf_lite.online.pairs`) as D_t;
4. trains pi_t with DPO, **initialised from pi_{t-1} and with pi_0 as the reference**, on the whole
   history D_off U D_1 .. D_t (``online.history = "all"``, Algorithm 2 as written) or on D_t alone
   (``"new"``, the shortcut of the paper's runs: the iterate has then seen D_1 .. D_t once each, "the
   same data as restarting from pi_0, in a different order", at about half the cost; Section 3.3);
5. evaluates pi_t on held-out prompts by the true reward r* (win rate against pi_0, mean r*, length,
   KL(pi_t || pi_0) from samples, and the proxy's verdict) and on validation prompts by the proxy.

Numbering: we call the policy trained on D_1..D_t "pi_t", so pi_1 is the first DPO model. Algorithm 2
indexes one earlier (its pi_1 is trained on an empty history, i.e. is pi_0: Figure 4).

Every stage writes its artifacts atomically under ``runs/`` and is skipped when complete, so rerunning
after a crash resumes at the first unfinished stage and gives the same artifacts as an uninterrupted
run (a test interrupts it). The output policy is the iterate with the best proxy win rate on the
validation prompts, as Algorithm 2 asks; in the lite world we also know which one r* would pick.

The judge lives in rlhf_lite.online.judge, the evaluation in rlhf_lite.online.evaluate, the offline-DPO
baseline in rlhf_lite.online.offline, and many recipes and seeds side by side in rlhf_lite.online.runner.
Chapter: the iterative DPO chapter.

Why our own code: TRL trains one DPO round; the loop around it (sampling, ranking, history, resume,
evaluation by a known reward) is the part no library does.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

import numpy as np

from rlhf_lite.config import Config
from rlhf_lite.data.truth import as_world_prompt
from rlhf_lite.io import (atomic_dir, computed_once, exclusive, file_hash, fingerprint, intact, read_jsonl, run_relative,
                          runs_dir, single_process, stage_code, write_json, write_jsonl)
from rlhf_lite.online.evaluate import PolicyEvaluator, summarise
from rlhf_lite.online.judge import load_judge
from rlhf_lite.online.pairs import build_pairs
from rlhf_lite.online.runs import OnlineRun, eval_path, iteration_path
from rlhf_lite.policy.dpo import train_dpo
from rlhf_lite.policy.sampling import Generator, sample_responses, sample_two_policies
from rlhf_lite.stages import prepare_pi0, prepare_preference_data, without_held_out
from rlhf_lite.world.tasks import true_reward

GeneratorFactory = Callable[[Path], Generator]  # policy folder -> a sampler for it (HF, vLLM, ...)


def make_generator(cfg: Config, progress: bool = True) -> GeneratorFactory:
    """The sampler of ``cfg.sampling.backend``: "hf" (batched transformers) or "vllm" (GPUs)."""
    if cfg.sampling.backend == "hf":
        return hf_generator(cfg.sampling.batch_size, progress)
    if cfg.sampling.backend == "vllm":
        from rlhf_lite.policy.vllm_backend import vllm_generator

        return vllm_generator(cfg.sampling, progress=progress)
    raise ValueError(f"sampling.backend must be 'hf' or 'vllm', got {cfg.sampling.backend!r}.")


def hf_generator(batch_size: int = 128, progress: bool = True) -> GeneratorFactory:
    """The default backend: batched ``model.generate`` (rlhf_lite.policy.sampling.HFSampler)."""
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import HFSampler

    def make(policy: Path) -> Generator:
        model, tok = load_policy(policy)
        return HFSampler(model, tok, batch_size=batch_size, progress=progress)

    return make


# ----------------------------------------------------------------------------- the loop


# The code a loop runs, for its keys (io.stage_code): this module and everything it imports (pi_0's and the
# reward models' stages, the judge, the pair rule, DPO, the evaluation), so they change when any of it does.
LOOP_CODE = (("rlhf_lite.online.loop",), ())


def online_root(cfg: Config) -> Path:
    """The recipe's folder. Its key leaves out the number of iterations and prompt reuse: iteration t's work does
    not depend on them, so a loop run for more iterations continues a shorter one (everything after the first T
    is what the longer run adds)."""
    online = {**dataclasses.asdict(cfg.online), "iterations": None, "reuse_prompts": None}
    key = fingerprint({"world": cfg.world, "data": cfg.data, "model": cfg.model, "sft": cfg.sft, "reward": cfg.reward,
                       "preference": cfg.preference, "sampling": cfg.sampling, "dpo": cfg.dpo, "online": online,
                       "eval": cfg.eval_prompts, "seed": cfg.seed, "policy": cfg.policy, "lora": cfg.lora,
                       "code": stage_code(*LOOP_CODE)})
    return runs_dir() / f"{cfg.profile}-online-{key}"


def prompt_subset(cfg: Config, t: int) -> int:
    """Which prompt subset iteration t samples on: its own, or with ``online.reuse_prompts`` after the last
    subset, subset ((t - 1) mod data.iterations) + 1 again."""
    return (t - 1) % cfg.data.iterations + 1 if cfg.online.reuse_prompts else t


def _iteration_prompts(cfg: Config, splits_path: Path, t: int) -> list:
    prompts = [r["prompt"] for r in read_jsonl(splits_path) if r["iteration"] == prompt_subset(cfg, t)]
    if not prompts:
        raise ValueError(f"no prompts for iteration {t} in {splits_path}: online.iterations ({cfg.online.iterations}) "
                         f"must be at most data.iterations ({cfg.data.iterations}), or set online.reuse_prompts to "
                         f"sample the subsets again.")
    return prompts


def offline_pairs(cfg: Config, n: int, seed: int) -> list[dict]:
    """n pairs drawn without replacement from the curated MIX2 (responses from other behaviour policies),
    leaving out every pair whose task is an evaluation or validation prompt."""
    from datasets import load_from_disk

    if n <= 0:
        return []
    mix2 = prepare_preference_data(cfg, log=lambda *a: None).mixtures["mix2"]
    pairs = without_held_out(cfg, load_from_disk(str(mix2)).to_list())
    if n > len(pairs):
        raise ValueError(f"asked for {n} offline pairs but MIX2 holds {len(pairs)} outside the evaluation and "
                         f"validation prompts; lower the number.")
    idx = np.random.default_rng(seed).choice(len(pairs), size=n, replace=False)
    return [pairs[i] for i in sorted(idx)]


def iteration_dir(cfg: Config, seed: int, t: int) -> Path:
    """Where iteration t of loop seed ``seed`` keeps its artifacts (every stage below reads and writes here)."""
    return iteration_path(online_root(cfg) / f"seed{seed}", t)


def seed_lock(cfg: Config, seed: int, log=print):
    """Held while a process works on loop seed ``seed`` of this recipe (the loop, or one of its stages from the
    CLI): a second process on the same folder waits for the first, then reuses what it wrote."""
    return exclusive(online_root(cfg) / f"seed{seed}", f"the loop of seed {seed}", log)


def iterate_path(cfg: Config, seed: int, t: int, pi0: Path | None) -> Path:
    """pi_t: ``pi0`` for t = 0, else iteration t's DPO output, which must be trained already."""
    path = pi0 if t == 0 else iteration_dir(cfg, seed, t) / "policy"
    if not intact(path):
        raise FileNotFoundError(f"pi_{t} is not trained yet ({path}): run the dpo stage of iteration {t} "
                                f"(or the loop) first.")
    return path


def second_policy(cfg: Config, seed: int, t: int) -> Path | None:
    """pi^2_t's policy when it is not pi^1_t's (``online.pi2`` "previous": pi_{t-2}, from round 2), else None."""
    if cfg.online.pi2 not in ("current", "previous"):
        raise ValueError(f"online.pi2 must be 'current' (pi^2 = pi^1 = pi_(t-1), the paper) or 'previous' (pi_(t-2): "
                         f"two checkpoints of the run), got {cfg.online.pi2!r}.")
    if cfg.online.pi2 == "current" or t < 2:
        return None
    return iterate_path(cfg, seed, t - 2, prepare_pi0(cfg, progress=False, log=lambda *a: None).pi0 if t == 2 else None)


def generate(cfg: Config, seed: int, t: int, policy: Path, make: GeneratorFactory, log=print) -> Path:
    """Algorithm 2, line 4: n responses per prompt of iteration t's subset, n/2 at T = 1.0 and n/2 at 0.7,
    from ``policy`` through the sampler ``make(policy)`` (with ``online.pi2`` "previous", half of them from
    pi_{t-2}: :func:`second_policy`). Writes ``generations.jsonl``."""
    out = iteration_dir(cfg, seed, t) / "generations.jsonl"
    if not intact(out, log):
        single_process("generation")
        prompts = _iteration_prompts(cfg, prepare_data(cfg, log).prompt_splits, t)
        second = second_policy(cfg, seed, t)

        def draw(path: Path) -> None:
            log(f"[iter {t}] generate: {len(prompts)} prompts x {cfg.sampling.n} from "
                f"{'pi_0' if t == 1 else f'pi_{t - 1}'}{f' and pi_{t - 2}' if second else ''} "
                f"({cfg.sampling.backend} backend) -> {out}")
            args = (prompts, cfg.sampling.n, cfg.sampling.temperatures, cfg.sampling.max_new_tokens, 1000 * seed + t)
            rows = sample_two_policies(make(policy), make(second), *args) if second else \
                sample_responses(make(policy), *args)
            write_jsonl(path, [{"prompt": x, "responses": [r["response"] for r in row],
                                "temperatures": [r["temperature"] for r in row],
                                "finished": [r["finished"] for r in row],
                                **({"policies": [r["policy"] for r in row]} if second else {})}
                               for x, row in zip(prompts, rows)])

        if t > 1:  # pi_{t-1} is this run's own
            draw(out)
        else:  # pi_0 on iteration 1's prompts with this seed: every recipe draws the same samples
            computed_once({"stage": "generate", "policy": run_relative(policy), "prompts": prompts,
                           "sampling": cfg.sampling, "seed": 1000 * seed + t, "code": stage_code(*LOOP_CODE)}, out, draw,
                          lambda: log(f"[iter {t}] generate: the same samples as another run of this seed (shared) "
                                      f"-> {out}"))
    return out


def annotate(cfg: Config, seed: int, t: int, judge, log=print) -> Path:
    """Line 5: the proxy's score of every sample (and, in the lite world, the true reward r*, which the
    loop never reads). Writes ``samples.jsonl``."""
    it = iteration_dir(cfg, seed, t)
    out = it / "samples.jsonl"
    if not intact(out, log):
        single_process("annotation")

        def score(path: Path) -> None:
            rows = read_jsonl(it / "generations.jsonl")
            log(f"[iter {t}] annotate: {sum(len(r['responses']) for r in rows)} samples scored by {judge.name} -> {out}")
            scores = judge.rank_scores([r["prompt"] for r in rows], [r["responses"] for r in rows])
            lite = cfg.data.source == "lite"
            write_jsonl(path, [
                {**r, "proxy": [float(v) for v in sc],
                 "true_reward": [true_reward(as_world_prompt(r["prompt"]), b) for b in r["responses"]] if lite else None}
                for r, sc in zip(rows, scores)])

        # the same samples and judge give the same scores: computed once for the recipes that share them
        computed_once({"stage": "annotate", "generations": file_hash(it / "generations.jsonl"),
                       "judge": judge.identity, "source": cfg.data.source, "code": stage_code(*LOOP_CODE)}, out, score,
                      lambda: log(f"[iter {t}] annotate: the same scores as another run with this judge (shared) -> {out}"))
    return out


def pair(cfg: Config, seed: int, t: int, log=print) -> Path:
    """Line 6: best against worst (or ``online.rule``) by the proxy minus the length penalty (eq. 9), as
    D_t. Writes ``pair_report.json`` and ``pairs.jsonl`` (last: its presence marks the stage complete)."""
    s, it = cfg.online, iteration_dir(cfg, seed, t)
    if not intact(it / "pairs.jsonl", log) or not intact(it / "pair_report.json", log):
        single_process("pairing")
        rows = read_jsonl(it / "samples.jsonl")
        pairs, report = build_pairs([r["prompt"] for r in rows], [r["responses"] for r in rows],
                                    [np.array(r["proxy"]) for r in rows], s.rule, s.length_penalty,
                                    seed=1000 * seed + t, source=f"online-iter{t}")
        log(f"[iter {t}] pair: {len(pairs)} pairs ({s.rule}" + (f", penalty {s.length_penalty}/char" if s.length_penalty
                                                                 else "") + f") -> {it / 'pairs.jsonl'}")
        write_json(it / "pair_report.json", vars(report))
        write_jsonl(it / "pairs.jsonl", pairs)
    return it / "pairs.jsonl"


def dpo(cfg: Config, seed: int, t: int, pi0: Path, progress: bool = True, log=print) -> Path:
    """Line 7: DPO initialised from pi_{t-1} with pi_0 as the reference (``online.reference`` "previous":
    pi_{t-1}, the ablation), on D_t ("new") or on D_off U D_1..D_t ("all"). Needs the pairs of iterations
    1..t. Returns pi_t's folder."""
    s, it = cfg.online, iteration_dir(cfg, seed, t)
    if not intact(it / "policy", log) or not intact(it / "train_metrics.json", log):
        missing = [k for k in range(1, t + 1) if not intact(iteration_dir(cfg, seed, k) / "pairs.jsonl", log)]
        if missing:
            raise FileNotFoundError(f"DPO of iteration {t} needs the pairs of iterations {missing}; run the loop "
                                    f"(or generate, annotate, pair, dpo) for them first.")
        policy = iterate_path(cfg, seed, t - 1, pi0)
        off = offline_pairs(cfg, s.offline_pairs, seed)  # D_off, trained on in round 1 (and every round under "all")
        d = [read_jsonl(iteration_dir(cfg, seed, k) / "pairs.jsonl") for k in range(1, t + 1)]
        if s.history == "new":
            data, scope = (off if t == 1 else []) + d[-1], f"D_{t}"
        else:
            data, scope = off + [x for dk in d for x in dk], f"D_1..D_{t}" if t > 1 else "D_1"
        if off and (t == 1 or s.history == "all"):
            scope += " + D_off"
        fixed = s.reference == "pi0"  # Algorithm 2; "previous" is the ablation (the repository's scripts)
        ref, ref_role = (pi0, "pi0") if fixed or t == 1 else (policy, f"iter{t - 1}/policy")
        log(f"[iter {t}] DPO on {len(data)} pairs ({scope}), init {'pi_0' if t == 1 else f'pi_{t - 1}'}, "
            f"reference {'pi_0' if ref_role == 'pi0' else f'pi_{t - 1}'}")
        with atomic_dir(it / "policy") as tmp:
            # pi_{t-1} was trained against the same pi_0: the reference log-probs it scored are reused
            metrics = train_dpo(policy, ref, data, tmp, cfg.dpo, seed=1000 * seed + t, progress=progress, lora=cfg.lora,
                                known_reference=policy if t > 1 and fixed else None)
        # the iterate's path is recorded inside the run (not the scratch folder it was trained in)
        metrics["policy_init"] = "pi0" if t == 1 else f"iter{t - 1}/policy"
        metrics["reference_role"] = ref_role
        write_json(it / "train_metrics.json", metrics)
    return it / "policy"


def prepare_data(cfg: Config, log=print):
    return prepare_preference_data(cfg, log=log)


def run_online(cfg: Config, seed: int = 0, generator: GeneratorFactory | None = None, progress: bool = True,
               log=print) -> OnlineRun:
    """Algorithm 2 for ``cfg.online.iterations`` iterations with loop seed ``seed`` (pi_0 and the judge
    are those of ``cfg.seed``; the loop seed drives sampling, pair tie-breaks and DPO's data order)."""
    s = cfg.online
    if s.iterations < 1:
        raise ValueError(f"online.iterations must be >= 1, got {s.iterations}.")
    if s.reference not in ("pi0", "previous"):
        raise ValueError(f"online.reference must be 'pi0' (Algorithm 2) or 'previous' (the last iterate), "
                         f"got {s.reference!r}.")
    second_policy(cfg, seed, 1)  # online.pi2 is one of its two values
    if s.history not in ("new", "all"):
        raise ValueError(f"online.history must be 'new' (train each round on D_t) or 'all' (on D_off U D_1..D_t), "
                         f"got {s.history!r}.")
    pi0 = prepare_pi0(cfg, progress=progress, log=log).pi0
    prepare_data(cfg, log)
    judge = load_judge(cfg, progress=progress, log=log)
    with seed_lock(cfg, seed, log):
        return _iterate(cfg, seed, pi0, judge, generator or make_generator(cfg, progress), progress, log)


def _iterate(cfg: Config, seed: int, pi0: Path, judge, make: GeneratorFactory, progress: bool, log) -> OnlineRun:
    s = cfg.online
    root = online_root(cfg) / f"seed{seed}"
    ev = PolicyEvaluator(cfg, seed, pi0, judge, make, log)

    base, base_val = ev.records(pi0, eval_path(root, 0), "pi_0")
    run = OnlineRun(root, pi0, [], [summarise(base, base, judge)], [], [], [])
    policy = pi0
    for t in range(1, s.iterations + 1):
        it = iteration_dir(cfg, seed, t)
        # each stage below checks its own output again and redoes only what is missing or damaged
        if not all(intact(it / f, log) for f in ("generations.jsonl", "samples.jsonl", "pair_report.json", "pairs.jsonl")):
            generate(cfg, seed, t, policy, make, log)
            annotate(cfg, seed, t, judge, log)
            pair(cfg, seed, t, log)
        run.pair_reports.append(json.loads((it / "pair_report.json").read_text()))
        policy = dpo(cfg, seed, t, pi0, progress, log)
        run.policies.append(policy)
        run.train_metrics.append(json.loads((it / "train_metrics.json").read_text()))
        recs, val_recs = ev.records(policy, eval_path(root, t), f"pi_{t}")
        run.evals.append(summarise(recs, base, judge))
        run.validation.append(summarise(val_recs, base_val, judge)["proxy_win_rate"][0])
    run.best = int(np.argmax(run.validation)) + 1
    write_json(root / "summary.json", {"iterations": s.iterations, "evals": run.evals, "validation": run.validation,
                                       "best": run.best,
                                       "pair_reports": run.pair_reports})
    return run
