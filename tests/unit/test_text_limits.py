"""Cutting an over-long text to the character limit: start and end kept, exact length."""

from __future__ import annotations

import pytest

from service.scoring.answers import extract_final_answer
from service.scoring.text_limits import CUT_MARK, fit_text


def test_short_texts_are_unchanged() -> None:
    assert fit_text("", 10) == ""
    assert fit_text("x" * 10, 10) == "x" * 10


@pytest.mark.parametrize("limit", [20, 21, 100, 20_000])
def test_long_texts_keep_start_and_end_within_the_limit(limit: int) -> None:
    text = "".join(f"{i:06d} " for i in range(30_000))  # 210,000 characters, all different
    cut = fit_text(text, limit)
    assert len(cut) == limit
    head, _, tail = cut.partition(CUT_MARK)
    assert text.startswith(head) and text.endswith(tail)
    assert abs(len(head) - len(tail)) <= 1
    assert fit_text(text, limit) == cut  # deterministic, so cached embeddings stay valid


def test_tiny_limits_keep_the_end() -> None:
    assert fit_text("abcdefghijklmnop", 5) == "lmnop"
    with pytest.raises(ValueError):
        fit_text("abc", 0)


def test_the_final_answer_survives_the_cut() -> None:
    steps = " ".join(f"Schritt {i}: {i} + {i} = {2 * i}." for i in range(5_000))
    response = f"{steps} Die Antwort lautet 18."
    assert len(response) > 100_000
    cut = fit_text(response, 20_000)
    assert extract_final_answer(cut, "de").value == "18"
