"""Test doubles for the embedding engine."""

from __future__ import annotations

import numpy as np

from service.engine.testing import HashEncoder


class RecordingHashEncoder(HashEncoder):
    """The hash encoder, recording the size of every model call (for tests that prove batching)."""

    def __init__(self, dimension: int = 256, max_seq_length: int = 512) -> None:
        super().__init__(dimension, max_seq_length)
        self.calls: list[int] = []

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        self.calls.append(len(items))
        return super().predict_batch(items)
