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
from service.scoring.sentences import Piece, join_sentences, split_sentences, split_words

# Longest piece given to the translator when a text is translated sentence by sentence: NLLB was
# trained on sentences, and a longer piece (a run-on line, a table) is cut in two at a space.
SEGMENT_TOKENS = 200
# Halvings of one piece at most (2**12 pieces): enough for any text the limits let in.
_MAX_SPLIT_ROUNDS = 12


@dataclass(frozen=True)
class TranslationJob:
    """One text to translate; the options are part of the identity (and of the cache key)."""

    text: str
    source: str  # FLORES-200 code
    target: str  # FLORES-200 code
    beam_size: int
    max_length: int
    tokens: int  # encoder tokens, for the batch token budget


@dataclass(frozen=True)
class LongTranslation:
    """A text translated sentence by sentence."""

    text: str
    truncated: bool  # some piece was cut to the input limit, or its translation hit max_length
    pieces: int


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

    async def translate_sentences(
        self,
        texts: Sequence[str],
        sources: Sequence[str],
        target: str,
        *,
        beam_size: int,
        max_length: int,
    ) -> list[LongTranslation]:
        """Translate each text piece by piece (see service/scoring/sentences.py), `max_length`
        tokens per piece; pieces go through the same cache and batcher as any translation."""
        splits = [split_sentences(text) or [Piece(text, "")] for text in texts]
        loop = asyncio.get_running_loop()
        splits = await loop.run_in_executor(None, self._fit_pieces, splits)
        flat = [(piece.text, source) for pieces, source in zip(splits, sources) for piece in pieces]
        outputs = await self.translate(
            [text for text, _ in flat],
            [source for _, source in flat],
            target,
            beam_size=beam_size,
            max_length=max_length,
        )
        cap = min(max_length, self.translator.max_output_tokens)
        results: list[LongTranslation] = []
        position = 0
        for pieces in splits:
            mine = outputs[position : position + len(pieces)]
            position += len(pieces)
            results.append(
                LongTranslation(
                    text=join_sentences(pieces, [o.text for o in mine]),
                    truncated=any(o.truncated or o.output_tokens >= cap for o in mine),
                    pieces=len(pieces),
                )
            )
        return results

    def _fit_pieces(self, splits: list[list[Piece]]) -> list[list[Piece]]:
        """Cut pieces over SEGMENT_TOKENS (or the model's input limit) in two until they fit."""
        limit = min(SEGMENT_TOKENS, self.translator.max_input_tokens - 1)
        for _ in range(_MAX_SPLIT_ROUNDS):
            counts = iter(self.translator.count_tokens([p.text for ps in splits for p in ps]))
            changed = False
            fitted: list[list[Piece]] = []
            for pieces in splits:
                out: list[Piece] = []
                for piece in pieces:
                    if next(counts) <= limit or len(piece.text) < 2:
                        out.append(piece)
                        continue
                    left, right = split_words(piece.text)
                    out += [Piece(left, piece.separator), Piece(right, " ")]
                    changed = True
                fitted.append(out)
            splits = fitted
            if not changed:
                break
        return splits
