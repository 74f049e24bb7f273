"""Long texts embedded whole: window planning, combination, and the embedding service's use of them."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from service.engine.batching import BatchingConfig
from service.engine.embedding import EmbeddingService, worst
from service.engine.windowing import (
    BOUNDARY_MARGIN,
    MAX_WINDOWS,
    WINDOW_OVERLAP,
    Windows,
    combine_windows,
    plan_windows,
)
from service.errors import TextTooLongError
from service.scoring.calibration import Calibration
from tests.support.encoders import RecordingHashEncoder

WORD = re.compile(r"\w+")


def spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in WORD.finditer(text)]


def numbered(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_a_text_that_fits_is_one_window_of_itself() -> None:
    text = numbered(10)
    assert plan_windows(text, spans(text), budget=10) == Windows((text,), (10,))


def test_windows_fit_cover_every_token_and_overlap() -> None:
    text = numbered(1000)
    plan = plan_windows(text, spans(text), budget=200)
    assert not plan.truncated
    words = [w.split() for w in plan.texts]
    assert all(len(w) <= 200 for w in words) and list(plan.weights) == [len(w) for w in words]
    assert words[0][0] == "w0" and words[-1][-1] == "w999"
    seen = [int(t[1:]) for w in words for t in w]
    assert set(seen) == set(range(1000))  # nothing skipped
    for before, after in itertools.pairwise(words):
        shared = len(set(before) & set(after))
        assert shared == min(WINDOW_OVERLAP, 100)  # neighbours share the overlap, no more


def test_windows_start_at_word_starts() -> None:
    # Sub-word tokens: every word is three tokens, as a tokenizer splits a long word.
    text = " ".join(["abcdefghi"] * 300)
    token_spans = [
        (m.start() + k, m.start() + k + 3) for m in WORD.finditer(text) for k in (0, 3, 6)
    ]
    plan = plan_windows(text, token_spans, budget=100)
    assert all(w.startswith("abcdefghi") and w.endswith("abcdefghi") for w in plan.texts)
    assert all(weight <= 100 for weight in plan.weights)


def test_too_many_windows_keep_the_beginning_and_say_so() -> None:
    text = numbered(50 * (MAX_WINDOWS + 5))
    plan = plan_windows(text, spans(text), budget=50, overlap=0)
    assert plan.truncated and len(plan.texts) == MAX_WINDOWS
    assert plan.texts[0].startswith("w0 ")


def test_invalid_budget() -> None:
    with pytest.raises(ValueError):
        plan_windows("a b c", spans("a b c"), budget=1)


def test_combine_is_the_length_weighted_mean_normalised() -> None:
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    combined = combine_windows([a, b], [3, 1])
    assert combined.dtype == np.float32
    assert combined == pytest.approx(np.array([3.0, 1.0]) / np.sqrt(10.0))
    assert combine_windows([a], [7]) == pytest.approx(a)


def test_worst_handling_of_a_pair() -> None:
    assert worst("whole", "windowed") == "windowed"
    assert worst("truncated", "windowed") == "truncated"
    assert worst("whole", "whole") == "whole"


def make_service(max_tokens: int = 52) -> tuple[EmbeddingService, RecordingHashEncoder]:
    encoder = RecordingHashEncoder(max_seq_length=max_tokens)
    service = EmbeddingService(
        encoder,
        Calibration(0.0, 1.0),
        BatchingConfig(max_batch_size=64, max_wait_s=0.005, max_queue_size=1000),
        cache_bytes=1 << 20,
    )
    return service, encoder


async def test_a_long_text_is_embedded_as_windows_through_the_batcher_and_cache() -> None:
    service, encoder = make_service()
    await service.start()
    encoder.calls.clear()
    long_text = numbered(300)  # 300 words + 2 special tokens > 52
    embedded = await service.embed(
        ["short text", long_text], allow_truncation=False, locs=["a", "b"], window=True
    )
    assert embedded.long_text == ["whole", "windowed"] and embedded.truncated == [False, False]
    plan = plan_windows(long_text, spans(long_text), budget=50 - BOUNDARY_MARGIN)
    assert len(plan.texts) > 5
    assert sum(encoder.calls) == 1 + len(plan.texts)  # each window is one ordinary model input
    expected = combine_windows(encoder.predict_batch(list(plan.texts)), plan.weights)
    assert embedded.vectors[1] == pytest.approx(expected, abs=1e-6)
    assert abs(float(np.linalg.norm(embedded.vectors[1])) - 1.0) < 1e-5
    calls = sum(encoder.calls)
    again = await service.embed([long_text], allow_truncation=False, locs=["b"], window=True)
    assert sum(encoder.calls) == calls  # the windows came from the cache
    assert np.array_equal(again.vectors[0], embedded.vectors[1])
    await service.close()


async def test_a_long_text_is_judged_on_all_of_it_when_windowed() -> None:
    service, _ = make_service()
    await service.start()
    start = "apples pears plums " * 10
    same = start + "apples pears plums " * 60
    drifted = start + "engines wheels brakes " * 60
    reference = "apples pears plums " * 15
    whole = await service.cosine_pairs(
        [same, drifted],
        [reference, reference],
        allow_truncation=True,
        candidate_locs=["a", "b"],
        reference_locs=["r", "r"],
        window=True,
    )
    cut = await service.cosine_pairs(
        [same, drifted],
        [reference, reference],
        allow_truncation=True,
        candidate_locs=["a", "b"],
        reference_locs=["r", "r"],
    )
    assert whole.long_text == ["windowed", "windowed"] and cut.long_text == ["truncated"] * 2
    # Windowed, the drift counts (the hash encoder itself never truncates: what truncation loses
    # with a real model is shown in tests/e2e/test_long_texts.py).
    assert whole.cosines[0] - whole.cosines[1] > 0.5
    await service.close()


async def test_window_wins_over_reject_and_truncation_still_works() -> None:
    service, _ = make_service(max_tokens=5)
    await service.start()
    long_text = "one two three four five six seven"
    with pytest.raises(TextTooLongError):
        await service.embed([long_text], allow_truncation=False, locs=["x"])
    truncated = await service.embed([long_text], allow_truncation=True, locs=["x"])
    assert truncated.long_text == ["truncated"]
    windowed = await service.embed([long_text], allow_truncation=False, locs=["x"], window=True)
    assert windowed.long_text == ["windowed"]
    await service.close()


class GrowingTokens(RecordingHashEncoder):
    """A tokenizer that reads a text starting with "w1..." as 8 tokens longer (as a real one may
    read a window that starts mid-word differently): the plan must be checked and redone."""

    def count_tokens(self, texts):  # type: ignore[no-untyped-def]
        return [
            n + (8 if t.startswith("w1") else 0) for n, t in zip(super().count_tokens(texts), texts)
        ]


async def test_windows_that_tokenise_longer_than_planned_are_replanned() -> None:
    encoder = GrowingTokens(max_seq_length=52)
    service = EmbeddingService(
        encoder,
        Calibration(0.0, 1.0),
        BatchingConfig(max_batch_size=64, max_wait_s=0.005, max_queue_size=1000),
        cache_bytes=0,
    )
    await service.start()
    text = numbered(400)
    plan = service._plan_windows([text])[text]
    assert not plan.truncated
    assert max(encoder.count_tokens(list(plan.texts))) <= 52
    embedded = await service.embed([text], allow_truncation=False, locs=["x"], window=True)
    assert embedded.long_text == ["windowed"]
    await service.close()


def test_windowed_pairs_are_scored_by_matching_windows() -> None:
    service, _ = make_service()
    a, b, c = np.eye(3, dtype=np.float32)
    ones = np.ones(2)
    # Half of the candidate (b) matches nothing, half of the reference (c) is not covered: F1 0.5.
    half = service._matched_score((np.stack([a, b]), ones), (np.stack([a, c]), ones))
    assert half == pytest.approx(0.5)
    same = service._matched_score((np.stack([a, b]), ones), (np.stack([b, a]), ones))
    assert same == pytest.approx(1.0)  # order does not matter, content does
    # Weights are token counts: a long matching window outweighs a short stray one.
    weighted = service._matched_score(
        (np.stack([a, b]), np.array([3.0, 1.0])), (a[None], np.ones(1))
    )
    assert weighted == pytest.approx(2 * 0.75 * 1.0 / 1.75)


async def test_cosine_pairs_use_window_matching_only_for_windowed_pairs() -> None:
    service, _ = make_service()
    await service.start()
    long_text = numbered(300)
    pairs = await service.cosine_pairs(
        [long_text, "w1 w2 w3"],
        [long_text, "w1 w2 w3"],
        allow_truncation=False,
        candidate_locs=["a", "b"],
        reference_locs=["r", "s"],
        window=True,
    )
    assert pairs.long_text == ["windowed", "whole"]
    assert pairs.scores[0] == pytest.approx(1.0) and pairs.scores[1] == pytest.approx(1.0)
    await service.close()
