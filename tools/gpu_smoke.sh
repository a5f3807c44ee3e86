#!/usr/bin/env bash
# After `pip install -c constraints-gpu.txt -e ".[full,test]"` on a machine with one CUDA GPU (README, "Full
# scale"): the ci loop with vLLM, QLoRA DPO on CUDA with its peak memory against the planner's, and a report
# in runs/gpu-smoke/report.json. A few minutes; exit code 1 if a step failed (its log is beside the report).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_smoke: no NVIDIA GPU visible (nvidia-smi -L failed); this smoke test needs one." >&2
  exit 2
fi
nvidia-smi -L
exec rlhf-lite gpu-smoke "$@"
