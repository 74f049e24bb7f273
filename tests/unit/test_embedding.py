"""Embedding cache, hash encoder, and the embedding service's dedupe/cache/truncation rules."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from service.engine.batching import BatchingConfig
from service.engine.cache import EmbeddingCache
from service.engine.embedding import EmbeddingService
from service.errors import TextTooLongError
from service.scoring.calibration import Calibration
from tests.support.encoders import RecordingHashEncoder as HashEncoder


def test_cache_is_lru_and_bounded_in_bytes() -> None:
    vector = np.ones(100, dtype=np.float32)
    one_entry = len(b"k0") + vector.nbytes + EmbeddingCache._ENTRY_OVERHEAD
    cache = EmbeddingCache(max_bytes=3 * one_entry)
    for i in range(3):
        cache.put(f"k{i}", vector)
    assert cache.get("k0") is not None  # k0 is now most recent
    cache.put("k3", vector)
    assert cache.get("k1") is None and cache.get("k0") is not None
    assert cache.bytes_used <= cache.max_bytes
    cache.put("k3", vector)  # replacing does not double-count
    assert cache.bytes_used == 3 * one_entry


def test_cache_skips_entries_larger_than_its_bound() -> None:
    cache = EmbeddingCache(max_bytes=10)
    cache.put("x", np.ones(100, dtype=np.float32))
    assert len(cache) == 0 and cache.bytes_used == 0


def test_hash_encoder_is_deterministic_and_normalised() -> None:
    encoder = HashEncoder()
    a1, b = encoder.predict_batch(["Hello world", "Something else entirely"])
    (a2,) = encoder.predict_batch(["Hello world"])
    assert np.array_equal(a1, a2)
    assert abs(float(np.linalg.norm(a1)) - 1.0) < 1e-6
    assert float(a1 @ b) < float(a1 @ a2)


def make_service(
    cache_bytes: int = 1 << 20, max_tokens: int = 512
) -> tuple[EmbeddingService, HashEncoder]:
    encoder = HashEncoder(max_seq_length=max_tokens)
    service = EmbeddingService(
        encoder,
        Calibration(0.5, 0.9),
        BatchingConfig(max_batch_size=64, max_wait_s=0.01, max_queue_size=1000),
        cache_bytes=cache_bytes,
    )
    return service, encoder


async def test_duplicates_are_embedded_once_and_cached() -> None:
    service, encoder = make_service()
    await service.start()
    encoder.calls.clear()
    texts = ["ref", "a", "ref", "b", "ref"]
    embedded = await service.embed(
        texts, allow_truncation=False, locs=[f"t[{i}]" for i in range(5)]
    )
    assert embedded.vectors.shape[0] == 5
    assert np.array_equal(embedded.vectors[0], embedded.vectors[2])
    assert sum(encoder.calls) == 3
    await service.embed(["ref", "a"], allow_truncation=False, locs=["x", "y"])
    assert sum(encoder.calls) == 3  # all cached
    await service.close()


async def test_concurrent_requests_share_in_flight_texts() -> None:
    service, encoder = make_service(cache_bytes=0)
    await service.start()
    encoder.calls.clear()
    await asyncio.gather(
        *(
            service.embed(["same reference", f"c{i}"], allow_truncation=False, locs=["r", "c"])
            for i in range(8)
        )
    )
    assert sum(encoder.calls) == 9  # the shared reference once, plus 8 candidates
    await service.close()


class LookupLog:
    """A cache observer that keeps totals per kind."""

    def __init__(self) -> None:
        self.totals = {"hits": 0, "misses": 0, "shared": 0}

    def cache_lookups(
        self, cache: str, model: str, *, hits: int, misses: int, shared: int = 0
    ) -> None:
        assert cache == "embedding"
        for key, value in (("hits", hits), ("misses", misses), ("shared", shared)):
            self.totals[key] += value


async def test_texts_shared_from_in_flight_requests_are_not_counted_as_misses() -> None:
    log = LookupLog()
    encoder = HashEncoder()
    service = EmbeddingService(
        encoder,
        Calibration(0.5, 0.9),
        BatchingConfig(max_batch_size=64, max_wait_s=0.02, max_queue_size=1000),
        cache_bytes=1 << 20,
        cache_observer=log,
    )
    await service.start()
    encoder.calls.clear()
    await asyncio.gather(
        *(
            service.embed(["same", f"c{i}"], allow_truncation=False, locs=["r", "c"])
            for i in range(4)
        )
    )
    # "same" embedded once (1 miss) and shared by the other three; each candidate is a miss.
    assert log.totals == {"hits": 0, "misses": 5, "shared": 3}
    assert sum(encoder.calls) == log.totals["misses"]
    await service.embed(["same"], allow_truncation=False, locs=["r"])
    assert log.totals["hits"] == 1
    await service.close()


async def test_too_long_rejected_unless_truncation_allowed() -> None:
    service, _ = make_service(max_tokens=5)
    await service.start()
    long_text = "one two three four five six seven"
    with pytest.raises(TextTooLongError) as info:
        await service.embed(
            ["short", long_text],
            allow_truncation=False,
            locs=["pairs[0].candidate", "pairs[1].candidate"],
        )
    assert info.value.fields[0].loc == "pairs[1].candidate"
    embedded = await service.embed(["short", long_text], allow_truncation=True, locs=["a", "b"])
    assert embedded.truncated == [False, True]
    await service.close()


async def test_cosine_pairs_calibrates() -> None:
    service, _ = make_service()
    await service.start()
    pairs = await service.cosine_pairs(
        ["same text", "zzz qqq"],
        ["same text", "completely different words"],
        allow_truncation=False,
        candidate_locs=["c0", "c1"],
        reference_locs=["r0", "r1"],
    )
    assert pairs.cosines[0] == pytest.approx(1.0)
    assert pairs.scores[0] == 1.0 and 0.0 <= pairs.scores[1] < 1.0
    assert pairs.truncated == [False, False] and pairs.long_text == ["whole", "whole"]
    await service.close()
