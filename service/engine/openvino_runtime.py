"""OpenVINO, imported without telemetry, and its compiled model as a transformer for sentence-transformers.

sentence-transformers' own `backend="openvino"` goes through optimum-intel, whose current release
pulls torch and transformers to other versions than the service's (a CUDA torch 2.14 and
transformers 5.5, checked with `pip install --dry-run "optimum-intel[openvino]"`). So the model is
converted with OpenVINO's own `openvino.convert_model` (models/openvino_export.py), and the one thing
neither library does is written here: a `torch.nn.Module` that runs the compiled model where the
sentence-transformers `Transformer` module calls its Hugging Face model. Tokenisation, prompts,
length-sorted sub-batches, truncation, pooling and normalisation stay sentence-transformers' own.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Precision names of PIVOT_EMBEDDING_PRECISION -> OpenVINO's INFERENCE_PRECISION_HINT.
OV_PRECISIONS = {"fp32": "f32", "bf16": "bf16"}
IR_FILE = "openvino_model.xml"


def import_openvino() -> Any:
    """`import openvino` with its usage telemetry off.

    openvino's converter package (imported by `import openvino`) sends usage events to Google
    Analytics unless a consent file in the user's home says no; a service must not phone home.
    openvino falls back to its own no-op stub when `openvino_telemetry` cannot be imported, which a
    `None` entry in `sys.modules` guarantees.
    """
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    import openvino

    return openvino


def compile_ir(ir_dir: Path, precision: str, threads: int = 0) -> Any:
    """The IR in `ir_dir` compiled for the CPU at `precision` (fp32 or bf16)."""
    ov = import_openvino()
    core = ov.Core()
    config: dict[str, Any] = {
        "INFERENCE_PRECISION_HINT": OV_PRECISIONS[precision],
        # One stream using every core: the model thread sends one batch at a time.
        "PERFORMANCE_HINT": "LATENCY",
    }
    if threads > 0:
        config["INFERENCE_NUM_THREADS"] = threads
    return core.compile_model(core.read_model(str(ir_dir / IR_FILE)), "CPU", config)


def compiled_precision(compiled: Any) -> str:
    """What the CPU plugin really runs (a CPU without bf16 units runs f32 whatever the hint)."""
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")  # an openvino Type, e.g. bf16
    name = str(getattr(hint, "get_type_name", lambda: hint)()).lower()
    return "bf16" if name in ("bf16", "bfloat16") else "fp32"


def make_transformer_module(compiled: Any, config: Any) -> Any:
    """A parameter-free `torch.nn.Module` with the Hugging Face model's call signature, backed by
    `compiled`: returns `{"last_hidden_state": tensor}` for input_ids / attention_mask (and
    token_type_ids when the IR takes them)."""
    import numpy as np
    import torch

    input_names = [port.get_any_name() for port in compiled.inputs]
    request = compiled.create_infer_request()

    class OpenVinoTransformer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = config  # sentence-transformers reads output_hidden_states etc. from it

        def forward(self, **features: Any) -> Mapping[str, torch.Tensor]:
            inputs: dict[str, np.ndarray] = {}
            for name in input_names:
                value = features.get(name)
                if value is None:  # token_type_ids when the tokenizer gives none: all zeros
                    value = torch.zeros_like(features["input_ids"])
                inputs[name] = value.cpu().numpy()
            # One request, reused: the model thread is the only caller (no concurrent infer).
            output = request.infer(inputs, share_inputs=True)
            hidden = next(iter(output.values()))
            # Copy: the request's output buffer is overwritten by the next call.
            return {"last_hidden_state": torch.from_numpy(np.array(hidden, dtype=np.float32))}

    return OpenVinoTransformer()
