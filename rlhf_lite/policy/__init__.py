"""Policies: the tiny models, SFT of pi_0, sampling (transformers or vLLM), DPO, and (Q)LoRA.

- ``models``: the tiny Llama policies and loading any policy; ``sft``: pi_0 by TRL's SFTTrainer;
- ``sampling``: n responses per prompt, and log-probabilities; ``vllm_backend``: the same on GPUs;
- ``dpo``: one DPO round with TRL (the reference kept pi_0); ``lora``: adapters and 4-bit bases;
- ``trainers``: what every TRL trainer of the book shares.
"""

from rlhf_lite.policy.dpo import DPOSettings, train_dpo
from rlhf_lite.policy.lora import LoraSettings
from rlhf_lite.policy.models import TinyModelConfig, load_policy, load_tokenizer, num_parameters
from rlhf_lite.policy.sampling import HFSampler, sample_responses
from rlhf_lite.policy.sft import SFTSettings, train_sft
