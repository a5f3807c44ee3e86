"""The lite world, where the truth is known.

- ``tasks``: the prompts d_0 (digit tasks and unsafe requests), the true reward r*(x, a), responses.
- ``oracle``: annotators that prefer by r* plus a length bias and noise (the paper's eq. 1 with a twist).
- ``tokenizer``: the word-level tokenizer and chat template of the tiny policies.
- ``scoring``: records scored by r* (the intervals every chapter reports are in ``rlhf_lite.stats``).

``from rlhf_lite import world`` gives the tasks' names (``world.true_reward``, ``world.sample_prompts``).
"""

from rlhf_lite.world.oracle import NOISY, ORACLE, VERBOSE, Annotator, sigmoid
from rlhf_lite.world.scoring import Judge, score_records, summarise_by
from rlhf_lite.world.tasks import (CATEGORIES, CATEGORY_OF_FAMILY, DIGITS, FAMILIES, FILLER, FILLER_PREFIXES,
                                   FILLER_SUFFIXES, REFUSAL, SAFE_FAMILIES, UNSAFE_VERBS, Task, WorldConfig,
                                   content_tokens, demonstration, echoes_prompt, has_filler, make_category_pairs, near_miss,
                                   parse_prompt, render, response_length, sample_prompt, sample_prompts, sft_records,
                                   true_reward, vocabulary)
