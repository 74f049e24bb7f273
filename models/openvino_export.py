"""Convert a sentence-transformers folder's transformer to OpenVINO IR, once, and check it.

OpenVINO's own converter (`openvino.convert_model`) traces the very torch module that
sentence-transformers runs (the Hugging Face model inside its `Transformer` module), with dynamic
batch and sequence dimensions, and the IR is saved in float32 (`compress_to_fp16=False`): precision
is chosen when the service compiles it (f32 exact, or bf16). The folder is written under a
temporary name, validated against torch on varied scripts (cosine >= MIN_COSINE per text, f32) and
only then renamed into place, with a metadata file that `is_exported` checks.

Why not sentence-transformers' `backend="openvino"`: see service/engine/openvino_runtime.py.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from service.engine.openvino_runtime import IR_FILE, compile_ir, import_openvino

EXPORT_VERSION = "1"
METADATA_FILE = "pivot_reward_openvino.json"
MIN_COSINE = 0.9999
VALIDATION_TEXTS = (
    "Janet's ducks lay 16 eggs per day. How much does she make every day at the farmers' market?",
    "Janet verkauft 9 Eier für je 2 $, also verdient sie 18 $.",
    "জ্যানেট প্রতিটি ২ ডলারে ৯টি ডিম বিক্রি করে, তাই সে ১৮ ডলার পায়।",
    "เจเน็ตขายไข่ 9 ฟองในราคาฟองละ 2 ดอลลาร์ คำตอบคือ 18",
    "ジャネットのアヒルは1日に16個の卵を産みます。答えは１８です。",
    "答案是 18。",
    "Ответ: 18",
    "Ａｎｓｗｅｒ： café naïve 🙂",
    "x",
)


class OpenVinoExportError(RuntimeError):
    """Conversion failed or the IR does not reproduce the torch model."""


def _transformer_module(st_model: Any) -> Any:
    """The Hugging Face model inside sentence-transformers' first module (`model` in v6, `auto_model` before)."""
    first = st_model[0]
    return first._modules.get("model") or first._modules["auto_model"]


def export_openvino(model_dir: Path, out_dir: Path) -> Path:
    """Write `out_dir` (IR + metadata) for the sentence-transformers folder `model_dir`."""
    import torch
    from sentence_transformers import SentenceTransformer

    ov = import_openvino()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        st.eval()
        hf = _transformer_module(st)
        tokenize = getattr(st, "preprocess", None) or st.tokenize  # renamed in v6
        example = dict(tokenize([VALIDATION_TEXTS[0], VALIDATION_TEXTS[2]]))
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in example]

        class LastHiddenState(torch.nn.Module):
            """Only the token embeddings (the pooler is not used by sentence-transformers' pooling)."""

            def __init__(self, model: Any) -> None:
                super().__init__()
                self.model = model

            def forward(
                self,
                input_ids: torch.Tensor,
                attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None,
            ) -> torch.Tensor:
                extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra)
                return out.last_hidden_state

        with torch.inference_mode():
            ir = ov.convert_model(
                LastHiddenState(hf).eval(),
                example_input={n: example[n] for n in names},
                input=[(n, ov.PartialShape([-1, -1]), ov.Type.i64) for n in names],
            )
        ov.save_model(ir, str(tmp / IR_FILE), compress_to_fp16=False)
        report = validate(st, tmp)
        meta = {
            "source": str(Path(model_dir).resolve()),
            "openvino": ov.get_version(),
            "export_version": EXPORT_VERSION,
            "inputs": names,
            "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "validation": report,
        }
        (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        if not report["passed"]:
            raise OpenVinoExportError(
                f"OpenVINO IR differs from torch: min cosine {report['min_cosine']:.6f} < {MIN_COSINE}"
            )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def validate(st_model: Any, ir_dir: Path) -> dict[str, Any]:
    """f32 IR vs torch on VALIDATION_TEXTS, through sentence-transformers' own pre/post-processing."""
    import copy

    from service.engine.openvino_runtime import make_transformer_module

    texts = list(VALIDATION_TEXTS)  # encode() applies the model's default prompt itself
    expected = st_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    swapped = copy.deepcopy(st_model)
    first = swapped[0]
    key = "model" if "model" in first._modules else "auto_model"
    module = make_transformer_module(compile_ir(ir_dir, "fp32"), first._modules[key].config)
    first._modules[key] = module
    got = swapped.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    cosines = np.sum(np.asarray(expected) * np.asarray(got), axis=1)
    return {
        "texts": len(texts),
        "min_cosine": float(cosines.min()),
        "mean_cosine": float(cosines.mean()),
        "threshold": MIN_COSINE,
        "passed": bool(cosines.min() >= MIN_COSINE),
    }


def is_exported(ir_dir: Path) -> bool:
    """True when `ir_dir` holds a validated IR of this exporter version."""
    try:
        meta = json.loads((Path(ir_dir) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        bool(meta.get("validation", {}).get("passed"))
        and meta.get("export_version") == EXPORT_VERSION
        and (Path(ir_dir) / IR_FILE).is_file()
    )
