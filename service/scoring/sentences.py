"""Cutting a text into sentences for a sentence-level model (NLLB), and putting the results back.

NLLB-200 was trained on single sentences: a long multi-paragraph rollout given whole is translated
poorly and cut at the output cap. So the translation reward splits it at line breaks and sentence
ends (``. ! ?`` followed by a space, and ``。！？।॥`` anywhere), translates each piece and joins
the translations with the separators the source had (a line break stays a line break). A decimal
point ("2.5") is no sentence end; an abbreviation ("z. B.") may be, which costs nothing but a
slightly shorter piece. A regex, not a sentence-boundary library: the pieces only need to be short
and whole enough for the translator, in every script (the well-known splitters cover few of the
languages served here: no Bengali, Telugu, Thai or Swahili).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# After a sentence end: spaces (Latin-style punctuation) or nothing (CJK/Indic full stops).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？।॥])\s*")
# A piece with fewer letters than this ("1.", "**", "9.") joins the next piece of its line (the
# previous one at the end of a line).
_MIN_LETTERS = 2


@dataclass(frozen=True, slots=True)
class Piece:
    """One sentence (or line) to translate, and what separated it from the previous piece."""

    text: str
    separator: str  # "" for the first piece, "\n" (or "\n\n"...) across lines, else " "


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def split_sentences(text: str) -> list[Piece]:
    """The text's non-empty sentences, in order, each with the separator that preceded it."""
    pieces: list[Piece] = []
    pending_breaks = 0
    for line in text.split("\n"):
        if not line.strip():
            pending_breaks += 1
            continue
        carry = ""
        first_in_line = True
        for sentence in _SENTENCE_END.split(line.strip()):
            if not sentence.strip():
                continue
            sentence = f"{carry} {sentence}".strip() if carry else sentence.strip()
            if _letters(sentence) < _MIN_LETTERS:
                carry = sentence
                continue
            carry = ""
            if not pieces:
                separator = ""
            elif first_in_line:
                separator = "\n" * (pending_breaks + 1)
            else:
                separator = " "
            pieces.append(Piece(sentence, separator))
            first_in_line = False
            pending_breaks = 0
        if carry and not first_in_line:  # "Wie viele bleiben? 9.": the 9 joins its sentence
            last = pieces[-1]
            pieces[-1] = Piece(f"{last.text} {carry}", last.separator)
        elif carry:  # a line of only numbers/symbols: keep it, as its own piece
            pieces.append(Piece(carry, "\n" * (pending_breaks + 1) if pieces else ""))
            pending_breaks = 0
    return pieces


def split_words(text: str) -> tuple[str, str]:
    """Cut a too-long piece in two near its middle: at a space, else between characters."""
    middle = len(text) // 2
    left, right = text.rfind(" ", 0, middle + 1), text.find(" ", middle)
    candidates = [i for i in (left, right) if 0 < i < len(text) - 1]
    cut = min(candidates, key=lambda i: abs(i - middle)) if candidates else max(1, middle)
    return text[:cut].strip(), text[cut:].strip()


def join_sentences(pieces: list[Piece], translations: list[str]) -> str:
    """Translations of ``pieces`` joined with the pieces' own separators."""
    out: list[str] = []
    for piece, translated in zip(pieces, translations, strict=True):
        out.append(piece.separator if out else "")
        out.append(translated.strip())
    return "".join(out)
