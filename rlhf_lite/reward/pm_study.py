"""Chapter 4's study of the pairwise preference model: what does it need to read correctness?

The study's models (:data:`STUDY_MODELS`, trained by ``stages.train_reward_stage`` beside the book's) are the
same training on a third of the pairs (three epochs of a third show as many pairs as one epoch of all), and from a
pi_0 of half the width and depth. ``EpochProbe`` is a
transformers ``TrainerCallback`` (the trainers have evaluation hooks, but they report a loss on an eval set,
not a judge's agreement with the truth on a benchmark, so this small callback does that) that scores the
model being trained on the lite RewardBench rows at the end of every epoch, with ``agreement``:

- overall and per section, credit as in ``rewardbench.evaluate`` (``rewardbench.credit``: a tie earns half);
- split by which answer is longer, in words (r*'s better answer is the longer one, or the shorter one);
- with every prompt swapped for another prompt of the same section ("other prompt"): a judge that reads the
  answers against their prompt falls to chance there, one that reads the answers alone does not. The probe
  measures this after the last epoch only (the chapter reads it after training), which saves a third of its time.

One training run then gives the whole curve over epochs (at a constant learning rate, the k-th epoch's model
is the model trained for k epochs), so the chapter reuses it instead of training once per point.
"""

from __future__ import annotations

from typing import Sequence

import dataclasses

import numpy as np
from transformers import TrainerCallback

from rlhf_lite.reward.rewardbench import credit, lite_benchmark

@dataclasses.dataclass(frozen=True)
class StudyModel:
    """One model of chapter 4's study: its ``base`` (the book's model of its ``kind`` on MIX2, or another study
    model) with exactly one factor changed, named by ``factor``.

    ``share`` of MIX2's pairs (a subset: :func:`subsample`), from the half-size pi_0 (``small``), in another
    preference ``format`` (rlhf_lite.reward.preference.FORMATS); :func:`study_config` and the stage apply nothing
    else, and :func:`changed_factors` checks it. ``epochs`` (preference models only) runs the same training
    longer: its learning rate is constant after warm-up, so the run's curve passes through the model trained for
    the book's epochs (its warm-up, a share of all steps, is longer by the same ratio)."""

    kind: str  # "bt" or "pm"
    factor: str  # what differs from ``base``: "pairs", "size" or "format"
    base: str = ""  # the model it differs from; "" is the book's model of its kind (pm-mix2, bt-mix2)
    share: float = 1.0
    small: bool = False
    format: str | None = None
    epochs: float | None = None

    def __post_init__(self):
        if self.kind not in ("bt", "pm"):
            raise ValueError(f"StudyModel: kind {self.kind!r}; use 'bt' or 'pm'.")
        if self.factor not in FACTORS:
            raise ValueError(f"StudyModel: factor {self.factor!r}; use one of {FACTORS}.")
        if (self.format is not None or self.epochs is not None) and self.kind != "pm":
            raise ValueError("StudyModel: only a preference model (kind 'pm') has a format, and only its learning "
                             "rate stays constant, so that a longer run passes through the book's model's epochs.")


FACTORS = ("pairs", "size", "format")
BOOK_MODELS = {"pm": "pm-mix2", "bt": "bt-mix2"}


def changed_factors(models: dict, name: str) -> list[str]:
    """The factors in which study model ``name`` of ``models`` differs from its base (sorted)."""
    m = models[name]
    base = models.get(m.base) if m.base else None
    if m.base and (base is None or base.kind != m.kind):
        raise ValueError(f"study model {name}: its base {m.base!r} is not a study model of kind {m.kind!r}.")
    mine = {"pairs": m.share, "size": m.small, "format": m.format}
    theirs = ({"pairs": 1.0, "size": False, "format": None} if base is None  # the book's model
              else {"pairs": base.share, "size": base.small, "format": base.format})
    return sorted(k for k in FACTORS if mine[k] != theirs[k])


def check_study_models(models: dict) -> None:
    """Raise unless every study model changes exactly its named factor from its base."""
    for name, m in models.items():
        got = changed_factors(models, name)
        if got != [m.factor]:
            raise ValueError(f"study model {name}: factor {m.factor!r} must be the one factor changed from "
                             f"{m.base or BOOK_MODELS[m.kind]}; it changes {got or 'nothing'}.")


# name -> the study's model: the chapter's learning curves over pairs and capacity and, for issue 41, the preference
# model in the format where each answer sits after its own prompt (on a third of the pairs, the affordable base).
# Larger models were not affordable within the chapter's time budget on 2 CPU cores; neither was a quarter and a
# half of the pairs (the previous grid): one third gives the pairs' curve and an equal-pairs-shown comparison (a
# third three times against all once) for 60% of the two runs' time.
STUDY_MODELS = {
    "pm-mix2-33pc": StudyModel("pm", "pairs", share=1 / 3),
    "pm-mix2-small": StudyModel("pm", "size", small=True),
    "bt-mix2-small": StudyModel("bt", "size", small=True),
    # issue 41: each answer after its own prompt, one marker after both ("own-last"), on all of MIX2's pairs and run
    # for 10 epochs (its curve passes through the book's 3): the regime where the preference model reads its
    # prompt (bench/probe_pm.py measured the factors one at a time; pairs decided it)
    "pm-mix2-own": StudyModel("pm", "format", format="own-last", epochs=10.0),
}
check_study_models(STUDY_MODELS)
OWN = "pm-mix2-own"  # the preference model in the regime where it reads its prompt (chapter 4, section 4.1)


def study_config(cfg, name: str):
    """The config reward-stage model ``name`` trains under: ``cfg`` itself for the book's models; for a study
    model, ``cfg`` with its settings applied (the half-size pi_0, the preference format and its epochs).
    The share of pairs is applied to the data (``stages.train_reward_stage``), not here."""
    m = STUDY_MODELS.get(name)
    if m is None:
        return cfg
    if m.small:
        cfg = small_config(cfg)
    if m.format is not None:
        cfg = dataclasses.replace(cfg, preference=dataclasses.replace(
            cfg.preference, format=m.format, epochs=m.epochs or cfg.preference.epochs))
    return cfg


def small_config(cfg):
    """``cfg`` with a pi_0 half as wide (hidden and MLP) and half as deep, the same heads and SFT (lite policies only)."""
    if cfg.policy != "lite":
        raise ValueError(f"the small-model study trains a lite pi_0 of half the size; policy {cfg.policy!r} is a "
                         "fixed checkpoint. Train bt-mix1, bt-mix2 or pm-mix2 instead.")
    m = cfg.model
    return dataclasses.replace(cfg, model=dataclasses.replace(
        m, hidden_size=m.hidden_size // 2, intermediate_size=m.intermediate_size // 2,
        num_hidden_layers=max(1, m.num_hidden_layers // 2)))


# The reward-stage models whose curves chapter 4 draws: the book's two on MIX2 and the study's. The others
# (MIX1, UltraFeedback alone, curation's variants) are not probed: 23 s a model on one core, read by nobody.
PROBED = ("pm-mix2", "bt-mix2", *STUDY_MODELS)


def book_benchmark(cfg) -> list[dict]:
    """The lite RewardBench rows every judge of the book is scored on: chapter 4's Table 1 and the study's probes
    read the same rows (one seed, here)."""
    return lite_benchmark(cfg.reward_eval.bench_per_category, cfg.world, seed=cfg.seed + 20_000)


def epoch_probes(cfg, kind: str, name: str) -> list:
    """The callbacks for reward-stage model ``name``: in the lite world and for a model of :data:`PROBED`,
    an ``EpochProbe`` on chapter 4's lite RewardBench rows (the same rows as its Table 1), asking a preference model
    in the format it trains in; otherwise none (with hub data RewardBench is read in the chapter)."""
    if cfg.data.source != "lite" or name not in PROBED:
        return []
    return [EpochProbe(kind, book_benchmark(cfg), style=study_config(cfg, name).preference.format)]


def subsample(pairs: Sequence[dict], share: float, seed: int) -> list[dict]:
    """The first ``share`` of a seeded shuffle of ``pairs``, in their original order: a smaller share is a
    subset of a larger one, so the learning curve over pairs only adds data."""
    if not 0 < share <= 1:
        raise ValueError(f"subsample share must be in (0, 1], got {share}.")
    keep = np.random.default_rng(seed).permutation(len(pairs))[:max(1, round(share * len(pairs)))]
    return [pairs[i] for i in sorted(keep)]


def length_split(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Masks over ``rows``: the better (chosen) answer has more words, or fewer. Equal lengths are in neither."""
    d = np.array([len(r["chosen"].split()) - len(r["rejected"].split()) for r in rows])
    return {"longer better": d > 0, "shorter better": d < 0}


def other_prompts(rows: Sequence[dict], seed: int = 0) -> list:
    """Each row's prompt replaced by the prompt of another row of the same subset (a cyclic shift of a seeded
    shuffle, so no row keeps its own position; a prompt may recur in the lite world, rarely)."""
    rng = np.random.default_rng(seed)
    out = [None] * len(rows)
    for s in dict.fromkeys(r["subset"] for r in rows):
        idx = [i for i, r in enumerate(rows) if r["subset"] == s]
        if len(idx) < 2:
            raise ValueError(f"other_prompts needs at least 2 rows in subset {s!r} to swap prompts; it has {len(idx)}.")
        order = rng.permutation(idx)
        for a, b in zip(order, np.roll(order, 1)):
            out[a] = rows[b]["prompt"]
    return out


def agreement(judge, rows: Sequence[dict], seed: int = 0, swap: bool = True) -> dict:
    """Share of ``rows`` (prompt, chosen, rejected, subset; chosen truly better) where ``judge`` prefers chosen:
    "all", one entry per subset, "longer better" and "shorter better", and (unless ``swap`` is False)
    "other prompt" (the same answers judged against another row's prompt)."""
    if not rows:
        raise ValueError("agreement needs at least one row.")
    chosen, rejected = [r["chosen"] for r in rows], [r["rejected"] for r in rows]
    got = credit(judge.prob_first([r["prompt"] for r in rows], chosen, rejected))
    out = {"all": float(got.mean())}
    for s in dict.fromkeys(r["subset"] for r in rows):
        out[s] = float(got[[r["subset"] == s for r in rows]].mean())
    for name, mask in length_split(rows).items():
        out[name] = float(got[mask].mean()) if mask.any() else float("nan")
    if swap:
        out["other prompt"] = float(credit(judge.prob_first(other_prompts(rows, seed), chosen, rejected)).mean())
    return out


class EpochProbe(TrainerCallback):
    """After every epoch, ``agreement`` of the model being trained, as a judge of ``kind`` "bt" (a reward
    model) or "pm" (a preference model, asked in the ``style`` it is trained in: rlhf_lite.reward.preference.FORMATS),
    with "other prompt" after the last epoch only. The points collect in ``self.curve`` ({"epoch", **agreement})."""

    def __init__(self, kind: str, rows: Sequence[dict], seed: int = 0, style: str = "markers"):
        from rlhf_lite.reward.preference import FORMATS

        if kind not in ("bt", "pm"):
            raise ValueError(f"EpochProbe kind must be 'bt' or 'pm', got {kind!r}.")
        if style not in FORMATS:
            raise ValueError(f"EpochProbe style {style!r}: use one of {FORMATS}, the format the model is trained in.")
        self.kind, self.rows, self.seed, self.style, self.curve = kind, list(rows), seed, style, []

    def judge(self, model, tokenizer):
        if self.kind == "bt":
            from rlhf_lite.reward.bradley_terry import RewardModel

            return RewardModel(model, tokenizer)
        from rlhf_lite.reward.preference import PreferenceModel

        return PreferenceModel(model, tokenizer, style=self.style)

    def on_epoch_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        was_training = model.training
        try:
            last = state.epoch >= args.num_train_epochs - 1e-6
            point = agreement(self.judge(model, processing_class), self.rows, self.seed, swap=last)  # sets eval()
        finally:
            model.train(was_training)
        self.curve.append({"epoch": round(float(state.epoch), 3), **point})
