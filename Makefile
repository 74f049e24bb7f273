# One-command set-up for pivot-reward. `make serve` and `make test` work from a clean clone.
# Override PYTHON, VENV or TORCH_SPEC / TORCH_PIP_ARGS on the command line if needed, e.g.
#   make serve TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.pivot-reward-installed

.PHONY: setup serve test test-fast lint format openapi bench prepare-models clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first, so nothing below pulls a multi-GB CUDA build from PyPI
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

prepare-models: setup
	$(BIN)/pivot-reward prepare-models

serve: prepare-models
	$(BIN)/pivot-reward serve

lint: setup
	$(BIN)/ruff check service models tests bench
	$(BIN)/ruff format --check service models tests bench
	$(BIN)/mypy service

format: setup
	$(BIN)/ruff format service models tests bench
	$(BIN)/ruff check --fix service models tests bench

test: prepare-models lint
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest tests/unit tests/integration

openapi: setup
	$(BIN)/python -m service.openapi_export openapi.yaml

bench: prepare-models
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
