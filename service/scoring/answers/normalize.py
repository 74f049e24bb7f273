"""Same-length text normalisation and per-language number conventions.

Every step maps one character to one character (or blanks a span with spaces), so offsets in
the normalised text are offsets in the original: `raw` answers are cut from the original text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from service.scoring.languages import normalize_lang

HS: Final = "\u00a0"  # every "hard" grouping space (NBSP, narrow NBSP, thin, figure) becomes NBSP

_PUNCT_MAP: Final[Mapping[str, str]] = MappingProxyType(
    {
        "，": ",", "．": ".", "＋": "+", "－": "-", "−": "-", "‒": "-", "–": "-", "﹣": "-",
        "＝": "=", "：": ":", "∶": ":", "／": "/", "⁄": "/", "∕": "/", "％": "%", "٪": "%",
        "＄": "$", "٫": ".", "٬": ",", "＊": "*", "（": "(", "）": ")", "’": "'", "＇": "'",
        "！": "!", "？": "?", "；": ";", "～": "~", "〜": "~", "✕": "×", "⋅": "·", "∙": "·",
        "\u2009": HS, "\u202f": HS, "\u2007": HS, "\u3000": " ", "\u200b": " ",
    }
)  # fmt: skip


def _build_char_map() -> Mapping[int, str]:
    table: dict[int, str] = {}
    for cp in itertools.chain(range(0x80, 0x10000), range(0x1D7CE, 0x1D800)):
        ch = chr(cp)
        if unicodedata.category(ch) == "Nd":
            table[cp] = str(unicodedata.decimal(ch))
    table.update({ord(k): v for k, v in _PUNCT_MAP.items()})
    return MappingProxyType(table)


CHAR_MAP: Final = _build_char_map()


def _mark_ranges() -> str:
    """A regex class body of every combining mark (Mn, Mc, Me) in the BMP."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


# A letter of any script. Indic and Thai vowel signs and viramas are combining marks, which
# `\w` does not match: "ডিম" or "ตะกร้า" would otherwise be cut into pieces.
LETTER: Final = rf"(?:[^\W\d_]|[{_mark_ranges()}])"

# GSM8K calculator annotations and MGSM's few-shot "Step-by-Step Answer:" headers contain
# numbers / answer words that are not the final answer; they are blanked (same length).
_CALC_RE: Final = re.compile(r"<<[^<>\n]{0,200}>>")
_HEADER_RE: Final = re.compile(
    r"(?:\*\*)?(?:"
    r"step[-\s]by[-\s]step\s+answer|schritt[-\s]f[üu]r[-\s]schritt[-\s]antwort"
    r"|respuesta\s+paso\s+a\s+paso|r[ée]ponse\s+[ée]tape\s+par\s+[ée]tape"
    r"|ステップごとの答え|пошаговое\s+решение|jibu\s+la\s+hatua\s+kwa\s+hatua"
    r"|దశలవారీగా\s+సమాధానం|คำตอบทีละขั้นตอน|逐步解答|ধাপে\s+ধাপে\s+উত্তর"
    r")(?:\*\*)?\s*:?(?:\*\*)?",
    re.IGNORECASE,
)

# Markdown structure that carries digits but no quantity.
_LINE_START: Final = r"(?:^|(?<=\n))[ \t>]*(?:[-*+•][ \t]+)?(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*"
# "Step 2:", "**Paso 1.**", "#### Шаг 3", "ขั้นตอนที่ 2", "第二步", "ステップ1": step labels.
_STEP_WORDS: Final = (
    r"step|schritt|paso|etapa|[ée]tape|шаг|hatua(?:[ \t]+ya)?|ধাপ|దశ|ステップ|步骤|步驟"
)
_STEP_NUM: Final = r"(?:[0-9]{1,3}|[一二三四五六七八九十]{1,3})(?![0-9]|[.,][0-9])"
_STEP_RE: Final = re.compile(
    # at the start of a line (after bullets, heading hashes, bold): a label whatever follows
    rf"{_LINE_START}(?:{_STEP_WORDS}|part|teil|parte|partie)[ \t]*(?P<a>{_STEP_NUM})"
    # inside a line: only when punctuation or markup follows ("in step 2: ...", "Paso 1.**")
    rf"|(?<![^\W\d_])(?:step|schritt|paso|etapa|[ée]tape|шаг|hatua[ \t]+ya|ধাপ|దశ|ステップ|步骤|步驟)"
    rf"[ \t]*(?P<b>{_STEP_NUM})(?=[ \t]*(?:[:.)\]–—-]|\*\*|__|\n|$))"
    r"|(?:ขั้นตอนที่|ขั้นที่|ข้อที่)[ \t]*(?P<c>[0-9]{1,3})"
    r"|第[ \t]*(?P<d>[0-9]{1,3}|[一二三四五六七八九十]{1,3})[ \t]*(?=步|歩|部分|段|题|題|问|問|ステップ)",
    re.IGNORECASE,
)
# "1. ..." / "2) ..." list enumerators (blanked only when the text has a list: >= 2 of them).
_ENUM_RE: Final = re.compile(
    r"(?:^|(?<=\n))[ \t>]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?(?P<n>[0-9]{1,2}[.)])(?:\*\*|__)?(?=[ \t]+\S)"
)
# Money suffixes: East African "15,000/=", Indian "Rs. 500/-" (the slash is no fraction).
_MONEY_SUFFIX_RE: Final = re.compile(r"(?<=[0-9])/[=-](?![0-9])")


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _blank_groups(match: re.Match[str]) -> str:
    """Blank only the number group of a structure match, keep the rest."""
    text, offset = match.group(0), match.start()
    for group in match.re.groupindex.values():
        if match.group(group) is not None:
            start, end = match.span(group)
            return text[: start - offset] + " " * (end - start) + text[end - offset :]
    return text


def normalize(text: str) -> str:
    """Same-length normalisation: ASCII digits and punctuation, structure and noise blanked."""
    norm = text.translate(CHAR_MAP)
    norm = _CALC_RE.sub(_blank, norm)
    norm = _HEADER_RE.sub(_blank, norm)
    norm = _MONEY_SUFFIX_RE.sub(_blank, norm)
    norm = _STEP_RE.sub(_blank_groups, norm)
    enums = list(_ENUM_RE.finditer(norm))
    if len(enums) >= 2:
        chars = list(norm)
        for m in enums:
            chars[m.start("n") : m.end("n")] = " " * (m.end("n") - m.start("n"))
        norm = "".join(chars)
    return norm


# --------------------------------------------------------------------------------------------
# Language conventions
# --------------------------------------------------------------------------------------------

_COMMA_DECIMAL_LANGS: Final = frozenset(
    (
        "de", "es", "fr", "ru", "it", "pt", "nl", "pl", "cs", "sk", "sl", "hr", "bs", "sr",
        "bg", "uk", "be", "ro", "hu", "fi", "sv", "da", "nb", "nn", "is", "et", "lv", "lt",
        "tr", "az", "kk", "ky", "uz", "tg", "tt", "ba", "id", "vi", "el", "ca", "gl", "eu",
        "sq", "mk", "ka", "hy", "af", "lb", "fo", "oc", "mn",
    )
)  # fmt: skip
# Languages whose standard thousands separator is a (plain) space.
_SPACE_GROUP_LANGS: Final = frozenset(
    (
        "fr", "ru", "de", "es", "it", "pt", "uk", "be", "bg", "pl", "cs", "sk", "sv", "fi",
        "nb", "nn", "et", "lv", "lt", "hu", "kk", "ky", "uz", "tg", "tt", "ba", "sr", "mk",
        "hy", "ka", "af",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Style:
    """How a language writes numbers (and which language's hedge words apply)."""

    decimal: str  # "." or ","
    space_groups: bool
    lang: str = "en"


def style_for(lang: str | None) -> Style:
    """Conventions of `lang` (None = English); raises UnknownLanguageError for unknown codes."""
    code = "en" if lang is None else normalize_lang(lang)
    return Style(
        decimal="," if code in _COMMA_DECIMAL_LANGS else ".",
        space_groups=code in _SPACE_GROUP_LANGS,
        lang=code,
    )
