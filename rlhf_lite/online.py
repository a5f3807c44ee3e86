"""Online iterative DPO, the paper's Algorithm 2, with its offline-DPO baseline and evaluation.

Each iteration t = 1..T of :func:`run_online`

1. samples n responses per prompt of the iteration's own prompt subset from the current policy,
   n/2 at temperature 1.0 and n/2 at 0.7 (``sampling``), through any :class:`~rlhf_lite.sampling.Generator`;
2. ranks them with the proxy judge (a BT reward model's scores, or the pairwise preference model's
   Copeland scores), optionally minus the length penalty lambda * |a| in characters (eq. 9);
3. keeps best against worst (or another rule of :mod:`rlhf_lite.pairs`) as D_t;
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

Why our own code: TRL trains one DPO round; the loop around it (sampling, ranking, history, resume,
evaluation by a known reward) is the part no library does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .config import Config
from .dpo import train_dpo
from .evaluate import mean_ci, score_records
from .io import atomic_dir, code_fingerprint, fingerprint, read_jsonl, runs_dir, write_json, write_jsonl
from .pairs import build_pairs
from .sampling import Generator, sample_responses, sequence_logprobs
from .truth import world_prompt
from .world import true_reward

GeneratorFactory = Callable[[Path], Generator]  # policy folder -> a sampler for it (HF, vLLM, ...)


def hf_generator(batch_size: int = 128, progress: bool = True) -> GeneratorFactory:
    """The default backend: batched ``model.generate`` (rlhf_lite.sampling.HFSampler)."""
    from .models import load_policy
    from .sampling import HFSampler

    def make(policy: Path) -> Generator:
        model, tok = load_policy(policy)
        return HFSampler(model, tok, batch_size=batch_size, progress=progress)

    return make


# ----------------------------------------------------------------------------- the proxy judge


class ProxyJudge:
    """The loop's only view of the preference signal: scores for one prompt's n samples, and a verdict
    between two responses. ``kind`` "bt" reads a reward model, "pm" the pairwise preference model
    (Copeland scores: wins minus losses over all pairs, Section 3.3's alternative to a scalar reward).
    ``lam`` is the length penalty per character, applied the same way to both."""

    def __init__(self, name: str, path: str | Path, kind: str, lam: float = 0.0, batch_size: int = 256):
        if kind not in ("bt", "pm"):
            raise ValueError(f"ProxyJudge kind must be 'bt' (reward model) or 'pm' (preference model), got {kind!r}.")
        if lam < 0:
            raise ValueError(f"ProxyJudge: the length penalty must be >= 0, got {lam}.")
        self.name, self.kind, self.lam = name, kind, lam
        if kind == "bt":
            from .reward import RewardModel

            self.model = RewardModel.from_pretrained(path, batch_size=batch_size)
        else:
            from .preference import PreferenceModel

            self.model = PreferenceModel.from_pretrained(path, batch_size=batch_size)

    def rank_scores(self, prompts: Sequence, samples: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Raw (unpenalised) scores of each prompt's samples; :func:`pairs.build_pairs` applies the penalty."""
        if self.kind == "bt":
            flat_x = [x for x, row in zip(prompts, samples) for _ in row]
            flat_a = [a for row in samples for a in row]
            scores, out, k = self.model.score(flat_x, flat_a), [], 0
            for row in samples:
                out.append(scores[k:k + len(row)])
                k += len(row)
            return out
        from .preference import copeland_ranking

        return [copeland_ranking(self.model, x, list(row)) for x, row in zip(prompts, samples)]

    def reward(self, prompts: Sequence, responses: Sequence[str]) -> np.ndarray | None:
        """The proxy reward itself (BT only; a preference model has no scalar reward)."""
        return self.model.score(prompts, responses) if self.kind == "bt" else None

    def margin(self, prompts: Sequence, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Penalised preference of a over b: > 0 means the judge prefers a. BT: r(a) - r(b); PM: the
        two-response Copeland difference 2 sign(P(a > b) - 1/2). Minus lam (|a| - |b|) in characters."""
        if self.kind == "bt":
            m = self.model.score(prompts, a) - self.model.score(prompts, b)
        else:
            m = 2.0 * np.sign(self.model.prob_first(prompts, a, b) - 0.5)
        return m - self.lam * (np.array([len(s) for s in a], float) - np.array([len(s) for s in b], float))


def load_judge(cfg: Config, progress: bool = True, log=print) -> ProxyJudge:
    """The judge named by ``cfg.online.judge`` (a chapter-3 model, trained or reused from the cache)."""
    from .pipeline import REWARD_MODELS, prepare_reward_models

    name = cfg.online.judge
    if name not in REWARD_MODELS:
        raise ValueError(f"online.judge {name!r} is not a reward model of the book; choose from {sorted(REWARD_MODELS)}.")
    path = prepare_reward_models(cfg, [name], progress=progress, log=log).models[name]
    return ProxyJudge(name, path, REWARD_MODELS[name][0], lam=cfg.online.length_penalty)


# ----------------------------------------------------------------------------- evaluation


def _as_text(prompt) -> str:
    return prompt if isinstance(prompt, str) else world_prompt(prompt)


def validation_prompts(cfg: Config) -> list[str]:
    """Prompts for choosing the output iterate (Algorithm 2's validation set), none of them an evaluation
    prompt. Like any sample of d_0 they may repeat a training prompt: the lite world's tasks are short."""
    from . import world
    from .pipeline import eval_prompts

    held_out = set(eval_prompts(cfg))
    n = cfg.online.validation_prompts
    pool = [x for x in world.sample_prompts(3 * n, cfg.world, seed=cfg.seed + 20_000) if x not in held_out]
    if len(pool) < n:
        raise ValueError(f"could not draw {n} validation prompts outside the evaluation set; lower online.validation_prompts.")
    return pool[:n]


def sample_and_score(policy: Path, pi0: Path, prompts: Sequence[str], n: int, seed: int, generator: Generator,
                     judge: ProxyJudge, max_new_tokens: int = 24, batch_size: int = 64) -> list[dict]:
    """n samples per prompt at temperature 1.0 (so that log pi - log pi_0 estimates the KL of the policy
    itself), each with r*, length, family, log pi(a|x), log pi_0(a|x) and the proxy reward."""
    from .models import load_policy

    rows = sample_responses(generator, list(prompts), n, (1.0,), max_new_tokens, seed=seed)
    recs = [dict(r, prompt_index=i, sample=k) for i, row in enumerate(rows) for k, r in enumerate(row)]
    recs = score_records(recs)
    xs, ids = [r["prompt"] for r in recs], [r["token_ids"] for r in recs]
    for name, path in (("logp", policy), ("logp_ref", pi0)):
        model, tok = load_policy(path)
        for r, v in zip(recs, sequence_logprobs(model, tok, xs, ids, batch_size=batch_size)):
            r[name] = float(v)
    proxy = judge.reward(xs, [r["response"] for r in recs])
    for i, r in enumerate(recs):
        r["proxy"] = None if proxy is None else float(proxy[i])
    return recs


def summarise(recs: Sequence[dict], base: Sequence[dict], judge: ProxyJudge | None = None) -> dict:
    """One policy's evaluation against pi_0's samples on the same prompts (paired by prompt and sample
    index). Intervals are 95%, clustered by prompt. ``judge`` adds the proxy's verdict against pi_0."""
    if [(r["prompt_index"], r["sample"]) for r in recs] != [(r["prompt_index"], r["sample"]) for r in base]:
        raise ValueError("summarise: the policy's and pi_0's samples are not paired (same prompts, same n).")
    g = [r["prompt_index"] for r in recs]
    r_pi, r_0 = np.array([r["reward"] for r in recs]), np.array([r["reward"] for r in base])
    win = (r_pi > r_0) + 0.5 * (r_pi == r_0)
    out = {
        "reward": mean_ci(r_pi, groups=g), "win_rate": mean_ci(win, groups=g),
        "length": mean_ci([r["length"] for r in recs], groups=g), "chars": mean_ci([r["chars"] for r in recs], groups=g),
        "kl": mean_ci([r["logp"] - r["logp_ref"] for r in recs], groups=g),
        "finished": float(np.mean([r["finished"] for r in recs])),
        "by_family": {}, "samples": len(recs),
    }
    if recs[0].get("proxy") is not None:
        out["proxy"] = mean_ci([r["proxy"] for r in recs], groups=g)
    if judge is not None:
        m = judge.margin([r["prompt"] for r in recs], [r["response"] for r in recs], [r["response"] for r in base])
        out["proxy_win_rate"] = mean_ci((m > 0) + 0.5 * (m == 0), groups=g)
    for fam in sorted({r["family"] for r in recs}):
        idx = [i for i, r in enumerate(recs) if r["family"] == fam]
        out["by_family"][fam] = {"reward": float(r_pi[idx].mean()), "win_rate": float(win[idx].mean()),
                                 "length": float(np.mean([recs[i]["length"] for i in idx]))}
    return out


# ----------------------------------------------------------------------------- the loop


def online_root(cfg: Config) -> Path:
    key = fingerprint({"world": cfg.world, "data": cfg.data, "model": cfg.model, "sft": cfg.sft, "reward": cfg.reward,
                       "preference": cfg.preference, "sampling": cfg.sampling, "dpo": cfg.dpo, "online": cfg.online,
                       "eval": cfg.eval_prompts, "seed": cfg.seed, "policy": cfg.policy, "code": code_fingerprint()})
    return runs_dir() / f"{cfg.profile}-online-{key}"


@dataclass
class OnlineRun:
    root: Path
    pi0: Path
    policies: list  # pi_1 .. pi_T
    evals: list  # summaries of pi_0 .. pi_T on the eval prompts
    validation: list  # proxy win rate against pi_0 on validation prompts, pi_1 .. pi_T
    pair_reports: list  # one per iteration
    train_metrics: list  # one per iteration (includes the reference each DPO round used)
    best: int = field(default=0)  # t of the output policy (by the validation proxy)

    @property
    def output(self) -> Path:
        return self.policies[self.best - 1]


def _iteration_prompts(cfg: Config, splits_path: Path, t: int) -> list:
    prompts = [r["prompt"] for r in read_jsonl(splits_path) if r["iteration"] == t]
    if not prompts:
        raise ValueError(f"no prompts for iteration {t} in {splits_path}: online.iterations ({cfg.online.iterations}) "
                         f"must be at most data.iterations ({cfg.data.iterations}).")
    return prompts


def offline_pairs(cfg: Config, n: int, seed: int) -> list[dict]:
    """n pairs drawn without replacement from the curated MIX2 (responses from other behaviour policies),
    leaving out every pair whose task is an evaluation or validation prompt."""
    from datasets import load_from_disk

    from .pipeline import eval_prompts, prepare_preference_data

    if n <= 0:
        return []
    banned = set(eval_prompts(cfg)) | set(validation_prompts(cfg))
    pairs = [p for p in load_from_disk(str(prepare_preference_data(cfg, log=lambda *a: None).mixtures["mix2"])).to_list()
             if world_prompt(p["prompt"]) not in banned]
    if n > len(pairs):
        raise ValueError(f"asked for {n} offline pairs but MIX2 holds {len(pairs)} outside the evaluation and "
                         f"validation prompts; lower the number.")
    idx = np.random.default_rng(seed).choice(len(pairs), size=n, replace=False)
    return [pairs[i] for i in sorted(idx)]


class _Evaluator:
    """Samples a policy on the held-out (and validation) prompts and caches the scored records. pi_0 is
    sampled with its own random stream, so the win rate compares independent draws (with one shared
    stream, a policy close to pi_0 would mostly reproduce pi_0's answers and tie with them)."""

    def __init__(self, cfg: Config, seed: int, pi0: Path, judge: ProxyJudge, make: GeneratorFactory, log=print):
        from .pipeline import eval_prompts

        self.pi0, self.judge, self.make, self.log, self.n = pi0, judge, make, log, cfg.online.eval_n
        self.max_new_tokens = cfg.sampling.max_new_tokens
        self.held_out, self.val = eval_prompts(cfg), validation_prompts(cfg)
        self.seed = 1_000_003 * (seed + 1)

    def records(self, policy: Path, out: Path, what: str) -> tuple[list, list]:
        """(held-out records, validation records) of ``policy``, cached in the folder ``out``."""
        if not (out / "done").exists():
            self.log(f"[eval] {what}: {len(self.held_out)} held-out + {len(self.val)} validation prompts "
                     f"x {self.n} samples")
            seed = self.seed + (500_009 if Path(policy) == Path(self.pi0) else 0)
            with atomic_dir(out) as tmp:
                gen = self.make(policy)
                for name, prompts, s in (("eval", self.held_out, seed), ("validation", self.val, seed + 1)):
                    write_jsonl(tmp / f"{name}.jsonl", sample_and_score(policy, self.pi0, prompts, self.n, s, gen,
                                                                        self.judge, self.max_new_tokens))
                (tmp / "done").touch()
        return read_jsonl(out / "eval.jsonl"), read_jsonl(out / "validation.jsonl")


def run_online(cfg: Config, seed: int = 0, generator: GeneratorFactory | None = None, progress: bool = True,
               log=print) -> OnlineRun:
    """Algorithm 2 for ``cfg.online.iterations`` iterations with loop seed ``seed`` (pi_0 and the judge
    are those of ``cfg.seed``; the loop seed drives sampling, pair tie-breaks and DPO's data order)."""
    from .pipeline import prepare_pi0, prepare_preference_data

    s = cfg.online
    if s.iterations < 1:
        raise ValueError(f"online.iterations must be >= 1, got {s.iterations}.")
    if s.history not in ("new", "all"):
        raise ValueError(f"online.history must be 'new' (train each round on D_t) or 'all' (on D_off U D_1..D_t), "
                         f"got {s.history!r}.")
    pi0 = prepare_pi0(cfg, progress=progress, log=log).pi0
    splits = prepare_preference_data(cfg, log=log).prompt_splits
    judge = load_judge(cfg, progress=progress, log=log)
    make = generator or hf_generator(cfg.sampling.batch_size, progress)
    root = online_root(cfg) / f"seed{seed}"
    ev = _Evaluator(cfg, seed, pi0, judge, make, log)

    base, base_val = ev.records(pi0, root / "pi0_eval", "pi_0")
    run = OnlineRun(root, pi0, [], [summarise(base, base, judge)], [], [], [])
    history = offline_pairs(cfg, s.offline_pairs, seed)  # D_off, then D_1, D_2, ...
    policy = pi0
    for t in range(1, s.iterations + 1):
        it = root / f"iter{t}"
        # 1-3: sample, rank, pair
        if not (it / "pairs.jsonl").exists():
            prompts = _iteration_prompts(cfg, splits, t)
            log(f"[iter {t}/{s.iterations}] sample {len(prompts)} prompts x {cfg.sampling.n} from "
                f"{'pi_0' if t == 1 else f'pi_{t - 1}'}, rank by {judge.name}"
                + (f" - {s.length_penalty}|a|" if s.length_penalty else ""))
            rows = sample_responses(make(policy), prompts, cfg.sampling.n, cfg.sampling.temperatures,
                                    cfg.sampling.max_new_tokens, seed=1000 * seed + t)
            samples = [[r["response"] for r in row] for row in rows]
            scores = judge.rank_scores(prompts, samples)
            pairs, report = build_pairs(prompts, samples, scores, s.rule, s.length_penalty, seed=1000 * seed + t,
                                        source=f"online-iter{t}")
            write_jsonl(it / "samples.jsonl", [
                {"prompt": x, "responses": a, "temperatures": [r["temperature"] for r in row],
                 "proxy": [float(v) for v in sc], "true_reward": [true_reward(_as_text(x), b) for b in a]}
                for x, a, row, sc in zip(prompts, samples, rows, scores)])
            write_json(it / "pair_report.json", vars(report))
            write_jsonl(it / "pairs.jsonl", pairs)  # written last: its presence marks the stage complete
        d_t = read_jsonl(it / "pairs.jsonl")
        new = (history if t == 1 else []) + d_t  # D_off is new in the first round
        history += d_t
        run.pair_reports.append(json.loads((it / "pair_report.json").read_text()))
        # 4: DPO from the last iterate against pi_0, on D_t ("new") or on everything so far ("all")
        if not (it / "train_metrics.json").exists():
            data, scope = (new, f"D_{t}") if s.history == "new" or t == 1 else (history, f"D_1..D_{t}")
            if s.offline_pairs and (t == 1 or s.history == "all"):
                scope += " + D_off"
            log(f"[iter {t}/{s.iterations}] DPO on {len(data)} pairs ({scope}), "
                f"init {'pi_0' if t == 1 else f'pi_{t - 1}'}, reference pi_0")
            with atomic_dir(it / "policy") as tmp:
                metrics = train_dpo(policy, pi0, data, tmp, cfg.dpo, seed=1000 * seed + t, progress=progress)
            # the iterate's path is recorded inside the run (not the scratch folder it was trained in)
            metrics["policy_init"] = "pi0" if t == 1 else f"iter{t - 1}/policy"
            write_json(it / "train_metrics.json", metrics)
        policy = it / "policy"
        run.policies.append(policy)
        run.train_metrics.append(json.loads((it / "train_metrics.json").read_text()))
        # 5: evaluate
        recs, val_recs = ev.records(policy, it / "eval", f"pi_{t}")
        run.evals.append(summarise(recs, base, judge))
        run.validation.append(summarise(val_recs, base_val, judge)["proxy_win_rate"][0])
    run.best = int(np.argmax(run.validation)) + 1
    write_json(root / "summary.json", {"evals": run.evals, "validation": run.validation, "best": run.best,
                                       "pair_reports": run.pair_reports})
    return run


def loop_pair_passes(cfg: Config) -> int:
    """How many pairs the loop's DPO rounds train on in total (each for ``dpo.epochs``), counting one pair
    per prompt: T m with ``history="new"``, m + 2m + ... + Tm with ``"all"`` (m prompts per iteration)."""
    t, m = cfg.online.iterations, cfg.data.prompts_per_iteration
    return (t * (t + 1) // 2 if cfg.online.history == "all" else t) * m + (
        cfg.online.offline_pairs * (t if cfg.online.history == "all" else 1))


def run_offline(cfg: Config, seed: int = 0, pairs: int | None = None, progress: bool = True, log=print) -> dict:
    """The vanilla-DPO baseline: one DPO run from pi_0 on a fixed offline set of MIX2 pairs, evaluated on
    the online run's prompts against the same pi_0 samples (made if they are not there yet).

    By default it gets as many pairs as the loop's rounds train on in total (:func:`loop_pair_passes`),
    so both spend the same number of DPO steps: the comparison is of data, not of compute."""
    from .pipeline import prepare_pi0

    n = pairs if pairs is not None else loop_pair_passes(cfg)
    pi0 = prepare_pi0(cfg, progress=progress, log=log).pi0
    judge = load_judge(cfg, progress=progress, log=log)
    root = online_root(cfg) / f"seed{seed}"
    ev = _Evaluator(cfg, seed, pi0, judge, hf_generator(cfg.sampling.batch_size, progress), log)
    out = root / f"offline{n}"
    if not (out / "train_metrics.json").exists():
        data = offline_pairs(cfg, n, seed)
        log(f"[offline] DPO from pi_0 on {len(data)} MIX2 pairs, reference pi_0")
        with atomic_dir(out / "policy") as tmp:
            metrics = train_dpo(pi0, pi0, data, tmp, cfg.dpo, seed=1000 * seed, progress=progress)
        metrics["policy_init"] = "pi0"
        write_json(out / "train_metrics.json", metrics)
    base, _ = ev.records(pi0, root / "pi0_eval", "pi_0")
    recs, _ = ev.records(out / "policy", out / "eval", "offline DPO")
    return {"policy": out / "policy", "eval": summarise(recs, base, judge),
            "train_metrics": json.loads((out / "train_metrics.json").read_text())}


METRICS = ("win_rate", "reward", "length", "chars", "kl", "proxy", "proxy_win_rate")


def across_seeds(evals: Sequence[dict]) -> dict:
    """{metric: (mean, 95% half-width)} over runs with different loop seeds, from their summaries
    (:func:`summarise`), plus the mean reward of each task family. The interval is a t interval over
    the seeds (:func:`rlhf_lite.evaluate.seed_interval`): the runs, not the samples, are the unit."""
    from .evaluate import seed_interval

    out = {m: seed_interval([e[m][0] for e in evals]) for m in METRICS if all(m in e for e in evals)}
    fams = sorted(evals[0]["by_family"])
    out["by_family"] = {f: seed_interval([e["by_family"][f]["reward"] for e in evals]) for f in fams}
    return out
