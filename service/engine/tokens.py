"""Token counts and token positions of an encoder's inputs, from a private copy of its tokenizer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any


class TokenCounter:
    """Counts and locates tokens as the model sees them, off the model thread.

    A model's fast tokenizer is mutated (padding/truncation state) by every encode() on the model
    thread, so other threads use their own copy of the Rust tokenizer, behind a lock.
    """

    def __init__(self, tokenizer_json: str, prompt: str = "") -> None:
        from tokenizers import Tokenizer

        self.prompt = prompt
        self._tokenizer = Tokenizer.from_str(tokenizer_json)
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._lock = threading.Lock()

    @classmethod
    def from_hf(cls, tokenizer: Any, prompt: str = "") -> TokenCounter:
        """From a transformers fast tokenizer (its Rust backend is serialised and copied)."""
        return cls(tokenizer.backend_tokenizer.to_str(), prompt)

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text as the model will see them (prompt and special tokens included)."""
        with self._lock:
            encoded = self._tokenizer.encode_batch(
                [self.prompt + text for text in texts], add_special_tokens=True
            )
        return [len(encoding.ids) for encoding in encoded]

    def spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character offsets of each text's own tokens (no prompt, no special tokens)."""
        with self._lock:
            encoded = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [[(int(a), int(b)) for a, b in encoding.offsets] for encoding in encoded]
