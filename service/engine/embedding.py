"""The batched embedding service: cache, then in-flight sharing, then the micro-batcher."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from service.engine.batching import BatchingConfig, BatchObserver, MicroBatcher
from service.engine.cache import CacheObserver, EmbeddingCache, NullCacheObserver
from service.errors import TextTooLongError
from service.scoring.calibration import Calibration


class Encoder(Protocol):
    """What the embedding service needs of a model: the batched `Scorer` interface plus tokens."""

    name: str
    device: str
    backend: str  # what runs the model: torch, openvino, ...
    precision: str  # the arithmetic that really runs (fp32, fp16, bf16, ...)
    dimension: int
    max_seq_length: int

    def warmup(self) -> None: ...
    def cost(self, item: str) -> int: ...
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...
    def predict_batch(self, items: list[str]) -> list[np.ndarray]: ...


@dataclass
class EmbeddedTexts:
    """Unit vectors for a request's texts, plus which texts were truncated by the model."""

    vectors: np.ndarray
    truncated: list[bool]


class EmbeddingService:
    """Embeds texts once: cache, then in-flight sharing, then the micro-batcher."""

    def __init__(
        self,
        encoder: Encoder,
        calibration: Calibration,
        batching: BatchingConfig,
        cache_bytes: int,
        observer: BatchObserver | None = None,
        cache_observer: CacheObserver | None = None,
    ) -> None:
        self.encoder = encoder
        self.calibration = calibration
        self.batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(encoder, batching, observer)
        self.cache = EmbeddingCache(cache_bytes)
        self._cache_observer: CacheObserver = cache_observer or NullCacheObserver()
        # Texts some request is embedding right now: later requests await the same future.
        self._pending_by_text: dict[str, asyncio.Future[np.ndarray]] = {}

    @property
    def name(self) -> str:
        return self.encoder.name

    async def start(self) -> None:
        self.batcher.start()
        await self.batcher.run_sync(self.encoder.warmup)

    async def close(self) -> None:
        await self.batcher.close()

    async def embed(
        self, texts: Sequence[str], *, allow_truncation: bool, locs: Sequence[str]
    ) -> EmbeddedTexts:
        """Unit vectors for `texts` (duplicates embedded once).

        Texts longer than the model's token limit raise `TextTooLongError` naming `locs[i]` unless
        `allow_truncation`, in which case the model truncates them and they are flagged.
        """
        unique = list(dict.fromkeys(texts))
        loop = asyncio.get_running_loop()
        # Tokenising is cheap next to the model but not free: keep it off the event loop.
        token_counts = await loop.run_in_executor(None, self.encoder.count_tokens, unique)
        too_long = {
            text for text, count in zip(unique, token_counts) if count > self.encoder.max_seq_length
        }
        if too_long and not allow_truncation:
            index = next(i for i, text in enumerate(texts) if text in too_long)
            count = token_counts[unique.index(texts[index])]
            raise TextTooLongError(
                f"text has {count} tokens, over the model's limit of {self.encoder.max_seq_length}; "
                'shorten it or set "truncate": true',
                locs[index],
            )
        vectors = await self._vectors(unique)
        by_text = dict(zip(unique, vectors))
        matrix = (
            np.stack([by_text[text] for text in texts]) if texts else np.zeros((0, 0), np.float32)
        )
        return EmbeddedTexts(matrix, [text in too_long for text in texts])

    async def _vectors(self, unique: list[str]) -> list[np.ndarray]:
        found: dict[str, np.ndarray] = {}
        waiting: dict[str, asyncio.Future[np.ndarray]] = {}
        missing: list[str] = []
        for text in unique:
            cached = self.cache.get(text) if self.cache.max_bytes else None
            if cached is not None:
                found[text] = cached
            elif text in self._pending_by_text:
                waiting[text] = self._pending_by_text[text]
            else:
                missing.append(text)
        self._cache_observer.cache_lookups(
            "embedding", self.name, hits=len(found), misses=len(missing), shared=len(waiting)
        )
        if missing:
            loop = asyncio.get_running_loop()
            own = {text: loop.create_future() for text in missing}
            self._pending_by_text.update(own)
            try:
                results = await self.batcher.submit_many(missing)
            except BaseException as exc:
                for text, future in own.items():
                    self._pending_by_text.pop(text, None)
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                        future.exception()  # mark retrieved: there may be no other waiter
                    else:  # our client went away: waiters resubmit (see below)
                        future.cancel()
                raise
            for text, vector in zip(missing, results):
                self._pending_by_text.pop(text, None)
                own[text].set_result(vector)
                if self.cache.max_bytes:
                    self.cache.put(text, vector)
                found[text] = vector
        for text, future in waiting.items():
            try:
                found[text] = await asyncio.shield(future)
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise  # this request itself was cancelled
                # The request that owned this text disconnected; embed it ourselves.
                found[text] = (await self._vectors([text]))[0]
        return [found[text] for text in unique]

    async def cosine_pairs(
        self,
        candidates: Sequence[str],
        references: Sequence[str],
        *,
        allow_truncation: bool,
        candidate_locs: Sequence[str],
        reference_locs: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray, list[bool]]:
        """Raw cosines, calibrated scores and truncation flags for aligned candidate/reference pairs."""
        embedded = await self.embed(
            [*candidates, *references],
            allow_truncation=allow_truncation,
            locs=[*candidate_locs, *reference_locs],
        )
        n = len(candidates)
        left, right = embedded.vectors[:n], embedded.vectors[n:]
        cosines = np.clip(
            np.einsum("ij,ij->i", left.astype(np.float64), right.astype(np.float64)), -1.0, 1.0
        )
        truncated = [a or b for a, b in zip(embedded.truncated[:n], embedded.truncated[n:])]
        return cosines, self.calibration.score(cosines), truncated
