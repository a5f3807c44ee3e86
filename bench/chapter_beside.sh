#!/usr/bin/env bash
# A whole chapter alone and beside a second CPU-bound job (a DPO epoch in a loop, bench_races.py's unit),
# with the book's OpenMP spin setting and with GNU OpenMP's default (300,000 spins). Chapter 5, book
# profile, after a `make book` (its stages come from runs/, so the chapter itself is what is timed).
#     bash bench/chapter_beside.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
out=$(mktemp -d)
run() {
  local t0 t1
  t0=$(date +%s.%N)
  env "$1" .venv/bin/papermill notebooks/05_length_bias.ipynb "$out/05.ipynb" -p profile book --cwd notebooks \
    >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
for setting in "GOMP_SPINCOUNT=5000" "GOMP_SPINCOUNT=300000"; do
  alone=$(run "$setting")
  env "$setting" BENCH_PROFILE=book OMP_NUM_THREADS=2 .venv/bin/python bench/bench_races.py --_child loop \
    >/dev/null 2>&1 &
  other=$!
  sleep 12  # let the other job get going
  beside=$(run "$setting")
  kill "$other"; wait "$other" 2>/dev/null || true
  printf '%s: chapter 5 alone %.1f s, beside another job %.1f s: %.2fx\n' "$setting" "$alone" "$beside" \
    "$(echo "$beside / $alone" | bc -l)"
done
rm -rf "$out"
