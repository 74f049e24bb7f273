"""A least-recently-used cache of embeddings, bounded in bytes."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

import numpy as np


class EmbeddingCache:
    """LRU cache of embeddings, bounded in bytes (keys and vectors counted)."""

    _ENTRY_OVERHEAD = 200  # dict slot, ndarray header, str header: approximate but conservative

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes_used = 0
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _size(self, key: str, vector: np.ndarray) -> int:
        return len(key.encode("utf-8", "surrogatepass")) + vector.nbytes + self._ENTRY_OVERHEAD

    def get(self, key: str) -> np.ndarray | None:
        vector = self._entries.get(key)
        if vector is not None:
            self._entries.move_to_end(key)
        return vector

    def put(self, key: str, vector: np.ndarray) -> None:
        size = self._size(key, vector)
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes_used -= self._size(key, old)
        self._entries[key] = vector
        self.bytes_used += size
        while self.bytes_used > self.max_bytes:
            evicted_key, evicted = self._entries.popitem(last=False)
            self.bytes_used -= self._size(evicted_key, evicted)


class CacheObserver(Protocol):
    """Receives cache lookups (implemented by the metrics module).

    `hits` came from the cache, `shared` from another request computing the same text right now,
    `misses` were computed for this request.
    """

    def cache_lookups(
        self, cache: str, model: str, *, hits: int, misses: int, shared: int = 0
    ) -> None: ...


class NullCacheObserver:
    def cache_lookups(
        self, cache: str, model: str, *, hits: int, misses: int, shared: int = 0
    ) -> None:
        pass
