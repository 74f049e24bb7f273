"""The batched embedding service: cache, then in-flight sharing, then the micro-batcher."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from service.engine.batching import BatchingConfig, BatchObserver, MicroBatcher
from service.engine.cache import CacheObserver, EmbeddingCache, NullCacheObserver
from service.engine.windowing import BOUNDARY_MARGIN, Windows, combine_windows, plan_windows
from service.errors import TextTooLongError
from service.scoring.calibration import Calibration

# How a text over the model's token limit was embedded: it fitted, as overlapping windows, or cut.
LongTextHandling = Literal["whole", "windowed", "truncated"]
_SEVERITY: dict[str, int] = {"whole": 0, "windowed": 1, "truncated": 2}


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
    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]: ...
    def predict_batch(self, items: list[str]) -> list[np.ndarray]: ...


@dataclass
class EmbeddedTexts:
    """Unit vectors for a request's texts, and how each long text was handled.

    A windowed text's vector is its windows' length-weighted mean; `windows[i]` keeps the window
    vectors and their token counts (None for a text embedded in one piece).
    """

    vectors: np.ndarray
    long_text: list[LongTextHandling]
    windows: list[tuple[np.ndarray, np.ndarray] | None] = field(default_factory=list)

    @property
    def truncated(self) -> list[bool]:
        return [handling == "truncated" for handling in self.long_text]


@dataclass
class ScoredPairs:
    """Raw cosines, calibrated scores and, per pair, how its longer-handled text was embedded."""

    cosines: np.ndarray
    scores: np.ndarray
    long_text: list[LongTextHandling]

    @property
    def truncated(self) -> list[bool]:
        return [handling == "truncated" for handling in self.long_text]


def worst(*handlings: LongTextHandling) -> LongTextHandling:
    """The handling to report for a pair of texts: truncated > windowed > whole."""
    return max(handlings, key=_SEVERITY.__getitem__)


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
        self._token_overhead: int | None = None

    @property
    def name(self) -> str:
        return self.encoder.name

    async def start(self) -> None:
        self.batcher.start()
        await self.batcher.run_sync(self.encoder.warmup)

    async def close(self) -> None:
        await self.batcher.close()

    async def embed(
        self,
        texts: Sequence[str],
        *,
        allow_truncation: bool,
        locs: Sequence[str],
        window: bool = False,
    ) -> EmbeddedTexts:
        """Unit vectors for `texts` (duplicates embedded once).

        Texts longer than the model's token limit are embedded whole as overlapping windows when
        `window` (see service/engine/windowing.py), else truncated by the model when
        `allow_truncation`, else they raise `TextTooLongError` naming `locs[i]`.
        """
        unique = list(dict.fromkeys(texts))
        loop = asyncio.get_running_loop()
        # Tokenising is cheap next to the model but not free: keep it off the event loop.
        token_counts = await loop.run_in_executor(None, self.encoder.count_tokens, unique)
        too_long = [
            text for text, count in zip(unique, token_counts) if count > self.encoder.max_seq_length
        ]
        if too_long and not (allow_truncation or window):
            index = next(i for i, text in enumerate(texts) if text in set(too_long))
            count = token_counts[unique.index(texts[index])]
            raise TextTooLongError(
                f"text has {count} tokens, over the model's limit of {self.encoder.max_seq_length}; "
                'shorten it or set "truncate": true',
                locs[index],
            )
        plans: dict[str, Windows] = {}
        if window and too_long:
            plans = await loop.run_in_executor(None, self._plan_windows, too_long)
        inputs = list(
            dict.fromkeys(
                [t for t in unique if t not in plans] + [w for p in plans.values() for w in p.texts]
            )
        )
        by_input = dict(zip(inputs, await self._vectors(inputs)))
        long = set(too_long)
        by_text: dict[str, np.ndarray] = {}
        handling: dict[str, LongTextHandling] = {}
        parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for text in unique:
            plan = plans.get(text)
            if plan is None:
                by_text[text] = by_input[text]
                handling[text] = "truncated" if text in long else "whole"
            else:
                vectors = [by_input[w] for w in plan.texts]
                by_text[text] = combine_windows(vectors, plan.weights)
                parts[text] = (np.stack(vectors), np.asarray(plan.weights, dtype=np.float64))
                handling[text] = "truncated" if plan.truncated else "windowed"
        matrix = (
            np.stack([by_text[text] for text in texts]) if texts else np.zeros((0, 0), np.float32)
        )
        return EmbeddedTexts(
            matrix, [handling[text] for text in texts], [parts.get(text) for text in texts]
        )

    def _plan_windows(self, texts: list[str]) -> dict[str, Windows]:
        """Windows that fit the model for each long text, checked by re-tokenising them."""
        limit = self.encoder.max_seq_length
        all_spans = dict(zip(texts, self.encoder.token_spans(texts)))
        budgets = dict.fromkeys(texts, max(2, limit - self._overhead() - BOUNDARY_MARGIN))
        plans = {t: plan_windows(t, all_spans[t], budgets[t]) for t in texts}
        # A window that starts mid-word can tokenise into a few more tokens than planned.
        for _ in range(3):
            windows = list(dict.fromkeys(w for p in plans.values() for w in p.texts))
            counts = dict(zip(windows, self.encoder.count_tokens(windows)))
            over = {
                t: max(counts[w] for w in p.texts) - limit
                for t, p in plans.items()
                if max(counts[w] for w in p.texts) > limit
            }
            if not over:
                return plans
            for t, excess in over.items():
                budgets[t] -= excess + 2
                plans[t] = plan_windows(t, all_spans[t], max(2, budgets[t]))
        return {
            t: Windows(p.texts, p.weights, truncated=True) if t in over else p
            for t, p in plans.items()
        }

    def _overhead(self) -> int:
        """Tokens the model adds to every text (prompt and special tokens)."""
        if self._token_overhead is None:
            probe = "a"
            self._token_overhead = self.encoder.count_tokens([probe])[0] - len(
                self.encoder.token_spans([probe])[0]
            )
        return self._token_overhead

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
        window: bool = False,
    ) -> ScoredPairs:
        """Raw cosines, calibrated scores and long-text handling for aligned candidate/reference pairs."""
        embedded = await self.embed(
            [*candidates, *references],
            allow_truncation=allow_truncation,
            locs=[*candidate_locs, *reference_locs],
            window=window,
        )
        n = len(candidates)
        left, right = embedded.vectors[:n], embedded.vectors[n:]
        cosines = np.clip(
            np.einsum("ij,ij->i", left.astype(np.float64), right.astype(np.float64)), -1.0, 1.0
        )
        handling = [worst(a, b) for a, b in zip(embedded.long_text[:n], embedded.long_text[n:])]
        scores = self.calibration.score(cosines)
        one = np.ones(1, dtype=np.float64)
        for i in range(n):
            mine, theirs = embedded.windows[i], embedded.windows[n + i]
            if mine is not None or theirs is not None:
                scores[i] = self._matched_score(
                    mine or (left[i : i + 1], one), theirs or (right[i : i + 1], one)
                )
        return ScoredPairs(cosines, scores, handling)

    def _matched_score(
        self, candidate: tuple[np.ndarray, np.ndarray], reference: tuple[np.ndarray, np.ndarray]
    ) -> float:
        """Calibrated similarity of two texts of which one or both were windowed.

        The windows' mean vectors are too blunt a comparison for long texts: averaged over a
        thousand tokens, any two sets of math word problems look alike (MGSM, e5: cosine 0.93 for
        a parallel long response, 0.92 for one whose second half is about other problems, both
        above the calibration's top). So windows are matched, as BERTScore matches tokens: each
        candidate window scores its best-matching reference window (calibrated), each reference
        window its best-matching candidate window, and the reward is the F1 of the two
        length-weighted means. Two texts of one window each get the plain calibrated cosine.
        """
        (cv, cw), (rv, rw) = candidate, reference
        matrix = self.calibration.score(cv.astype(np.float64) @ rv.astype(np.float64).T)
        precision = float(np.average(matrix.max(axis=1), weights=cw))
        recall = float(np.average(matrix.max(axis=0), weights=rw))
        total = precision + recall
        return 2 * precision * recall / total if total > 0 else 0.0
