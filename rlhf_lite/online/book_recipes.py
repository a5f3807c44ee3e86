"""The loops the online chapters read, named once: the iterative DPO chapter runs them (five recipes over the loop
seeds, a one-seed step-size sweep, the gold loop run on to more rounds and offline DPO) and the chapter on what the
loop learns from its judge reads the same runs. One definition, so the two chapters cannot name different runs.

Like ``analysis.py``, not a stage: no stage imports it, so the stages' cache keys leave it out
(``io.PRESENTATION_MODULES``); the loops' own keys come from the configs it builds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from rlhf_lite.config import Config, with_overrides
from rlhf_lite.online.runner import run_recipes

LAMBDA = 0.05  # reward units per character; a five-letter filler word then costs 0.25
GOLD, PAPER, CONCISE = "gold judge (r*)", "BT-MIX2, paper's recipe", "BT-MIX2 + length penalty"
ULTRA, PREV = "BT-MIX1 (UltraRM role)", "reference = previous iterate"
VARIANTS = {GOLD: {"online.judge": "gold"}, PAPER: {}, CONCISE: {"online.length_penalty": LAMBDA},
            ULTRA: {"online.judge": "bt-mix1"}, PREV: {"online.length_penalty": LAMBDA, "online.reference": "previous"}}
COLORS = {GOLD: "goldenrod", PAPER: "C0", CONCISE: "C2", ULTRA: "C3", PREV: "C4"}
FIRST_LR = 5e-5  # the DPO learning rate of the iterative DPO chapter's first version (DPO loss alone)
MAIN_STEP = "lr, DPO + SFT term (the recipes above)"  # the sweep's name for the recipes' own setting


def steps(cfg: Config) -> dict[str, dict]:
    """The step-size sweep's settings (loop seed 0 only), by name; the recipes themselves are "lr, DPO + SFT term"."""
    lr = cfg.dpo.learning_rate
    return {"first version: lr 5e-5, DPO loss alone": {"dpo.learning_rate": FIRST_LR, "dpo.loss_type": ["sigmoid"]},
            "lr, DPO loss alone": {"dpo.loss_type": ["sigmoid"]},
            "lr x 3, DPO + SFT term": {"dpo.learning_rate": 3 * lr}}


def max_rounds(cfg: Config) -> int:
    """How far the gold loop is run on: 8 rounds in the book profile, one more than the recipes' elsewhere."""
    return 8 if cfg.profile == "book" else cfg.online.iterations + 1


@dataclass
class ChapterLoops:
    """What :func:`chapter_loops` returns: every run by recipe and seed, the sweep by (recipe, step), the longer
    gold loop, offline DPO per seed, and the config of the longer loop."""

    runs: dict  # recipe name -> [OnlineRun per loop seed]
    sweep: dict  # (recipe name, step name) -> [OnlineRun of seed 0]
    longer_gold: list  # [OnlineRun per loop seed], max_rounds(cfg) rounds
    offline: list  # [offline DPO result per loop seed]
    long_cfg: Config
    steps: dict  # step name -> overrides


def stage_log(msg: str) -> None:
    """The loops' stage lines on stderr, not the reminders that pi_0 and the judges are already cached: shown while a
    notebook runs in JupyterLab, left out of the book's pages (they name folders on this machine)."""
    if "cached" not in msg:
        print(msg, file=sys.stderr)


def chapter_loops(cfg: Config, log=stage_log) -> ChapterLoops:
    """Run (or read back from runs/) every loop of the online chapters, side by side (``run_recipes``)."""
    sweep_steps = steps(cfg)
    sweep = {(name, k): {**VARIANTS[name], **o} for name in (GOLD, PAPER) for k, o in sweep_steps.items()}
    seeds = range(cfg.online.seeds)
    long_cfg = with_overrides(cfg, {**VARIANTS[GOLD], "online.iterations": max_rounds(cfg), "online.reuse_prompts": True})
    # the recipes, the sweep (loop seed 0), the longer gold loop and the offline baseline in one pool
    every, offline = run_recipes({**{name: with_overrides(cfg, o) if o else cfg for name, o in VARIANTS.items()},
                                  **{key: (with_overrides(cfg, o), [0]) for key, o in sweep.items()},
                                  "longer gold": (long_cfg, seeds)}, seeds, offline=cfg, log=log)
    return ChapterLoops(runs={n: every[n] for n in VARIANTS}, sweep={k: every[k] for k in sweep},
                        longer_gold=every["longer gold"], offline=offline, long_cfg=long_cfg, steps=sweep_steps)


# The exploration chapter's arms (issue 42): each a full loop of the paper's recipe with one thing changed, the way
# pi^1_t and pi^2_t are made to differ. The first is the paper's own and is chapter 6's run under each judge.
PAPER_ARM = "best vs worst (the paper)"
EXPLORATION_ARMS = {
    PAPER_ARM: {},
    "best vs random": {"online.rule": "best-random"},
    "random pairs": {"online.rule": "random"},  # the control: the ranking's order without its margin
    "one temperature": {"sampling.temperatures": [1.0]},  # no temperature split between pi^1 and pi^2
    "two checkpoints": {"online.pi2": "previous"},  # pi^2 = pi_{t-2}, pi^1 = pi_{t-1}
    "no SFT term": {"dpo.loss_type": ["sigmoid"]},  # DPO alone, without the biased (optimistic) SFT term
}
EXPLORATION_JUDGES = {GOLD: VARIANTS[GOLD], PAPER: VARIANTS[PAPER]}


def exploration_configs(cfg: Config) -> dict[tuple[str, str], Config]:
    """{(judge, arm): its config}: every arm of :data:`EXPLORATION_ARMS` under the gold judge and under BT-MIX2. The
    paper's arm is chapter 6's recipe of that judge (the same config, so the same runs), and "no SFT term" is chapter
    6's sweep step "lr, DPO loss alone" (the same runs for loop seed 0)."""
    return {(j, a): with_overrides(cfg, {**jo, **ao}) if (jo or ao) else cfg
            for j, jo in EXPLORATION_JUDGES.items() for a, ao in EXPLORATION_ARMS.items()}
