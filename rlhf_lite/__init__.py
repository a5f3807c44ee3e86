"""rlhf_lite: the helper package of the RLHF Workflow book.

The pipeline reads in module order: world (prompts, r*) -> oracle (preferences) ->
tokenizer/models (policies) -> sft (pi_0) -> sampling (responses) -> evaluate (true reward).
"""

__version__ = "0.1.0"
