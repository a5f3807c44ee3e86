"""rlhf_lite: the helper package of the RLHF Workflow book, laid out as the paper's workflow.

    world/    the lite world: prompts and the true reward r*, annotators, tokenizer, scoring by r*
    data/     preference data: one schema, the Table 5 loaders and lite twins, filters, MIX1/MIX2
    reward/   Bradley-Terry reward models, the pairwise preference model, RewardBench, length bias
    policy/   tiny models, SFT of pi_0, sampling (transformers, vLLM), DPO, LoRA/QLoRA
    online/   Algorithm 2: pair rules, the proxy judge, the loop, offline DPO, evaluation against pi_0;
              a loop's folder read back (runs), writers far from pi_0, offline arms, the win-rate-against-KL frontier
    theory/   the theory chapter's tabular bandit;  scale/  what fits on which GPUs
    config.py every setting;  stages.py, data_stage.py  the cached stages (pi_0, reward models; the data)
    plots.py, wording/  the chapters' figures and words;  headlines.py  each chapter's typed headline;  cli.py
    site/     the book build, its pages, the claims and the scorecard, the course guide (apart from the pipeline)
    stats.py  intervals and the rule that reads them;  io.py, parallel.py, devices.py  plumbing

Imports only go down this list (world at the bottom, cli at the top; the site imports only the plumbing):
import-linter contracts in pyproject.toml say so, and tests/test_layout.py checks them.
"""

import os as _os

from rlhf_lite.parallel import THREAD_ENV as _THREAD_ENV

# Idle OpenMP threads spin briefly, then sleep, so that the book beside another CPU-bound job slows down by
# about its fair share instead of several times (rlhf_lite.parallel.THREAD_ENV, bench/bench_races.py). It
# takes effect for torch loaded after this: in the kernels and worker processes the book starts, which
# import rlhf_lite first. `make` sets it before anything. A value you set yourself is kept.
for _k, _v in _THREAD_ENV.items():
    _os.environ.setdefault(_k, _v)

__version__ = "0.1.0"
