"""Fit an over-long text into the character limit without losing its end (where the answer is)."""

from __future__ import annotations

# Between the kept head and tail, so the two halves never fuse into one word or number.
CUT_MARK = "\n\n[...]\n\n"


def fit_text(text: str, limit: int) -> str:
    """`text` unchanged when it has at most `limit` characters; otherwise its first and last
    characters with the middle replaced by CUT_MARK, `limit` characters in all.

    The head keeps what an embedding model reads first; the tail keeps the final answer and the
    end of a reasoning block, which answer extraction and the fidelity gate need.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    if len(text) <= limit:
        return text
    if limit <= len(CUT_MARK) + 1:
        return text[-limit:]
    keep = limit - len(CUT_MARK)
    head = keep // 2
    return text[:head] + CUT_MARK + text[len(text) - (keep - head) :]
