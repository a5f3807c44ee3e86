"""Why online beats offline, measured: offline DPO arms beside the loop, each placed on the plane of true win
rate against KL(pi || pi_0).

An offline arm is one DPO run from pi_0 (reference pi_0) on a fixed set of pairs, with the loop's number of DPO
steps, saving checkpoints along the way (each a point of its frontier, rlhf_lite.online.frontier). Its pairs are

- a :class:`~rlhf_lite.online.offpolicy.Writer`'s samples on the loop's own prompts, ranked by the loop's judge
  and paired by the loop's rule (:func:`writer_pairs`): the arms then differ from the loop only in who wrote
  the samples, not in the prompts, the judge or the pair rule;
- the loop's own stream replayed offline (:func:`replay_stream`): every pair it collected, in the order its
  rounds trained on them or shuffled, trained in one run from pi_0.

Every arm is evaluated like the loop's iterates (rlhf_lite.online.evaluate), against the same pi_0 samples.
:func:`implicit_accuracy` asks a final policy how well it ranks held-out pairs by its implicit reward
beta log pi/pi_0 (Tang et al.'s "discrimination against generation").
Chapter: why online beats offline.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from rlhf_lite.config import Config
from rlhf_lite.data.truth import as_world_prompt
from rlhf_lite.io import atomic_dir, exclusive, fingerprint, intact, read_jsonl, stage_code, write_json, write_jsonl
from rlhf_lite.online.evaluate import PolicyEvaluator, summarise
from rlhf_lite.online.judge import load_judge
from rlhf_lite.online.loop import iteration_dir, make_generator, online_root, prepare_data, prompt_subset
from rlhf_lite.online.runs import OnlineRun, eval_path
from rlhf_lite.online.offline import loop_pair_passes
from rlhf_lite.online.offpolicy import Writer, write_samples
from rlhf_lite.online.pairs import build_pairs
from rlhf_lite.policy.dpo import train_dpo
from rlhf_lite.stages import prepare_pi0

# The code of an offline arm, for its folder's key (io.stage_code): this module and what it imports (the writers,
# the pair rule, DPO, the evaluation); the recipe folder's key covers the loop's code, not this.
ARMS_CODE = (("rlhf_lite.online.arms",), ())

# fractions of an offline run saved as frontier points. Chapter 7 compares arms at KL 0.15-0.25 per token, which
# the offline arms reach between 1/8 and 1/2 of their run; 1/16 and 3/4 added two of an arm's six evaluations
# and no point the comparisons used, so they were dropped.
CHECKPOINTS = (1 / 8, 1 / 4, 1 / 2)


def loop_prompts(cfg: Config) -> list:
    """The prompts of the loop's iterations 1..T, in order (the offline arms' prompts too)."""
    rows = read_jsonl(prepare_data(cfg, lambda *a: None).prompt_splits)
    by_subset = {}
    for r in rows:
        by_subset.setdefault(r["iteration"], []).append(r["prompt"])
    return [p for t in range(1, cfg.online.iterations + 1) for p in by_subset.get(prompt_subset(cfg, t), [])]


def writer_pairs(cfg: Config, writer: Writer, seed: int, judge=None) -> tuple[list[dict], dict]:
    """One pair per prompt of the loop's prompts, from ``cfg.sampling.n`` samples of ``writer`` ranked by the
    loop's judge (``cfg.online.judge``, with its length penalty) and paired by the loop's rule. Returns the
    pairs and the pair report."""
    if cfg.data.source != "lite":
        raise ValueError("writer_pairs writes lite-world responses: it needs data.source 'lite'.")
    judge = judge or load_judge(cfg, log=lambda *a: None)
    prompts = loop_prompts(cfg)
    texts = [as_world_prompt(p) for p in prompts]
    samples = write_samples(writer, texts, cfg.sampling.n, cfg.world, seed=10_007 * (seed + 1))
    pairs, report = build_pairs(prompts, samples, judge.rank_scores(prompts, samples), cfg.online.rule,
                                cfg.online.length_penalty, seed=seed, source=f"writer-{writer.name}")
    return pairs, vars(report)


def replay_stream(cfg: Config, seed: int, order: str) -> list[dict]:
    """Every pair the loop of ``cfg`` (loop seed ``seed``) trained on, as one offline stream with the loop's
    number of passes: round t's data (D_1..D_t, or D_t with ``online.history`` "new") once per DPO epoch, each
    pass in a fresh random order, the rounds one after another (``order`` "in order"); or that same list in
    one random permutation ("shuffled"). The loop must have run."""
    if order not in ("in order", "shuffled"):
        raise ValueError(f"replay_stream: order must be 'in order' or 'shuffled', got {order!r}.")
    epochs = cfg.dpo.epochs
    if epochs != int(epochs):
        raise ValueError(f"replay_stream needs a whole number of DPO epochs per round, got {epochs}.")
    rounds = []
    for t in range(1, cfg.online.iterations + 1):
        path = iteration_dir(cfg, seed, t) / "pairs.jsonl"
        if not intact(path, lambda *a: None):
            raise FileNotFoundError(f"replay_stream: the loop's pairs of iteration {t} are missing ({path}); run the "
                                    f"loop of this recipe and seed first.")
        rounds.append(read_jsonl(path))
    rng = np.random.default_rng([seed, 77])
    stream = []
    for t in range(1, len(rounds) + 1):
        block = rounds[t - 1] if cfg.online.history == "new" else [p for d in rounds[:t] for p in d]
        for _ in range(int(epochs)):
            stream += [block[i] for i in rng.permutation(len(block))]
    if order == "shuffled":
        stream = [stream[i] for i in rng.permutation(len(stream))]
    return stream


def iterate_points(run: OnlineRun) -> list[dict]:
    """A loop's points: pi_0 and each iterate pi_1..pi_T, (KL per token, true win rate) from their evaluations."""
    return [{"kl": e["kl_token"][0], "win": e["win_rate"][0], "reward": e["reward"][0], "t": t}
            for t, e in enumerate(run.evals)]


def run_arm(cfg: Config, seed: int, name: str, make_pairs: Callable[[], list[dict]], *, sequential: bool = False,
            checkpoints=CHECKPOINTS, known_reference: Path | None = None, progress: bool = True, log=print) -> dict:
    """An offline arm: DPO from pi_0 (reference pi_0) on ``make_pairs()`` with as many pair passes as the loop
    of ``cfg`` trains on (:func:`~rlhf_lite.online.offline.loop_pair_passes` times ``dpo.epochs``), saving the
    policy at ``checkpoints``; every saved policy is evaluated like the loop's iterates. ``sequential``: the
    pairs are a stream already holding its passes (:func:`replay_stream`), trained once, in order.
    ``known_reference``: a DPO output folder whose pi_0 log-probabilities of pairs are reused (the loop's last
    round scored every pair of its stream against pi_0: a replay arm scores none again).

    Cached under the recipe's run folder by ``name`` (which must say what the pairs are). Returns {"points":
    pi_0, the checkpoints and the final policy, each with its KL per token and true win rate, "pairs", "policy",
    "train_metrics"}."""
    pi0 = prepare_pi0(cfg, progress=progress, log=log).pi0
    judge = load_judge(cfg, progress=progress, log=log)
    root = online_root(cfg) / f"seed{seed}"
    # the arm's pairs and passes depend on the loop's number of iterations, which the recipe folder's key omits
    key = fingerprint([name, sequential, list(checkpoints), cfg.online.iterations, cfg.online.reuse_prompts,
                       stage_code(*ARMS_CODE)])
    out = root / "study" / f"{name.replace(' ', '-')}-{key}"
    with exclusive(out, f"the offline arm {name!r}", log):
        if not intact(out / "policy", log) or not intact(out / "train_metrics.json", log):
            pairs = make_pairs()
            write_jsonl(out / "pairs.jsonl", pairs)
            passes = len(pairs) if sequential else loop_pair_passes(cfg) * cfg.dpo.epochs
            dpo = replace(cfg.dpo, epochs=1.0 if sequential else passes / len(pairs))
            log(f"[study] {name}: DPO from pi_0 on {len(pairs)} pairs ({passes} pair passes), reference pi_0")
            with atomic_dir(out / "policy") as tmp:
                metrics = train_dpo(pi0, pi0, pairs, tmp, dpo, seed=1000 * seed + 17, progress=progress, lora=cfg.lora,
                                    checkpoints=checkpoints, sequential=sequential, known_reference=known_reference)
            metrics.update(policy_init="pi0", pair_passes=passes, epochs=dpo.epochs)
            write_json(out / "train_metrics.json", metrics)
        metrics = json.loads((out / "train_metrics.json").read_text())
        ev = PolicyEvaluator(cfg, seed, pi0, judge, make_generator(cfg, progress), log)
        base, _ = ev.records(pi0, eval_path(root, 0), "pi_0")
        points = [{"kl": 0.0, "win": 0.5, "reward": summarise(base, base)["reward"][0], "step": 0}]
        for step in metrics.get("checkpoints", []) + [metrics["steps"]]:
            policy = out / "policy" / "checkpoints" / f"step-{step}" if step != metrics["steps"] else out / "policy"
            recs, _ = ev.records(policy, out / f"eval-step{step}", f"{name} step {step}", validation=False)
            s = summarise(recs, base)
            points.append({"kl": s["kl_token"][0], "win": s["win_rate"][0], "reward": s["reward"][0], "step": step})
    return {"name": name, "points": points, "pairs": metrics["train_pairs"], "policy": out / "policy",
            "train_metrics": metrics}


def arm(cfg: Config, seed: int, spec: dict, progress: bool = False, log=print) -> dict:
    """The offline arm ``spec`` of the recipe ``cfg`` for loop seed ``seed``: {"name", "kind": "writer" (with
    "foreign": a :class:`Writer`'s weaving), "replay" (with "order") or "mix2" (today's baseline: MIX2 pairs,
    rlhf_lite.online.offline)}. The same call in a worker process as here (:func:`run_arms`)."""
    kind, name = spec["kind"], spec["name"]
    if kind == "writer":
        writer = Writer(name, float(spec["foreign"]))
        return run_arm(cfg, seed, f"{name} f{writer.foreign:.4f}", lambda: writer_pairs(cfg, writer, seed)[0],
                       progress=progress, log=log)
    if kind == "replay":
        last = iteration_dir(cfg, seed, cfg.online.iterations) / "policy"  # its reference_logps.json: every pair
        return run_arm(cfg, seed, name, lambda: replay_stream(cfg, seed, spec["order"]), sequential=True,
                       known_reference=last, progress=progress, log=log)
    if kind == "mix2":
        from rlhf_lite.online.loop import offline_pairs

        return run_arm(cfg, seed, name, lambda: offline_pairs(cfg, loop_pair_passes(cfg), seed), progress=progress,
                       log=log)
    raise ValueError(f"arm: kind must be 'writer', 'replay' or 'mix2', got {kind!r}.")


def run_arms(jobs: list[tuple[Config, dict]], seeds, workers: int | None = None, progress: bool = True,
             log=print) -> list[list[dict]]:
    """Every (recipe, arm spec) of ``jobs`` for every loop seed, side by side in worker processes
    (rlhf_lite.parallel): ``[[result per seed] per job]``. pi_0, the data and the judges must be built (the
    loops of :func:`rlhf_lite.online.run_recipes` build them); replay arms need their loops to have run."""
    from rlhf_lite.parallel import run_jobs

    seeds = list(seeds)
    flat = [((c, k, spec), {}) for c, spec in jobs for k in seeds]
    out = run_jobs(arm, flat, workers=workers, log=log, desc="offline arms", progress=progress)
    return [out[i * len(seeds):(i + 1) * len(seeds)] for i in range(len(jobs))]


def implicit_accuracy(policy: Path, records: list[dict], tol: float = 1e-5) -> tuple[float, int]:
    """How often ``policy``'s implicit reward, beta (log pi(a|x) - log pi_0(a|x)), ranks two held-out samples of
    the same prompt as r* does: samples 0 and 1 of each prompt in ``records`` (pi_0's scored evaluation records,
    with token ids and log pi_0) whose r* differ. Returns (accuracy, pairs); implicit rewards within ``tol``
    nats of each other are a tie and count 1/2 (pi_0 itself ties everywhere)."""
    from rlhf_lite.policy.models import load_policy
    from rlhf_lite.policy.sampling import sequence_logprobs

    by_prompt: dict = {}
    for r in records:
        by_prompt.setdefault(r["prompt_index"], {})[r["sample"]] = r
    pairs = [(s[0], s[1]) for s in by_prompt.values() if 0 in s and 1 in s and s[0]["reward"] != s[1]["reward"]]
    if not pairs:
        raise ValueError("implicit_accuracy: no prompt has two samples with different r*.")
    flat = [r for p in pairs for r in p]
    xs, ids = [r["prompt"] for r in flat], [r["token_ids"] for r in flat]
    lp = sequence_logprobs(*load_policy(policy), xs, ids)
    lp0 = np.array([r["logp_ref"] for r in flat])  # pi_0's log-probs, stored with its own records
    h = (lp - lp0).reshape(-1, 2)
    truth = np.sign([a["reward"] - b["reward"] for a, b in pairs])
    gap = h[:, 0] - h[:, 1]
    agree = np.where(np.abs(gap) <= tol, 0.0, np.sign(gap)) * truth
    return float(np.mean((agree > 0) + 0.5 * (agree == 0))), len(pairs)
