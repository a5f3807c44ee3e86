"""Where the work runs: on the GPU when there is one, else on the CPU.

Why our own code: one place that answers "is there an accelerator?" for the trainers, the scorers and
the job runner, so that they never disagree about it.
"""

from __future__ import annotations


def has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available()


def inference_placement():
    """Where models that only score or sample go: the GPU in bfloat16 when there is one, else the CPU in
    float32 (an 8B model scored on the CPU in float32 would take days and 32 GB). Returns (device, dtype)."""
    import torch

    return ("cuda", torch.bfloat16) if has_accelerator() else ("cpu", torch.float32)
