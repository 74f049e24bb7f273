"""The production sentence encoder: a sentence-transformers folder on CPU or CUDA."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.engine.device import resolve_device, resolve_precision
from service.engine.sub_batches import GPU_PLAN, plan
from service.engine.tokens import TokenCounter

logger = logging.getLogger(__name__)


class SentenceTransformerEncoder:
    """A sentence-transformers model folder; precision per `resolve_precision` (fp16 on CUDA, fp32 on CPU by default).

    Texts are encoded with the model's `query` prompt when it defines one (e5 expects `query: ` on
    both sides of a symmetric comparison) and L2-normalised, so a dot product is the cosine.
    """

    backend = "torch"

    def __init__(
        self,
        model_dir: Path,
        name: str,
        *,
        device: str = "auto",
        threads: int = 0,
        precision: str = "auto",
        sub_batch: int = 16,
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        self.name = name
        self.device = resolve_device(device)
        self.model_dir = model_dir
        self.precision = resolve_precision(precision, self.device)
        kwargs: dict[str, Any] = {}
        if self.precision == "fp16":
            kwargs["model_kwargs"] = {"torch_dtype": torch.float16}
        self._model = SentenceTransformer(
            str(model_dir), device=self.device, local_files_only=True, **kwargs
        )
        self._model.eval()
        self._autocast_bf16 = self.precision == "bf16"
        if self.precision == "bf16-ffn":
            _feed_forward_to_bf16(self._model)
        self.max_seq_length = int(self._model.max_seq_length or 512)
        prompts = getattr(self._model, "prompts", None) or {}
        self.prompt = prompts.get("query", "")
        self.prompt_name = "query" if "query" in prompts else None
        # sentence-transformers 6 renamed the method; keep older versions working too.
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dimension() or 0)
        self.sub_batch = sub_batch
        self._tokens = TokenCounter.from_hf(self._model.tokenizer, self.prompt)

    def warmup(self) -> None:
        self.predict_batch(["query warm-up", "Aufwärmen", "উষ্ণ"])

    def cost(self, item: str) -> int:
        return len(item)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as the model will see them (prompt and special tokens included)."""
        return self._tokens.count(texts)

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character offsets of each text's own tokens (for windows over long texts)."""
        return self._tokens.spans(texts)

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        import torch

        # Length-sorted chunks cut where padding would cost more than another forward pass
        # (sub_batches.plan); sentence-transformers' fixed batch_size pads a short batch badly.
        lengths = [min(n, self.max_seq_length) for n in self.count_tokens(items)]
        order = sorted(range(len(items)), key=lambda i: lengths[i])
        vectors: list[np.ndarray] = [np.empty(0, np.float32)] * len(items)
        start = 0
        autocast = torch.autocast(self.device, dtype=torch.bfloat16, enabled=self._autocast_bf16)
        with torch.inference_mode(), autocast:
            sorted_lengths = [lengths[i] for i in order]
            sizes = (
                plan(sorted_lengths, self.sub_batch, *GPU_PLAN)
                if self.device == "cuda"
                else plan(sorted_lengths, self.sub_batch)
            )
            for size in sizes:
                chunk = order[start : start + size]
                start += size
                encoded = self._model.encode(
                    [items[i] for i in chunk],
                    prompt_name=self.prompt_name,
                    batch_size=size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
                for i, vector in zip(chunk, np.asarray(encoded, dtype=np.float32)):
                    vectors[i] = vector
        return vectors


def _feed_forward_to_bf16(model: Any) -> None:
    """bf16 weights and matmuls for the feed-forward linears only (2/3 of the FLOPs); attention,
    layer norms and accumulation stay fp32. Keeps MGSM scores within 0.004 of fp32 (bench/)."""
    import torch

    class Bf16Linear(torch.nn.Module):
        weight: torch.Tensor
        bias: torch.Tensor | None

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            self.register_buffer("weight", linear.weight.detach().to(torch.bfloat16))
            self.register_buffer(
                "bias", None if linear.bias is None else linear.bias.detach().clone()
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.nn.functional.linear(x.to(torch.bfloat16), self.weight).float()
            return y + self.bias if self.bias is not None else y

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            is_ffn = "intermediate.dense" in full or (
                full.endswith("output.dense") and "attention" not in full
            )
            if isinstance(child, torch.nn.Linear) and is_ffn:
                setattr(module, child_name, Bf16Linear(child))
