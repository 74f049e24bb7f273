"""The sentence encoder on OpenVINO (CPU): the torch encoder with its transformer swapped for the IR."""

from __future__ import annotations

import logging
from pathlib import Path

from service.engine.encoder import SentenceTransformerEncoder
from service.engine.openvino_runtime import compile_ir, compiled_precision, make_transformer_module

logger = logging.getLogger(__name__)


class OpenVinoEncoder(SentenceTransformerEncoder):
    """Same interface, prompts, tokenisation, sub-batches, pooling and normalisation as the torch
    encoder (it is the same sentence-transformers pipeline); only the transformer's forward pass
    runs on OpenVINO, compiled from the IR in `ir_dir` at `precision` (fp32 exact, or bf16)."""

    backend = "openvino"

    def __init__(
        self,
        model_dir: Path,
        ir_dir: Path,
        name: str,
        *,
        threads: int = 0,
        precision: str = "fp32",
        sub_batch: int = 16,
    ) -> None:
        if precision == "auto":
            precision = "fp32"
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"the openvino backend runs fp32 or bf16, not {precision!r}")
        super().__init__(
            model_dir, name, device="cpu", threads=threads, precision="fp32", sub_batch=sub_batch
        )
        compiled = compile_ir(ir_dir, precision, threads)
        first = self._model[0]
        key = "model" if "model" in first._modules else "auto_model"  # sentence-transformers 6 / 5
        # Replacing the Hugging Face model frees its torch weights: the IR holds its own.
        hf_model = first._modules[key]
        assert hf_model is not None
        first._modules[key] = make_transformer_module(compiled, hf_model.config)
        self.ir_dir = ir_dir
        self.precision = compiled_precision(compiled)
        if self.precision != precision:
            logger.warning("OpenVINO runs %s on this CPU (asked for %s)", self.precision, precision)
