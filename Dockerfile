# syntax=docker/dockerfile:1
#
# pivot-reward container image.
#
# Build arguments
#   BASE_IMAGE=python:3.11-slim  base of both stages: any Debian-like image with python 3.11
#                         (on PATH as `python`, with venv), groupadd and useradd. Where the
#                         registry is unreachable, tests/image builds a stand-in with debootstrap.
#   WHEELS=wheels         a folder of the build context holding wheels to install from; a torch
#                         wheel there (torch-${TORCH_VERSION}*.whl) is used instead of an index,
#                         e.g. where the PyTorch index is unreachable. Empty by default.
#   VARIANT=cpu|cuda      which torch build goes into the image (default: cpu).
#                         cpu  -> torch from the PyTorch CPU wheel index (small image).
#                         cuda -> torch from PyPI, which bundles the CUDA runtime; the host
#                                 only needs the NVIDIA driver + container toolkit.
#                         Both variants use the same python:3.11-slim base and the same targets;
#                         tag them differently, e.g. pivot-reward:cpu and pivot-reward:cuda.
#   TORCH_VERSION=2.13.0  torch version installed before the package.
#   PREPARE_MODELS=1|0    1 (default): run `pivot-reward prepare-models` at build time, so the
#                         image carries the default model in /models and starts offline.
#                         0: skip it; /models is empty and must be mounted (a volume prepared
#                         once with `pivot-reward prepare-models`, see k8s/README.md).
#
# Build secrets (optional; never stored in the image)
#   pip_ca                a CA bundle for pip (a TLS-intercepting proxy), e.g.
#                         --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt
#   pip_conf              a pip.conf for pip in the build (a local index or mirror)
#
# Build
#   docker build -t pivot-reward:cpu .
#   docker build -t pivot-reward:cuda --build-arg VARIANT=cuda .
#   docker build -t pivot-reward:cpu-nomodels --build-arg PREPARE_MODELS=0 .
#
# Run
#   docker run --rm -p 8000:8000 -e PIVOT_API_KEYS=changeme pivot-reward:cpu
#   docker run --rm -p 8000:8000 --gpus all -e PIVOT_DEVICE=cuda pivot-reward:cuda
#   # models on a volume instead of in the image (prepare once, then serve):
#   docker run --rm -v pivot-models:/models pivot-reward:cpu-nomodels pivot-reward prepare-models
#   docker run --rm -p 8000:8000 -v pivot-models:/models:ro pivot-reward:cpu-nomodels
#
# Graceful stop: `docker stop -t 40 ...` (SIGTERM, then the service drains for up to
# PIVOT_SHUTDOWN_GRACE_S=30 s; docker's default 10 s timeout is shorter than that).

############################
# builder: venv with torch + the package (+ prepared models)
############################
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder

ARG VARIANT=cpu
ARG TORCH_VERSION=2.13.0
ARG PREPARE_MODELS=1
ARG WHEELS=wheels

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

# torch first (its own layer, cached across source changes): from a wheel in WHEELS when there
# is one, else from the index matching VARIANT; then its dependencies from PyPI.
COPY ${WHEELS} /wheels/
RUN --mount=type=secret,id=pip_ca --mount=type=secret,id=pip_conf \
    if [ -f /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    if [ -f /run/secrets/pip_conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip_conf; fi; \
    case "$VARIANT" in \
      cpu)  if ls /wheels/torch-"${TORCH_VERSION}"*.whl >/dev/null 2>&1; then \
              pip install --no-cache-dir --no-index --find-links /wheels --no-deps "torch==${TORCH_VERSION}"; \
            else \
              pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu --no-deps "torch==${TORCH_VERSION}"; \
            fi ;; \
      cuda) pip install --no-cache-dir "torch==${TORCH_VERSION}" ;; \
      *)    echo "VARIANT must be cpu or cuda, got: $VARIANT" >&2; exit 1 ;; \
    esac \
    && pip install --no-cache-dir "torch==${TORCH_VERSION}"

WORKDIR /src
COPY . .
RUN --mount=type=secret,id=pip_ca --mount=type=secret,id=pip_conf \
    if [ -f /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    if [ -f /run/secrets/pip_conf ]; then export PIP_CONFIG_FILE=/run/secrets/pip_conf; fi; \
    pip install --no-cache-dir .

# Models: converted into /models at build time unless PREPARE_MODELS=0.
ENV PIVOT_CACHE_DIR=/models
RUN mkdir -p /models \
    && if [ "$PREPARE_MODELS" = "1" ]; then pivot-reward prepare-models; \
       else echo "PREPARE_MODELS=$PREPARE_MODELS: /models left empty, mount prepared models there"; fi

############################
# runtime: slim image, non-root, venv + models copied from the builder
############################
FROM ${BASE_IMAGE} AS runtime

ARG VARIANT=cpu
LABEL org.opencontainers.image.title="pivot-reward" \
      org.opencontainers.image.description="Reward-scoring microservice for RL trainers (${VARIANT})"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIVOT_HOST=0.0.0.0 \
    PIVOT_PORT=8000 \
    PIVOT_CACHE_DIR=/models \
    PIVOT_DEVICE=auto \
    HF_HOME=/tmp/huggingface \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

RUN groupadd --system --gid 10001 pivot \
    && useradd --system --uid 10001 --gid pivot --home-dir /home/pivot --create-home \
       --shell /usr/sbin/nologin pivot

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder --chown=10001:10001 /models /models

USER 10001:10001
WORKDIR /home/pivot

EXPOSE 8000

# Liveness only (/healthz is 200 as soon as the server runs); readiness is /readyz.
# python instead of curl: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PIVOT_PORT', '8000'), timeout=4)"]

STOPSIGNAL SIGTERM
CMD ["pivot-reward", "serve"]
