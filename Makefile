# One-command set-up for pivot-reward. `make serve` and `make test` work from a clean clone.
# Override PYTHON, VENV or TORCH_SPEC / TORCH_PIP_ARGS on the command line if needed, e.g.
#   make serve TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.pivot-reward-installed

.PHONY: setup serve test test-fast test-image image-test podman-deps lint format openapi bench prepare-models clean

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
