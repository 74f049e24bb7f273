# One-command set-up for pivot-reward. `make serve` and `make test` work from a clean clone.
# Override PYTHON, VENV or TORCH_SPEC / TORCH_PIP_ARGS on the command line if needed, e.g.
#   make serve TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.pivot-reward-installed
# The trainers' own code (TRL, verl, OpenRLHF) runs in a venv of its own: their pins clash with the
# server's. tests/trainers/ runs there, against a server started from $(VENV).
TRAINERS_VENV ?= .venv-trainers
TRAINERS_BIN := $(TRAINERS_VENV)/bin
TRAINERS_STAMP := $(TRAINERS_VENV)/.pivot-reward-trainers-installed
CLIENT_SOURCES := client/pyproject.toml $(wildcard client/pivot_reward_client/*.py)

.PHONY: setup serve test test-fast test-trainers trainers-venv test-image image-test podman-deps lint format openapi bench prepare-models clean

$(STAMP): pyproject.toml client/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch first, so nothing below pulls a multi-GB CUDA build from PyPI
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]" -e ./client
	touch $(STAMP)

$(TRAINERS_STAMP): tests/trainers/requirements.txt tests/trainers/requirements-nodeps.txt $(CLIENT_SOURCES)
	test -x $(TRAINERS_BIN)/python || $(PYTHON) -m venv $(TRAINERS_VENV)
	$(TRAINERS_BIN)/python -m pip install --quiet --upgrade pip
	$(TRAINERS_BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(TRAINERS_BIN)/python -m pip install --quiet -r tests/trainers/requirements.txt
	@# verl and OpenRLHF pin GPU stacks (vllm, deepspeed, flash-attn): their code only, no deps
	$(TRAINERS_BIN)/python -m pip install --quiet --no-deps -r tests/trainers/requirements-nodeps.txt
	$(TRAINERS_BIN)/python -m pip install --quiet --force-reinstall --no-deps ./client
	$(TRAINERS_BIN)/python -c "import torch, trl, verl, openrlhf; print('trainers venv: torch', torch.__version__, 'trl', trl.__version__, 'verl', verl.__version__)"
	touch $(TRAINERS_STAMP)

setup: $(STAMP)

prepare-models: setup
	$(BIN)/pivot-reward prepare-models

serve: prepare-models
	$(BIN)/pivot-reward serve

lint: setup
	$(BIN)/ruff check service models tests bench client examples
	$(BIN)/ruff format --check service models tests bench client examples
	$(BIN)/mypy service client/pivot_reward_client

format: setup
	$(BIN)/ruff format service models tests bench client examples
	$(BIN)/ruff check --fix service models tests bench client examples

test: prepare-models lint
	$(BIN)/python -m pytest
	$(MAKE) test-trainers

trainers-venv: $(TRAINERS_STAMP)

# TRL, verl, OpenRLHF and slime code against a live server (PIVOT_SERVER_PYTHON runs it).
test-trainers: setup $(TRAINERS_STAMP)
	PIVOT_SERVER_PYTHON=$(abspath $(BIN)/python) $(TRAINERS_BIN)/python -m pytest tests/trainers --confcutdir=tests/trainers -p no:cacheprovider

test-fast: setup
	$(BIN)/python -m pytest tests/unit tests/integration

# The container image built and run with podman (tests/image; ~10 min cold, ~2 min cached).
# Needs root for apt and rootful podman; the test skips, saying why, where podman cannot run.
test-image: setup
	$(MAKE) image-test

image-test: podman-deps
	PIVOT_TEST_IMAGE=1 $(BIN)/python -m pytest tests/image -p no:cacheprovider

podman-deps:
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	       --no-install-recommends podman runc debootstrap netavark aardvark-dns iptables \
	       slirp4netns uidmap fuse-overlayfs; } \
	  || echo "podman-deps: could not install podman (not root or no apt?); tests/image will skip"

openapi: setup
	$(BIN)/python -m service.openapi_export openapi.yaml

bench: prepare-models
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(TRAINERS_VENV) .pytest_cache .mypy_cache .ruff_cache
