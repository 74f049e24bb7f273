"""Batched translation: token-budget micro-batching, request dedupe and an LRU result cache."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from service.engine.batching import BatchingConfig, BatchObserver, MicroBatcher
from service.engine.cache import CacheObserver, NullCacheObserver
from service.engine.translator import NllbTranslator, TranslationOutput
from service.errors import InvalidInputError
from service.scoring.languages import UnknownLanguageError


@dataclass(frozen=True)
class TranslationJob:
    """One text to translate; the options are part of the identity (and of the cache key)."""

    text: str
    source: str  # FLORES-200 code
    target: str  # FLORES-200 code
    beam_size: int
    max_length: int
    tokens: int  # encoder tokens, for the batch token budget


class TranslationScorer:
    """`Scorer` adapter: groups a batch by decoding options, since CTranslate2 shares them per call."""

    def __init__(self, translator: NllbTranslator) -> None:
        self.translator = translator
        self.name = translator.name

    def warmup(self) -> None:
        self.translator.warmup()

    def cost(self, item: TranslationJob) -> int:
        return item.tokens

    def predict_batch(self, items: list[TranslationJob]) -> list[TranslationOutput]:
        results: list[TranslationOutput | None] = [None] * len(items)

        def options(index: int) -> tuple[str, int, int]:
            job = items[index]
            return job.target, job.beam_size, job.max_length

        for (target, beam, length), group in groupby(
            sorted(range(len(items)), key=options), key=options
        ):
            indices = list(group)
            outputs = self.translator.translate_batch(
                [items[i].text for i in indices],
                [items[i].source for i in indices],
                target,
                beam_size=beam,
                max_length=length,
            )
            for i, output in zip(indices, outputs, strict=True):
                results[i] = output
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]


class TranslationService:
    """Translate texts once: LRU cache, then the token-budget batcher."""

    def __init__(
        self,
        translator: NllbTranslator,
        batching: BatchingConfig,
        cache_entries: int,
        observer: BatchObserver | None = None,
        cache_observer: CacheObserver | None = None,
    ) -> None:
        self.translator = translator
        self.scorer = TranslationScorer(translator)
        self.batcher: MicroBatcher[TranslationJob, TranslationOutput] = MicroBatcher(
            self.scorer, batching, observer
        )
        self.cache_entries = cache_entries
        self._cache: OrderedDict[tuple[str, str, str, int, int], TranslationOutput] = OrderedDict()
        self._cache_observer: CacheObserver = cache_observer or NullCacheObserver()

    @property
    def name(self) -> str:
        return self.translator.name

    def language_tokens(self, codes: Sequence[str], locs: Sequence[str]) -> list[str]:
        """This model's FLORES codes for ISO 639-1 / FLORES codes, or 422 naming the first bad field."""
        resolved: dict[str, str] = {}
        for code, loc in zip(codes, locs, strict=True):
            if code not in resolved:
                try:
                    resolved[code] = self.translator.language_token(code)
                except UnknownLanguageError as exc:
                    raise InvalidInputError(str(exc), loc) from None
        return [resolved[code] for code in codes]

    async def start(self) -> None:
        self.batcher.start()
        await self.batcher.run_sync(self.scorer.warmup)

    async def close(self) -> None:
        await self.batcher.close()

    def _cache_get(self, key: tuple[str, str, str, int, int]) -> TranslationOutput | None:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
        return hit

    def _cache_put(self, key: tuple[str, str, str, int, int], value: TranslationOutput) -> None:
        if self.cache_entries <= 0:
            return
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_entries:
            self._cache.popitem(last=False)

    async def translate(
        self,
        texts: Sequence[str],
        sources: Sequence[str],
        target: str,
        *,
        beam_size: int,
        max_length: int,
    ) -> list[TranslationOutput]:
        """Translations in order; `sources`/`target` must already be FLORES codes of this model."""
        keys = [
            (text, source, target, beam_size, max_length)
            for text, source in zip(texts, sources, strict=True)
        ]
        found: dict[tuple[str, str, str, int, int], TranslationOutput] = {}
        missing: list[tuple[str, str, str, int, int]] = []
        for key in dict.fromkeys(keys):
            cached = self._cache_get(key)
            if cached is not None:
                found[key] = cached
            else:
                missing.append(key)
        self._cache_observer.cache_lookups(
            "translation", self.name, hits=len(found), misses=len(missing)
        )
        if missing:
            loop = asyncio.get_running_loop()
            counts = await loop.run_in_executor(
                None, self.translator.count_tokens, [k[0] for k in missing]
            )
            jobs = [
                TranslationJob(*key, tokens=count)
                for key, count in zip(missing, counts, strict=True)
            ]
            outputs = await self.batcher.submit_many(jobs)
            for key, output in zip(missing, outputs, strict=True):
                self._cache_put(key, output)
                found[key] = output
        return [found[key] for key in keys]
