"""Device and precision resolution shared by every model engine."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> str:
    """`auto` -> `cuda` when torch sees a GPU, else `cpu`."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# Precisions that only make sense on CPU (bf16 feed-forward weights).
CPU_ONLY_PRECISIONS = frozenset({"bf16-ffn"})


def resolve_precision(requested: str, device: str) -> str:
    """The encoder arithmetic that will really run for `PIVOT_EMBEDDING_PRECISION` on `device`.

    auto = fp16 on CUDA, fp32 on CPU; fp32 and bf16 are honoured everywhere; the CPU-only modes fall
    back to fp16 on CUDA with a warning (the result says what runs, and /v1/models reports it).
    """
    if requested == "auto":
        return "fp16" if device == "cuda" else "fp32"
    if requested in CPU_ONLY_PRECISIONS and device != "cpu":
        logger.warning("precision %s is CPU-only; using fp16 on %s", requested, device)
        return "fp16"
    return requested


def resolve_backend(requested: str, device: str) -> str:
    """The embedding runtime that will really run: openvino only on CPU (torch stays on CUDA)."""
    if requested == "openvino" and device != "cpu":
        logger.warning("the openvino backend runs on CPU only; using torch on %s", device)
        return "torch"
    return requested
