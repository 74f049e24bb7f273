"""Optional user-supplied reward model for Best-of-L: a sequence-classification checkpoint folder."""

from __future__ import annotations

import threading
from pathlib import Path

from service.engine.device import resolve_device


class SequenceClassifierScorer:
    """Scores (question, response) pairs with a `AutoModelForSequenceClassification` checkpoint.

    One logit (num_labels = 1) is the score; with two or more labels the score is the log-odds of the
    last label against the rest, so "good"-last binary classifiers work too.
    """

    def __init__(self, model_dir: Path, *, device: str = "auto", max_length: int = 512) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(
                f"{model_dir} is not a transformers model folder (no config.json); PIVOT_RANK_MODEL must "
                "point to a sequence-classification checkpoint saved with save_pretrained()"
            )
        self.name = model_dir.name
        self.device = resolve_device(device)
        self.max_length = max_length
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        dtype = torch.float16 if self.device == "cuda" else torch.float32
        self._model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True, torch_dtype=dtype
        ).to(self.device)
        self._model.eval()
        self._lock = threading.Lock()

    def warmup(self) -> None:
        self.predict_batch([("warm-up question", "warm-up answer")])

    def cost(self, item: tuple[str, str]) -> int:
        return len(item[0]) + len(item[1])

    def predict_batch(self, items: list[tuple[str, str]]) -> list[float]:
        import torch

        with self._lock:
            encoded = self._tokenizer(
                [q for q, _ in items],
                [r for _, r in items],
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            ).to(self.device)
        with torch.inference_mode():
            logits = self._model(**encoded).logits.float()
        if logits.shape[-1] == 1:
            scores = logits[:, 0]
        else:
            scores = logits[:, -1] - torch.logsumexp(logits[:, :-1], dim=-1)
        return [float(s) for s in scores.cpu()]
