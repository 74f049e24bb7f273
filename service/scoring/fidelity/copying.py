"""The copy check: how much of a response is the reference, however it is wrapped or edited.

Three measures, each in [0, 1]; numbers and math symbols never count (a faithful translation keeps
every number of the reference):

- :func:`copy_overlap`, the share of the response's letter mass that is copied, the larger of:
  word n-grams (``n`` = 5 words, or characters of unspaced scripts) of the response's prose that
  occur in the reference's; and runs of ``LETTER_RUN`` letters of *all* the response's letters
  (code, math, comments, attributes included; spaces, punctuation, case and homoglyphs ignored)
  that occur in the reference. The second sees a paste inside a code fence, ``$$\\text{..}$$``,
  an HTML attribute, spelled with zero-width spaces, dots between letters or Cyrillic lookalikes,
  or re-flowed over several lines.
- :func:`reference_containment`, the share of the reference's distinct words (3+ letters) that
  the response contains anywhere, in any order: near 1 for a paste interleaved word by word with
  target-language words, a paste with a few words changed or with a long native preface, which
  dilute ``copy_overlap``; at most ~0.42 for real translations of MGSM's English text into de, es,
  fr or sw (names and cognates), ~0.1 for other scripts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.scoring.fidelity.cleaning import clean_text, reveal_text, skeleton
from service.scoring.fidelity.scripts import SENTENCE_PUNCT, UNSPACED, WEIGHTS, script_of

DEFAULT_NGRAM = 5
# ~4 English words without their spaces. MGSM translations (de, es, fr, sw) share at most 17 %
# of their letters with their English original in runs this long (names), other scripts 0 %.
LETTER_RUN = 20
# Fewer distinct words than this in the reference: too few to call a response a copy of it.
MIN_REFERENCE_WORDS = 5

_WORD = re.compile(rf"[^\s{SENTENCE_PUNCT}]+")


def _tokens(text: str) -> list[str]:
    """Words, with each character of an unspaced script as its own token (case-folded)."""
    out: list[str] = []
    for word in _WORD.findall(skeleton(text.casefold())):
        run: list[str] = []
        for ch in word:
            if script_of(ch) in UNSPACED:
                if run:
                    out.append("".join(run))
                    run = []
                out.append(ch)
            else:
                run.append(ch)
        if run:
            out.append("".join(run))
    return out


def _ngrams(tokens: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _letters(text: str) -> str:
    """All letters of a revealed text, case-folded, lookalikes as Latin, no spaces."""
    return "".join(skeleton(text.casefold()).split())


def _runs(letters: str, k: int) -> Iterable[int]:
    return (hash(letters[i : i + k]) for i in range(len(letters) - k + 1))


@dataclass(frozen=True, slots=True)
class _Reference:
    grams: frozenset[tuple[str, ...]]
    runs: frozenset[int]
    words: dict[str, int]  # distinct words of 3+ letters -> their length (the weight)


@functools.lru_cache(maxsize=64)
def _reference(reference: str, n: int) -> _Reference:
    """The reference's n-grams, letter runs and words, cached: a GRPO group sends the same
    reference 8-64 times. Runs are kept as hashes to bound the memory of long references."""
    revealed = reveal_text(reference)
    words = {t: len(t) for t in _tokens(revealed) if len(t) >= 3}
    return _Reference(
        frozenset(_ngrams(_tokens(clean_text(reference)), n)),
        frozenset(_runs(_letters(revealed), LETTER_RUN)),
        words if len(words) >= MIN_REFERENCE_WORDS else {},
    )


def _weight(ch: str) -> float:
    return WEIGHTS.get(script_of(ch) or "", 1.0)


def _gram_share(tokens: Sequence[str], grams: frozenset[tuple[str, ...]], n: int) -> float:
    if len(tokens) < n or not grams:
        return 0.0
    covered = [False] * len(tokens)
    for i, gram in enumerate(_ngrams(tokens, n)):
        if gram in grams:
            covered[i : i + n] = [True] * n
    # A token is one script's letters (words) or one character: weigh it by its first letter.
    weights = [_weight(token[0]) * len(token) for token in tokens]
    total = sum(weights)
    return sum(w for w, c in zip(weights, covered) if c) / total if total else 0.0


def _run_share(letters: str, runs: frozenset[int]) -> float:
    k = LETTER_RUN
    if len(letters) < k or not runs:
        return 0.0
    covered = [False] * len(letters)
    for i, h in enumerate(_runs(letters, k)):
        if h in runs:
            covered[i : i + k] = [True] * k
    weights = [_weight(ch) for ch in letters]
    total = sum(weights)
    return sum(w for w, c in zip(weights, covered) if c) / total if total else 0.0


def copy_overlap(
    response: str,
    reference: str,
    *,
    n: int = DEFAULT_NGRAM,
    cleaned: str | None = None,
    revealed: str | None = None,
) -> float:
    """Share of the response's letter mass copied from ``reference`` (see the module docstring).

    0.0 when the response is shorter than one n-gram and one letter run. ``cleaned``/``revealed``
    are the response's :func:`clean_text`/:func:`reveal_text` when the caller has them already.
    """
    ref = _reference(reference, n)
    cleaned = clean_text(response) if cleaned is None else cleaned
    revealed = reveal_text(response) if revealed is None else revealed
    share = max(
        _gram_share(_tokens(cleaned), ref.grams, n), _run_share(_letters(revealed), ref.runs)
    )
    return round(share, 4)


def reference_containment(response: str, reference: str, *, revealed: str | None = None) -> float:
    """Share of the reference's distinct words (weighted by length) found anywhere in the response.

    0.0 for a reference with fewer than ``MIN_REFERENCE_WORDS`` distinct words of 3+ letters.
    """
    words = _reference(reference, DEFAULT_NGRAM).words
    if not words:
        return 0.0
    present = set(_tokens(reveal_text(response) if revealed is None else revealed))
    total = sum(words.values())
    return round(sum(w for word, w in words.items() if word in present) / total, 4)
