"""rlhf_lite: the helper package of the RLHF Workflow book.

The pipeline reads in module order: world (prompts, r*) -> oracle (preferences) ->
tokenizer/models (policies) -> sft (pi_0) -> sampling (responses) -> evaluate (true reward).
"""

import os as _os

from .parallel import THREAD_ENV as _THREAD_ENV

# Idle OpenMP threads spin briefly, then sleep, so that the book beside another CPU-bound job slows down by
# about its fair share instead of several times (rlhf_lite.parallel.THREAD_ENV, bench/bench_races.py). It
# takes effect for torch loaded after this: in the kernels and worker processes the book starts, which
# import rlhf_lite first. `make` sets it before anything. A value you set yourself is kept.
for _k, _v in _THREAD_ENV.items():
    _os.environ.setdefault(_k, _v)

__version__ = "0.1.0"
