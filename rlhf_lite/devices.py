"""Where the work runs: on the GPU when there is one, else on the CPU.

Why our own code: one place that answers "is there an accelerator?" for the trainers, the scorers and
the job runner, so that they never disagree about it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def has_accelerator() -> bool:
    import torch

    return torch.cuda.is_available()


def inference_placement():
    """Where models that only score or sample go: the GPU in bfloat16 when there is one, else the CPU in
    float32 (an 8B model scored on the CPU in float32 would take days and 32 GB). Returns (device, dtype)."""
    import torch

    return ("cuda", torch.bfloat16) if has_accelerator() else ("cpu", torch.float32)


# The CPU flags that decide how fast torch's CPU kernels run here (machines of one kind differ about 2x with and
# without AVX-512): recorded with every build's timings, so a time is never quoted without them.
SPEED_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The flags of the first CPU in /proc/cpuinfo (None where there is no such file: not Linux)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        if not path.exists():
            return None
        cpuinfo = path.read_text()
    line = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), None)
    return set(line.split(":", 1)[1].split()) if line else None


def machine(cpuinfo: str | None = None) -> dict:
    """What the timings were measured on: CPU model, cores, memory, and whether it has AVX-512."""
    import platform

    cpu = platform.processor()
    if cpuinfo is None and Path("/proc/cpuinfo").exists():
        cpuinfo = Path("/proc/cpuinfo").read_text()
    if cpuinfo:
        cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), cpu)
    flags = cpu_flags(cpuinfo) if cpuinfo else None
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "avx512": None if flags is None else "avx512f" in flags,
            "flags": None if flags is None else [f for f in SPEED_FLAGS if f in flags],
            "date": time.strftime("%Y-%m-%d")}
