"""Running at the paper's scale: what fits on which GPUs (``memory``), and two recipes side by side field by field
(``recipes``). The full-scale code paths themselves
(vLLM, QLoRA, DeepSpeed) are the lite ones with other settings, in ``policy`` and ``recipes/full``.
"""

from rlhf_lite.scale.memory import (GB, KNOWN_SHAPES, NF4_DQ_BITS, model_state_bytes, plan_config, plan_table,
                                    plan_training)
