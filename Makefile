# Two entry points (see README): `make book` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

# Nothing in lite mode may reach a model or data hub.
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
# Idle OpenMP threads spin briefly, then sleep: beside another CPU-bound job (a second build, the tests) a
# chapter then slows down by about its fair share, not 10x (rlhf_lite/parallel.py, bench/bench_races.py).
export GOMP_SPINCOUNT := 5000

.PHONY: env book book-ci test test-fast bench clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $@

env: $(STAMP)

book: $(STAMP)           ## run every chapter (book profile) with papermill, render _build/html
	$(BIN)/python -m rlhf_lite.site.book --profile book

book-ci: $(STAMP)        ## the same, small and fast (ci profile)
	$(BIN)/python -m rlhf_lite.site.book --profile ci

test: $(STAMP)           ## unit tests + every notebook under papermill (ci) + nbval + book build -W + browser
	bash tools/ensure_chromium.sh
	$(BIN)/python -m pytest

test-fast: $(STAMP)      ## the unit tests only (no book build, no process or browser tests): a few minutes
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)          ## timings, races and utilisation on this machine; the races' table goes into bench/README.md
	$(BIN)/python bench/bench_races.py --profile book --write
	$(BIN)/python bench/bench_utilisation.py --profile book
	$(BIN)/python bench/bench_padding.py --profile book
	$(BIN)/python bench/bench_foundation.py
	$(BIN)/python bench/bench_data.py
	$(BIN)/python bench/bench_reward.py
	$(BIN)/python bench/bench_online.py

clean:
	rm -rf _build runs results .book-staging
