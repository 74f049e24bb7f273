"""A deterministic, model-free encoder for demos and fast tests (`PIVOT_EMBEDDING_MODEL=test-hash-encoder`).

Not a semantic model: it exists so the service can run without model files. Test doubles that record
calls live in tests/support/.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

# Built-in name of the deterministic, model-free encoder used by fast tests and demos.
HASH_ENCODER_NAME = "test-hash-encoder"

_WORD = re.compile(r"\w+", re.UNICODE)


class HashEncoder:
    """Deterministic model-free encoder: hashed word and character-trigram features.

    Similar strings get similar vectors, identical strings identical ones, and the result never
    depends on batch composition, which is what fast tests need. Not a semantic model.
    """

    def __init__(self, dimension: int = 256, max_seq_length: int = 512) -> None:
        self.name = HASH_ENCODER_NAME
        self.device = "cpu"
        self.backend = "hash"
        self.precision = "fp32"
        self.dimension = dimension
        self.max_seq_length = max_seq_length

    def warmup(self) -> None:
        self.predict_batch(["warm-up"])

    def cost(self, item: str) -> int:
        return len(item)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) + 2 for text in texts]

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """A token is a word here (two more for the special tokens, as count_tokens says)."""
        return [[m.span() for m in _WORD.finditer(text)] for text in texts]

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        lowered = text.lower()
        features = _WORD.findall(lowered) + [
            lowered[i : i + 3] for i in range(max(0, len(lowered) - 2))
        ]
        for feature in features or [""]:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimension
            vector[index] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        return [self._vector(text) for text in items]
