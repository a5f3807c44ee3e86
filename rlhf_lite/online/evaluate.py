"""Judging a policy by the truth: samples on held-out prompts, win rate against pi_0, r*, length,
KL(pi || pi_0) from samples, the proxy's own verdict, and intervals over loop seeds.

Every policy of the iterative DPO chapter (the iterates, offline DPO, pi_0 itself) is evaluated by
:class:`PolicyEvaluator`, so all of them are compared on the same prompts with the same numbers.
In full mode the judge of the answers is pluggable (``score_records(..., judge=...)``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Sequence

import numpy as np

from rlhf_lite.config import Config
from rlhf_lite.io import (atomic_dir, computed_once, intact, read_jsonl, run_relative, single_process, stage_code,
                          write_jsonl)
from rlhf_lite.online.judge import ProxyJudge
from rlhf_lite.policy.sampling import Generator, sample_responses, sequence_logprobs
from rlhf_lite.stages import eval_prompts, validation_prompts
from rlhf_lite.stats import mean_ci, seed_interval
from rlhf_lite.world.scoring import score_records
from rlhf_lite.world.tasks import echoes_prompt

# The code of an evaluation, for the key of pi_0's shared one (io.stage_code): this module and what it imports.
EVAL_CODE = (("rlhf_lite.online.evaluate",), ())


def sample_and_score(policy_lm: tuple, ref_lm: tuple, prompts: Sequence[str], n: int, seed: int,
                     generator: Generator, judge: ProxyJudge | None, max_new_tokens: int = 24, batch_size: int = 64,
                     truth: bool = True) -> list[dict]:
    """n samples per prompt at temperature 1.0 (so that log pi - log pi_0 estimates the KL of the policy
    itself), each with r* (``truth``: the lite world's; None in full mode), length, family, log pi(a|x),
    log pi_0(a|x) and the proxy reward. ``policy_lm`` and ``ref_lm`` are (model, tokenizer) of pi and pi_0
    (``models.load_policy``), loaded once by the caller for all its prompt sets."""
    rows = sample_responses(generator, list(prompts), n, (1.0,), max_new_tokens, seed=seed)
    recs = [dict(r, prompt_index=i, sample=k) for i, row in enumerate(rows) for k, r in enumerate(row)]
    recs = score_records(recs) if truth else score_records(recs, judge=None)
    xs, ids = [r["prompt"] for r in recs], [r["token_ids"] for r in recs]
    # log pi(a|x) as the sampler summed it while drawing (HFSampler; equal to a second pass within 2e-3 nats,
    # tests/test_sft_sampling.py), else a second pass (vLLM, generate)
    logp = ([r["logprob"] for r in recs] if all("logprob" in r for r in recs)
            else sequence_logprobs(*policy_lm, xs, ids, batch_size=batch_size))
    # pi_0 against itself: the same numbers, so not computed twice
    logp_ref = logp if ref_lm is policy_lm else sequence_logprobs(*ref_lm, xs, ids, batch_size=batch_size)
    for r, a, b in zip(recs, logp, logp_ref):
        r.pop("logprob", None)  # kept once, as logp
        r["logp"], r["logp_ref"] = float(a), float(b)
    return add_proxy(recs, judge)


def add_proxy(recs: list[dict], judge: ProxyJudge | None) -> list[dict]:
    """Each record's ``proxy``: the judge's reward of its answer (None for a judge without a scalar reward, or
    without a judge: the records are then the judge-free part of an evaluation)."""
    proxy = judge.reward([r["prompt"] for r in recs], [r["response"] for r in recs]) if judge is not None else None
    for i, r in enumerate(recs):
        r["proxy"] = None if proxy is None else float(proxy[i])
    return recs


def summarise(recs: Sequence[dict], base: Sequence[dict], judge: ProxyJudge | None = None) -> dict:
    """One policy's evaluation against pi_0's samples on the same prompts (paired by prompt and sample
    index). Intervals are 95%, clustered by prompt. ``judge`` adds the proxy's verdict against pi_0."""
    if [(r["prompt_index"], r["sample"]) for r in recs] != [(r["prompt_index"], r["sample"]) for r in base]:
        raise ValueError("summarise: the policy's and pi_0's samples are not paired (same prompts, same n).")
    g = [r["prompt_index"] for r in recs]
    out = {
        "length": mean_ci([r["length"] for r in recs], groups=g), "chars": mean_ci([r["chars"] for r in recs], groups=g),
        "kl": mean_ci([r["logp"] - r["logp_ref"] for r in recs], groups=g),
        "finished": float(np.mean([r["finished"] for r in recs])),
        "by_family": {}, "samples": len(recs),
    }
    if all("num_tokens" in r for r in recs):
        # per generated token: the KL summed over all samples over their tokens (EOS included), so policies that
        # write longer answers are not further from pi_0 for that alone; the interval holds the mean length fixed
        per = float(np.mean([r["num_tokens"] for r in recs]))
        out["kl_token"] = mean_ci([(r["logp"] - r["logp_ref"]) / per for r in recs], groups=g)
    truth = recs[0]["reward"] is not None  # full mode knows no r*: the proxy's verdict is all there is
    if truth:
        r_pi, r_0 = np.array([r["reward"] for r in recs]), np.array([r["reward"] for r in base])
        win = (r_pi > r_0) + 0.5 * (r_pi == r_0)
        echo = np.array([float(echoes_prompt(r["prompt"], r["response"])) for r in recs])  # the HH twin's taste
        out.update({"reward": mean_ci(r_pi, groups=g), "win_rate": mean_ci(win, groups=g), "echo": mean_ci(echo, groups=g)})
    if recs[0].get("proxy") is not None:
        out["proxy"] = mean_ci([r["proxy"] for r in recs], groups=g)
    if judge is not None:
        # a scalar judge's rewards are already in the records (sample_and_score): no second pass of the model
        stored = recs[0].get("proxy") is not None and base[0].get("proxy") is not None
        rewards = ([r["proxy"] for r in recs], [r["proxy"] for r in base]) if stored and judge.scalar else None
        m = judge.margin([r["prompt"] for r in recs], [r["response"] for r in recs], [r["response"] for r in base],
                         rewards=rewards)
        out["proxy_win_rate"] = mean_ci((m > 0) + 0.5 * (m == 0), groups=g)
    for fam in sorted({r["family"] for r in recs}) if truth else ():
        idx = [i for i, r in enumerate(recs) if r["family"] == fam]
        out["by_family"][fam] = {"reward": float(r_pi[idx].mean()), "win_rate": float(win[idx].mean()),
                                 "length": float(np.mean([recs[i]["length"] for i in idx])),
                                 "echo": float(echo[idx].mean())}
    return out


class PolicyEvaluator:
    """Samples a policy on the held-out (and validation) prompts and caches the scored records. pi_0 is
    sampled with its own random stream, so the win rate compares independent draws (with one shared
    stream, a policy close to pi_0 would mostly reproduce pi_0's answers and tie with them)."""

    def __init__(self, cfg: Config, seed: int, pi0: Path, judge: ProxyJudge, make, log=print):
        self.pi0, self.judge, self.make, self.log, self.n = pi0, judge, make, log, cfg.online.eval_n
        self.max_new_tokens, self.truth = cfg.sampling.max_new_tokens, cfg.data.source == "lite"
        self.sampling = cfg.sampling  # the sampler's settings (backend, batch size): part of a shared result's key
        self.held_out, self.val = eval_prompts(cfg), validation_prompts(cfg)
        self.seed = 1_000_003 * (seed + 1)

    def records(self, policy: Path, out: Path, what: str, validation: bool = True) -> tuple[list, list | None]:
        """(held-out records, validation records) of ``policy``, cached in the folder ``out``. pi_0's are the
        same for every recipe with this judge and loop seed: computed once (runs/shared), copied to ``out``.
        ``validation=False`` skips the validation prompts (None in their place): a policy that is not a
        candidate for the loop's output (an offline arm's checkpoint) needs only the held-out ones."""
        if not intact(out, self.log):
            single_process("evaluation")
            if Path(policy) != Path(self.pi0):
                self._evaluate(policy, out, what, validation)
            else:  # the same for every recipe with this judge and loop seed (and its offline run)
                key = {"stage": "eval", "policy": run_relative(policy), "held_out": self.held_out,
                       "validation": self.val, "n": self.n, "seed": self.seed, "sampling": self.sampling,
                       "truth": self.truth, "code": stage_code(*EVAL_CODE)}
                computed_once({**key, "judge": self.judge.identity}, out,
                              lambda path: self._judge_pi0(key, policy, what, path))
        val = out / "validation.jsonl"
        return read_jsonl(out / "eval.jsonl"), read_jsonl(val) if val.exists() else None

    def _judge_pi0(self, key: dict, policy: Path, what: str, out: Path) -> None:
        """pi_0's evaluation under this judge: its judge-free records (samples, r*, log-probabilities: computed once
        for every judge of this loop seed, under ``key``) with this judge's rewards added."""
        import shutil

        with atomic_dir(out) as tmp:
            samples = computed_once(key, tmp / "samples", lambda p: self._evaluate(policy, p, what, proxy=False))
            for f in sorted(samples.glob("*.jsonl")):
                write_jsonl(tmp / f.name, add_proxy(read_jsonl(f), self.judge))
            shutil.rmtree(samples)

    def _evaluate(self, policy: Path, out: Path, what: str, validation: bool = True, proxy: bool = True) -> None:
        """Samples and scores ``policy`` into the folder ``out``; ``proxy=False``: without the judge's rewards."""
        self.log(f"[eval] {what}: {len(self.held_out)} held-out" + (f" + {len(self.val)} validation" if validation
                                                                     else "") + f" prompts x {self.n} samples")
        from rlhf_lite.policy.models import load_policy

        is_pi0 = Path(policy) == Path(self.pi0)
        seed = self.seed + (500_009 if is_pi0 else 0)
        with atomic_dir(out) as tmp:
            gen = self.make(policy)
            ref_lm = load_policy(self.pi0)
            policy_lm = ref_lm if is_pi0 else load_policy(policy)
            sets = (("eval", self.held_out, seed), ("validation", self.val, seed + 1))
            for name, prompts, s in sets if validation else sets[:1]:
                write_jsonl(tmp / f"{name}.jsonl", sample_and_score(
                    policy_lm, ref_lm, prompts, self.n, s, gen, self.judge if proxy else None,
                    self.max_new_tokens, truth=self.truth))


METRICS = ("win_rate", "reward", "length", "chars", "kl", "proxy", "proxy_win_rate", "echo")


def across_seeds(evals: Sequence[dict]) -> dict:
    """{metric: (mean, 95% half-width)} over runs with different loop seeds, from their summaries
    (:func:`summarise`), plus the mean reward of each task family. The interval is a t interval over
    the seeds (:func:`rlhf_lite.stats.seed_interval`): the runs, not the samples, are the unit."""

    out = {m: seed_interval([e[m][0] for e in evals]) for m in METRICS if all(m in e for e in evals)}
    fams = sorted(evals[0]["by_family"])
    out["by_family"] = {f: seed_interval([e["by_family"][f]["reward"] for e in evals]) for f in fams}
    if all("echo" in e["by_family"][f] for e in evals for f in fams):  # the lite world's echo answers, by family
        out["echo_by_family"] = {f: seed_interval([e["by_family"][f]["echo"] for e in evals]) for f in fams}
    return out


# ----------------------------------------------------------------------------- what the judge taught


def pair_truth(samples: Sequence[dict], pairs: Sequence[dict]) -> dict:
    """How one iteration's pairs look under the truth (lite world): the share whose chosen answer is truly
    better than the rejected one (``right``), as good (``tie``: the pair teaches nothing true) or worse
    (``wrong``: it teaches the opposite), the share whose chosen answer is a best-of-n by r*
    (``chosen_is_best``), and the mean true margin. ``samples`` are the rows of ``samples.jsonl`` (with
    r* of every sample), ``pairs`` those of ``pairs.jsonl`` (prompt_id = the row's index).

    This is Section 2's point measured: the loop can only learn what the judge's pairs say."""
    if not pairs:
        raise ValueError("pair_truth: no pairs (every prompt of the iteration was dropped).")
    if samples[0].get("true_reward") is None:
        raise ValueError("pair_truth needs r* of every sample: only the lite world knows it.")
    margins, best = [], []
    for p in pairs:
        row = samples[int(p["prompt_id"])]
        r = dict(zip(row["responses"], row["true_reward"]))
        chosen, rejected = p["chosen"][-1]["content"], p["rejected"][-1]["content"]
        if chosen not in r or rejected not in r:
            raise ValueError(f"pair_truth: pair {p['prompt_id']} holds an answer that is not among its prompt's samples.")
        margins.append(r[chosen] - r[rejected])
        best.append(r[chosen] == max(row["true_reward"]))
    m = np.array(margins)
    return {"pairs": len(m), "right": float((m > 0).mean()), "tie": float((m == 0).mean()),
            "wrong": float((m < 0).mean()), "chosen_is_best": float(np.mean(best)), "true_margin": float(m.mean())}


def overoptimisation_points(runs: dict, base_key: int = 0) -> list[dict]:
    """Reward over-optimisation against the truth (Gao et al., 2022): one point per iterate of every run,
    ``{"recipe", "seed", "t", "kl", "proxy_gain", "true_gain"}``, where the gains are the iterate's mean
    proxy reward and mean r* minus pi_0's on the same prompts, and ``kl`` is the same iterate's
    KL(pi_t || pi_0), all three from that iterate's own evaluation. ``runs``: {recipe: [OnlineRun per seed]}
    of a scalar (BT or gold) judge; the proxy gain is in the judge's units."""
    out = []
    for recipe, rs in runs.items():
        for k, run in enumerate(rs):
            e0 = run.evals[base_key]
            if "proxy" not in e0:
                raise ValueError(f"overoptimisation_points: recipe {recipe!r} has no scalar proxy reward (a preference "
                                 f"model only compares two answers).")
            for t, e in enumerate(run.evals):
                out.append({"recipe": recipe, "seed": k, "t": t, "kl": e["kl"][0],
                            "proxy_gain": e["proxy"][0] - e0["proxy"][0], "true_gain": e["reward"][0] - e0["reward"][0]})
    return out


def agreement_by_length(judge: ProxyJudge, samples: Sequence[dict], max_pairs: int = 2000, seed: int = 0) -> dict:
    """How often ``judge`` (without its length penalty) prefers the truly better of two samples of the same
    prompt, split by whether that answer is the longer one (in characters), as long, or the shorter one:
    ``{"longer": (agreement, pairs), "same": ..., "shorter": ...}``. A judge that reads correctness agrees
    in every column; one that reads length agrees when the better answer is longer and disagrees when it
    is shorter. ``samples``: rows of ``samples.jsonl`` (r* of every sample); at most ``max_pairs`` pairs
    with different r*, drawn at random."""
    cand = [(row["prompt"], row["responses"][i], row["responses"][j], row["true_reward"][i] - row["true_reward"][j])
            for row in samples for i in range(len(row["responses"])) for j in range(i + 1, len(row["responses"]))
            if row["true_reward"][i] != row["true_reward"][j]]
    if not cand:
        raise ValueError("agreement_by_length: no two samples of a prompt differ in r*.")
    rng = np.random.default_rng(seed)
    cand = [cand[k] for k in sorted(rng.choice(len(cand), size=min(max_pairs, len(cand)), replace=False))]
    better = [a if d > 0 else b for _, a, b, d in cand]
    worse = [b if d > 0 else a for _, a, b, d in cand]
    unpenalised = copy.copy(judge)
    unpenalised.lam = 0.0
    agree = unpenalised.margin([x for x, *_ in cand], better, worse) > 0
    side = np.sign([len(a) - len(b) for a, b in zip(better, worse)])
    return {name: (float(agree[side == s].mean()) if (side == s).any() else float("nan"), int((side == s).sum()))
            for name, s in (("longer", 1), ("same", 0), ("shorter", -1))}


def win_rate_ceiling(base: Sequence[dict]) -> float:
    """The highest true win rate any policy can reach against pi_0's samples ``base``: a win (1) where
    pi_0's answer is below the top reward r* = 1, at best a tie (1/2) where pi_0 already has it. The win
    rate is unchanged; this says how much of its range is left to gain."""
    r = np.array([x["reward"] for x in base], dtype=float)
    if r.size == 0 or np.isnan(r).any():
        raise ValueError("win_rate_ceiling needs r* of every pi_0 sample (the lite world).")
    return float(np.mean(np.where(r < 1.0, 1.0, 0.5)))
