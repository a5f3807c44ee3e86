"""rlhf_lite: the helper package of the RLHF Workflow book.

The pipeline reads in module order: world (prompts, r*) -> oracle (preferences) ->
tokenizer/models (policies) -> sft (pi_0) -> sampling (responses) -> evaluate (true reward).
"""

import os as _os

# Idle OpenMP threads spin briefly, then sleep, so that the book beside another CPU-bound job slows down by
# about its fair share instead of several times (rlhf_lite.parallel.THREAD_ENV, bench/bench_races.py). It
# only takes effect if torch is not loaded yet; `make`, the book build and the worker processes set it
# before that. A value you set yourself is kept.
_os.environ.setdefault("GOMP_SPINCOUNT", "5000")

__version__ = "0.1.0"
