"""Final-answer extraction and PASMR's answer-consistency reward. Pure functions, no I/O.

PASMR rewards a target-language rollout A_T against the model's own English answer A_en:
1.0 when the final answers are equal, 0.1 when both have one but they differ, 0.0 when the
rollout has a format error. Everything here is deterministic and thread-safe (no global
mutable state, no signals), so it can run inside a thread pool.

Extraction order: the explicit answer that appears LAST in the text wins, whichever kind it is:
``\\boxed{..}``, GSM8K ``#### N`` or an answer phrase (all 11 MGSM phrases and natural variants
are searched in every language, because models code-switch). Without one, the last number is
used (``fallback=True``) unless the text looks truncated, refuses, hedges or loops.

Number conventions (documented decisions):

* Digits of every script (Bengali, Thai, Telugu, Devanagari, Arabic-Indic, full-width, ...) are
  mapped to ASCII; full-width punctuation and the Unicode minus are mapped to ASCII too.
* Decimal separator BY LANGUAGE: comma for de/es/fr/ru (and most other European languages,
  Turkish, Indonesian, Vietnamese), dot for en/bn/te/th/ja/zh/sw and the rest. An ambiguous
  ``1.250`` / ``1,250`` (one separator followed by exactly three digits) is read with the
  language's convention (de 1.250 = 1250, en 1.250 = 1.25, de 1,250 = 1.25, en 1,250 = 1250)
  UNLESS the same text unambiguously uses the other convention elsewhere and never its own
  (e.g. a German answer writing ``0.86 × 1,450``): the writer's own convention wins.
* Thousands: ``1,250,000`` / ``1.250.000``, Indian ``1,25,000``, apostrophe ``1'250`` and
  NBSP / narrow NBSP / thin space everywhere; a plain ASCII space only in languages whose norms
  allow space grouping (fr, ru, de, es, it, pt, Slavic/Nordic/Baltic languages), and only
  before exactly three digits ("3 360"), so "5 12" stays two numbers.
* Percentages keep the number: ``50%`` -> ``"50"`` (MGSM gold answers never carry the unit, and
  20% vs 0.2 is treated as a different answer).
* Fractions are exact: ``3/4`` -> ``"0.75"``, mixed ``1 3/4`` / ``1¾`` / ``1\\frac{3}{4}`` ->
  ``"1.75"``; a fraction without a finite decimal expansion is kept as ``"p/q"`` in lowest terms
  (``1/3`` -> ``"1/3"``) rather than an arbitrary rounding. :func:`answers_equal` accepts such a
  fraction as equal to a decimal with at least two decimals within one unit of its last place
  (1/3 == 0.33 == 0.333, 2/3 == 0.67 == 0.66), but never to an integer (8/3 != 3).
* ``18``, ``18.0`` and ``18.00`` are the same canonical value ``"18"``; ``-0`` is ``"0"``.
* Currency symbols/words and units around a number are ignored; ``万``/``亿``, lakh/crore and
  million/billion multipliers right after a number are applied.
* After an answer phrase, ``N op N = R`` takes R; an expression without ``=`` is evaluated
  (``135 + 50`` -> 185) except ranges (``2-3``, ``2~3``) and alternatives (``2 or 3``), which
  are format errors (``ambiguous_answer``), as are hedges in the final sentence of a fallback.

math-verify is deliberately not used: its timeout relies on signals (broken in worker threads),
its sympy import costs ~0.4 s and each parse 10-60 ms. A small exact Fraction evaluator over
``\\boxed{}`` contents covers what grade-school answers need (\\frac, \\dfrac, mixed numbers,
+ - × ÷ ^, \\text units) with bounded input size and deterministic results.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from types import MappingProxyType
from typing import Final, Literal

from service.scoring.languages import normalize_lang

__all__ = [
    "DEFAULT_REWARDS",
    "AnswerMethod",
    "ConsistencyResult",
    "ConsistencyRewards",
    "ConsistencyStatus",
    "ExtractedAnswer",
    "answers_equal",
    "canonical_number",
    "extract_final_answer",
    "score_consistency",
]

AnswerMethod = Literal["boxed", "hash", "phrase", "last_number", "none"]
ConsistencyStatus = Literal["match", "mismatch", "format_error", "no_pivot_answer"]

# Format-error reasons (stable strings, safe to use as metric labels).
EMPTY: Final = "empty"
REPETITION_LOOP: Final = "repetition_loop"
TRUNCATED: Final = "truncated"
REFUSAL: Final = "refusal"
AMBIGUOUS: Final = "ambiguous_answer"
NO_NUMBER: Final = "no_number"
NON_NUMERIC: Final = "non_numeric_answer"


@dataclass(frozen=True, slots=True)
class ExtractedAnswer:
    """The final answer found in a response (value is a canonical decimal string)."""

    value: str | None
    raw: str | None
    method: AnswerMethod
    fallback: bool = False
    format_error: str | None = None


@dataclass(frozen=True, slots=True)
class ConsistencyRewards:
    """Reward for each outcome of PASMR's F(A_T, A_en)."""

    match: float = 1.0
    mismatch: float = 0.1
    format_error: float = 0.0

    def __post_init__(self) -> None:
        for name in ("match", "mismatch", "format_error"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"reward {name} must be a finite number")


DEFAULT_REWARDS: Final = ConsistencyRewards()


@dataclass(frozen=True, slots=True)
class ConsistencyResult:
    """Outcome of comparing a target-language rollout with the pivot answer."""

    status: ConsistencyStatus
    reward: float | None
    target_answer: str | None
    pivot_answer: str | None
    target_fallback: bool
    pivot_fallback: bool
    detail: str


# --------------------------------------------------------------------------------------------
# Character normalisation (always 1 char -> 1 char, so offsets stay valid for `raw`)
# --------------------------------------------------------------------------------------------

_HS: Final = "\u00a0"  # every "hard" grouping space (NBSP, narrow NBSP, thin, figure) becomes NBSP

_PUNCT_MAP: Final[Mapping[str, str]] = MappingProxyType(
    {
        "，": ",", "．": ".", "＋": "+", "－": "-", "−": "-", "‒": "-", "–": "-", "﹣": "-",
        "＝": "=", "：": ":", "∶": ":", "／": "/", "⁄": "/", "∕": "/", "％": "%", "٪": "%",
        "＄": "$", "٫": ".", "٬": ",", "＊": "*", "（": "(", "）": ")", "’": "'", "＇": "'",
        "！": "!", "？": "?", "；": ";", "～": "~", "〜": "~", "✕": "×", "⋅": "·", "∙": "·",
        "\u2009": _HS, "\u202f": _HS, "\u2007": _HS, "\u3000": " ", "\u200b": " ",
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


_CHAR_MAP: Final = _build_char_map()

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


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _normalize(text: str) -> str:
    """Same-length normalisation: ASCII digits and punctuation, masked headers/annotations."""
    norm = text.translate(_CHAR_MAP)
    norm = _CALC_RE.sub(_blank, norm)
    return _HEADER_RE.sub(_blank, norm)


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
class _Style:
    decimal: str  # "." or ","
    space_groups: bool


def _style_for(lang: str | None) -> _Style:
    code = "en" if lang is None else normalize_lang(lang)
    return _Style(
        decimal="," if code in _COMMA_DECIMAL_LANGS else ".",
        space_groups=code in _SPACE_GROUP_LANGS,
    )


# --------------------------------------------------------------------------------------------
# Number scanning
# --------------------------------------------------------------------------------------------

_VULGAR: Final = "½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒"
_CURRENCY_CHARS: Final = "$€£¥₹৳฿₦₩₱₺₽₴₸元円"
_NUM_TEMPLATE: Final = r"""
    (?P<tex>\\[dt]?frac\s*\{\s*(?P<tn>[0-9]+(?:[.,][0-9]+)?)\s*\}\s*\{\s*(?P<td>[0-9]+(?:[.,][0-9]+)?)\s*\})
  | (?P<mixed>(?P<mi>[0-9]{1,4})[\x20\u00a0](?P<mn>[0-9]{1,3})/(?P<md>[0-9]{1,4})(?![0-9]|[.,][0-9]))
  | (?P<body>[0-9]+(?:SEP[0-9]+)*)
    (?:\x20?/\x20?(?P<den>[0-9]+)(?![0-9]|[.,][0-9]))?
    (?P<vulgar>[VULGAR])?
  | (?P<lone>[VULGAR])
  | (?<![0-9A-Za-z.,])\.(?P<lead>[0-9]+)
"""
# The ASCII space only groups thousands before exactly three digits, in space-grouping languages.
_NUM_RE_PLAIN: Final = re.compile(
    _NUM_TEMPLATE.replace("SEP", r"[.,'\u00a0]").replace("VULGAR", _VULGAR), re.VERBOSE
)
_NUM_RE_SPACE: Final = re.compile(
    _NUM_TEMPLATE.replace("SEP", r"(?:[.,'\u00a0]|\x20(?=[0-9]{3}(?![0-9])))").replace(
        "VULGAR", _VULGAR
    ),
    re.VERBOSE,
)
_PERCENT_RE: Final = re.compile(r"[\x20\u00a0]?%")
_MULTIPLIER_RE: Final = re.compile(
    r"(?P<wan>[\x20\u00a0]?[万萬])|(?P<yi>[\x20\u00a0]?[亿億])"
    r"|(?P<lakh>[\x20\u00a0]?(?:lakhs?|lacs?|লাখ|লক্ষ|లక్షలు|లక్ష|लाख)(?!\w))"
    r"|(?P<crore>[\x20\u00a0]?(?:crores?|কোটি|కోట్లు|కోటి|करोड़)(?!\w))"
    r"|(?P<million>[\x20\u00a0](?:millions?|millionen|millón|millones|млн\.?|миллион(?:а|ов)?)(?!\w))"
    r"|(?P<billion>[\x20\u00a0](?:billions?|milliarden?|milliards?|млрд\.?)(?!\w))",
    re.IGNORECASE,
)
_MULTIPLIERS: Final[Mapping[str, int]] = MappingProxyType(
    {"wan": 10**4, "yi": 10**8, "lakh": 10**5, "crore": 10**7, "million": 10**6, "billion": 10**9}
)
_MAX_DIGITS: Final = 40  # longer digit strings are not answers; keeps Fraction maths bounded
_DIGIT_RUN_RE: Final = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class _Num:
    start: int  # includes a minus sign
    end: int  # includes "%" or a multiplier word
    value: Fraction


def _group_ok(int_part: str, seps: str) -> bool:
    """Western (1-3 then 3s) or Indian (1-2, then 2s, then 3) digit grouping."""
    groups = int_part.translate({ord(c): " " for c in seps}).split(" ")
    if len(groups) < 2 or not all(g.isdigit() for g in groups) or groups[0].startswith("0"):
        return False
    if 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        return True
    return (
        len(groups) >= 3
        and 1 <= len(groups[0]) <= 2
        and all(len(g) == 2 for g in groups[1:-1])
        and len(groups[-1]) == 3
    )


def _digits(s: str) -> str:
    return "".join(c for c in s if "0" <= c <= "9")


def _read_body(body: str, decimal: str) -> Fraction | None:
    """Interpret digits with separators under the given decimal separator; None if malformed."""
    if body.isdigit():
        return Fraction(int(body))
    puncts = [c for c in body if c in ".,"]
    kinds = set(puncts)
    spaces = "'\u00a0 "
    if len(kinds) == 2:
        dec = next(c for c in reversed(body) if c in ".,")
        if puncts.count(dec) != 1:
            return None
        int_part, frac_part = body.rsplit(dec, 1)
        if not frac_part.isdigit() or not _group_ok(int_part, ".," + spaces):
            return None
        return Fraction(int(_digits(int_part)) * 10 ** len(frac_part) + int(frac_part),
                        10 ** len(frac_part))  # fmt: skip
    if len(kinds) == 1:
        sep = puncts[0]
        int_part, _, frac_part = body.rpartition(sep)
        single = len(puncts) == 1
        # one separator: decimal unless it is the language's grouping char before 3 digits
        is_decimal = single and (
            len(frac_part) != 3
            or sep == decimal
            or not _group_ok(int_part + sep + frac_part, sep + spaces)
        )
        if is_decimal:
            if not frac_part.isdigit():
                return None
            digits = _digits(int_part)
            if not digits or (digits != int_part and not _group_ok(int_part, spaces)):
                return None
            return Fraction(int(digits) * 10 ** len(frac_part) + int(frac_part),
                            10 ** len(frac_part))  # fmt: skip
        if not _group_ok(body, sep + spaces):
            return None
        return Fraction(int(_digits(body)))
    return Fraction(int(_digits(body))) if _group_ok(body, spaces) else None


def _is_ambiguous(body: str) -> bool:
    puncts = [c for c in body if c in ".,"]
    if len(puncts) != 1:
        return False
    int_part, _, frac_part = body.rpartition(puncts[0])
    return len(frac_part) == 3 and not int_part.startswith("0") and int_part.isdigit()


def _evidence(body: str) -> str | None:
    """Which decimal separator a token proves the writer uses ("." / ","), if any."""
    puncts = [c for c in body if c in ".,"]
    if not puncts or _is_ambiguous(body):
        return None
    if len(set(puncts)) == 2:
        return puncts[-1] if puncts.count(puncts[-1]) == 1 else None
    sep = puncts[0]
    if len(puncts) > 1:  # repeated separator = thousands grouping
        return "," if sep == "." else "."
    return sep


def _sign_before(norm: str, start: int) -> int | None:
    """Index of a minus sign that belongs to the number starting at `start`, if any."""
    i = start - 1
    if i >= 0 and norm[i] in _CURRENCY_CHARS:
        i -= 1
    if i < 0 or norm[i] != "-":
        return None
    j = i - 1
    if j < 0:
        return i
    prev = norm[j]
    if prev.isdigit() or prev in ")]}" or prev.isalpha():  # 5-3, (2)-1, COVID-19
        return None
    if prev in " \t\n\u00a0":
        k = j
        while k >= 0 and norm[k] in " \t\n\u00a0":
            k -= 1
        if k >= 0 and (norm[k].isdigit() or norm[k] in ")]}%"):  # 50 -20
            return None
    return i


def _decimal_for(norm: str, style: _Style, num_re: re.Pattern[str]) -> str:
    """The text's own decimal convention when it is unanimous, else the language's."""
    seen = {ev for m in num_re.finditer(norm) if m.group("body") and (ev := _evidence(m["body"]))}
    return seen.pop() if len(seen) == 1 else style.decimal


def _scan(norm: str, style: _Style) -> list[_Num]:
    """All numbers in normalised text, in order, interpreted with the style's conventions."""
    num_re = _NUM_RE_SPACE if style.space_groups else _NUM_RE_PLAIN
    decimal = _decimal_for(norm, style, num_re)
    out: list[_Num] = []
    pos = 0
    while True:
        m = num_re.search(norm, pos)
        if m is None:
            return out
        start, end = m.start(), m.end()
        value: Fraction | None = None
        if m.group("tex"):
            num = _read_body(m["tn"], decimal)
            den = _read_body(m["td"], decimal)
            value = num / den if num is not None and den else None
        elif m.group("mixed"):
            mn, md = int(m["mn"]), int(m["md"])
            if 0 < mn < md:
                value = int(m["mi"]) + Fraction(mn, md)
            else:  # "5 6/3" is two numbers; rescan from the integer alone
                end = m.start("mn") - 1
                value = Fraction(int(m["mi"]))
        elif m.group("body"):
            body = m["body"]
            if len(body) > _MAX_DIGITS:
                pos = end
                continue
            value = _read_body(body, decimal)
            if value is None:  # malformed grouping ("1,5,7"): keep the leading digit run
                run = _DIGIT_RUN_RE.match(body)
                assert run is not None
                end = start + run.end()
                value = Fraction(int(run.group(0)))
            else:
                if m.group("den") and body.isdigit() and int(m["den"]) != 0:
                    value = value / int(m["den"])
                else:
                    end = m.end("body")
                if m.group("vulgar") and not m.group("den"):
                    value += Fraction(unicodedata.numeric(m["vulgar"])).limit_denominator(100)
                    end = m.end("vulgar")
        elif m.group("lone"):
            value = Fraction(unicodedata.numeric(m["lone"])).limit_denominator(100)
        elif m.group("lead"):
            value = Fraction(int(m["lead"]), 10 ** len(m["lead"]))
        if value is None:
            pos = end
            continue
        sign = _sign_before(norm, start)
        if sign is not None:
            value, start = -value, sign
        if (pm := _PERCENT_RE.match(norm, end)) is not None:
            end = pm.end()  # 50% is read as 50 (see module docstring)
        elif (mm := _MULTIPLIER_RE.match(norm, end)) is not None:
            value *= _MULTIPLIERS[str(mm.lastgroup)]
            end = mm.end()
        out.append(_Num(start, end, value))
        pos = max(end, start + 1)


# --------------------------------------------------------------------------------------------
# Number words (only read right after an answer phrase)
# --------------------------------------------------------------------------------------------

_CJK_DIGITS: Final[Mapping[str, int]] = MappingProxyType(
    {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
     "七": 7, "八": 8, "九": 9}
)  # fmt: skip
_CJK_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
)
_CJK_BIG: Final[Mapping[str, int]] = MappingProxyType(
    {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
)
_CJK_CHARS: Final = "零〇一二两兩三四五六七八九十拾百佰千仟万萬亿億"
_CJK_NUM_RE: Final = re.compile(
    rf"(?P<neg>[负負])?(?:(?P<den>[{_CJK_CHARS}]+)分之(?P<num>[{_CJK_CHARS}]+)"
    rf"|(?P<int>[{_CJK_CHARS}]+)(?:[点點](?P<dec>[零〇一二三四五六七八九]+))?)"
)


def _cjk_int(s: str) -> int | None:
    if all(ch in _CJK_DIGITS for ch in s):  # positional: 二〇二四
        return int("".join(str(_CJK_DIGITS[ch]) for ch in s))
    total = section = 0
    digit: int | None = None
    for ch in s:
        if ch in "零〇":  # placeholder inside a unit numeral: 一百零五
            continue
        if ch in _CJK_DIGITS:
            if digit is not None:
                return None
            digit = _CJK_DIGITS[ch]
        elif ch in _CJK_UNITS:
            section += (1 if digit is None else digit) * _CJK_UNITS[ch]
            digit = None
        else:
            total += (section + (digit or 0)) * _CJK_BIG[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def _cjk_number(m: re.Match[str]) -> Fraction | None:
    if m.group("den"):
        den, num = _cjk_int(m["den"]), _cjk_int(m["num"])
        value = Fraction(num, den) if den and num is not None else None
    else:
        whole = _cjk_int(m["int"])
        if whole is None:
            return None
        value = Fraction(whole)
        if m.group("dec"):
            digits = "".join(str(_CJK_DIGITS[ch]) for ch in m["dec"])
            value += Fraction(int(digits), 10 ** len(digits))
    return -value if value is not None and m.group("neg") else value


_EN_UNITS: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_EN_TENS: Final = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SMALL: Final[Mapping[str, int]] = MappingProxyType(
    {w: i for i, w in enumerate(_EN_UNITS)} | {w: 10 * i for i, w in enumerate(_EN_TENS, start=2)}
)
_EN_SCALES: Final[Mapping[str, int]] = MappingProxyType(
    {"hundred": 100, "thousand": 1000, "million": 10**6}
)
_EN_WORDS_RE: Final = re.compile(
    r"(?:(?:" + "|".join(sorted([*_EN_SMALL, *_EN_SCALES, "and", "a"], key=len, reverse=True))
    + r")\b[\s-]*)+",
    re.IGNORECASE,
)  # fmt: skip


_EN_SPLIT_RE: Final = re.compile(r"[\s-]+")


def _en_words(phrase: str) -> Fraction | None:
    total = current = 0
    seen = False
    for word in _EN_SPLIT_RE.split(phrase.lower().strip()):
        if word in _EN_SMALL:
            current += _EN_SMALL[word]
            seen = True
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _EN_SCALES:
            total += max(current, 1) * _EN_SCALES[word]
            current = 0
        elif word == "a":
            current = max(current, 0)
    return Fraction(total + current) if seen else None


# --------------------------------------------------------------------------------------------
# Answer markers
# --------------------------------------------------------------------------------------------

_BOLD: Final = r"(?:\s*\*\*)?"
# Each pattern may capture a connector ("is", ":", "lautet", ...). Phrases that need none in
# MGSM (te "సమాధానం 11.", th "คำตอบ 11") accept a bare number right after them.
_PHRASE_RES: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"(?<!\w)(?:final\s+)?answer{_BOLD}\s*(?P<conn>is\b|was\b|would\s+be\b|will\s+be\b"
        rf"|should\s+be\b|equals\b|[:=—])",
        rf"(?<!\w)(?:end|final|richtige\s+)?antwort{_BOLD}\s*(?P<conn>lautet\b|ist\b|heißt\b"
        rf"|wäre\b|[:=—])",
        rf"(?<!\w)respuesta(?:\s+final|\s+correcta)?{_BOLD}\s*(?P<conn>es\b|ser[ií]a\b|[:=—])",
        rf"(?<!\w)r[ée]ponse(?:\s+finale)?{_BOLD}\s*(?P<conn>est\b|serait\b|[:=—])",
        rf"(?<!\w)ответ{_BOLD}\s*(?P<conn>[:=—]|-(?=\s)|будет\b|равен\b|составляет\b)",
        rf"(?<!\w)jibu(?:\s+la\s+mwisho)?{_BOLD}\s*(?P<conn>ni\b|[:=—])",
        rf"উত্তর{_BOLD}\s*(?P<conn>হল|হলো|হবে|হচ্ছে|[:=—ঃ])",
        rf"సమాధానం{_BOLD}\s*(?P<conn>[:=—]|అనేది)?",
        rf"คำตอบ(?:สุดท้าย)?{_BOLD}\s*(?P<conn>คือ|ได้แก่|เท่ากับ|[:=])?",
        rf"(?:最終的な)?答え{_BOLD}\s*(?P<conn>は|[:=])",
        rf"(?:最终|最終)?答案{_BOLD}\s*(?P<conn>是|为|為|应为|應為|[:=])",
        rf"(?<![解回])答{_BOLD}\s*(?P<conn>[:=])",
        # a few widely used non-MGSM languages (the phrase must be followed by a connector)
        r"(?<!\w)resposta(?:\s+final)?\s*(?P<conn>é\b|[:=])",
        r"(?<!\w)risposta(?:\s+finale)?\s*(?P<conn>è\b|[:=])",
        r"(?<!\w)(?:antwoord|svar|vastaus|odpowied[źz]|odpověď|cevap|válasz)\s*(?P<conn>is\b|er\b"
        r"|är\b|on\b|to\b|je\b|[:=])",
        r"(?<!\w)(?:jawaban(?:nya)?|jawapan(?:nya)?)\s*(?P<conn>adalah\b|ialah\b|[:=])",
        r"(?<!\w)đáp\s+án\s*(?P<conn>là\b|[:=])",
        r"उत्तर\s*(?P<conn>है|:|=)",
        r"(?:الإجابة|الجواب)\s*(?P<conn>هي|هو|:|=)",
        r"(?:정답|답)(?:은|는)?\s*(?P<conn>:|=|은|는)",
        r"(?<!#)####(?!#)(?P<conn>)",
    )
)
_HASH_PATTERN: Final = _PHRASE_RES[-1]
_BOXED_RE: Final = re.compile(r"\\(?:boxed|fbox)\s*\{")
_GAP_MAX: Final = 40
_GAP_NOISE_RE: Final = re.compile(r"[\s*_`$:\\()\[\]{}]*")
_LETTER_RE: Final = re.compile(r"[^\W\d_]")
# `=` links take the result ("Answer: 50 - 20 = 30"); other operators continue the expression.
_CHAIN_LINK_RE: Final = re.compile(
    rf"[\s\u00a0]*(?:[^\W\d_]{{1,12}}\.?[\s\u00a0]*)?(?:[{_CURRENCY_CHARS}][\s\u00a0]*)?"
    r"(?P<op>[=≈+×x*/÷·~-]|\\times|\\cdot|\\div)[\s\u00a0]*"
    rf"(?:[{_CURRENCY_CHARS}]|US\$|Rs\.?|TSh)?[\s\u00a0]*"
)
_HEDGE_WORD: Final = (
    r"(?:(?<!\w)(?:or|either|otherwise|oder|sonst|andernfalls|ou|soit|sinon|o|u|bien"
    r"|или|либо|иначе|au|ama|vinginevyo|অথবা|বা|নাহলে|లేదా)(?!\w)"
    r"|或者|或|还是|還是|否则|否則|または|もしくは|หรือ|มิฉะนั้น)"
)
_HEDGE_RE: Final = re.compile(_HEDGE_WORD, re.IGNORECASE)
_HEDGE_LINK_RE: Final = re.compile(
    rf"[\s\u00a0,]*(?:[^\W\d_]{{1,15}}[\s\u00a0,]*)?{_HEDGE_WORD}[\s\u00a0]*"
    rf"(?:[^\W\d_]{{1,15}}[\s\u00a0]*)?(?:[{_CURRENCY_CHARS}][\s\u00a0]*)?",
    re.IGNORECASE,
)
# "I cannot answer" markers: a refusal wherever they follow the last number's sentence start.
_INABILITY_RE: Final = re.compile(
    r"(?<!\w)(?:i\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|'m\s+unable\s+to)(?:\s+\w+)?\s+"
    r"(?:answer|determine|solve|decide|tell|help|say|know|calculate|compute|find)"
    r"|unable\s+to\s+(?:answer|determine|solve)|cannot\s+be\s+determined"
    r"|can't\s+be\s+determined|not\s+enough\s+information|insufficient\s+information"
    r"|je\s+ne\s+(?:peux|sais)\s+pas|impossible\s+de\s+(?:r[ée]pondre|d[ée]terminer|trancher)"
    r"|ich\s+kann\s+(?:\w+\s+){0,3}nicht\s+(?:beantworten|bestimmen|l[öo]sen|sagen|entscheiden)"
    r"|nicht\s+eindeutig|no\s+puedo|no\s+es\s+posible\s+(?:responder|determinar|saber)"
    r"|не\s+могу|невозможно\s+(?:ответить|определить)|siwezi|haiwezekani"
    r"|পারছি\s+না|পারব\s+না|সম্ভব\s+নয়|సాధ్యం\s+కాదు|చెప్పలేను|ఇవ్వలేను)"
    r"|无法|無法|不能确定|不確定|不确定|できません|わかりません|分かりません|ไม่สามารถ",
    re.IGNORECASE,
)
# Apologies alone are not refusals ("Sorry, I made a mistake: 5 + 7 = 12."), unless the
# response has no number at all.
_APOLOGY_RE: Final = re.compile(
    r"(?<!\w)(?:sorry|d[ée]sol[ée]e?|leider|lo\s+siento|извините|samahani|দুঃখিত)"
    r"|క్షమించండి|抱歉|对不起|對不起|申し訳|ขออภัย|ขอโทษ",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------------------------
# Degenerate rollouts
# --------------------------------------------------------------------------------------------

_LOOP_WINDOW: Final = 4000
_LOOP_MAX_PERIOD: Final = 400
_LOOP_MIN_REPEATS: Final = 4
_LOOP_MIN_CHARS: Final = 40
_WS_RE: Final = re.compile(r"\s+")


def _has_repetition_loop(norm: str) -> bool:
    """True when the text ends in >= 4 verbatim repeats (>= 40 chars) of some unit.

    Checked on the tail, character by character, so it works without word boundaries (Thai,
    CJK) and for loops cut off mid-unit by the token limit.
    """
    s = _WS_RE.sub(" ", norm[-_LOOP_WINDOW:]).rstrip()
    n = len(s)
    for period in range(1, min(_LOOP_MAX_PERIOD, n // _LOOP_MIN_REPEATS) + 1):
        run = 0
        while run < n - period and s[n - 1 - run] == s[n - 1 - run - period]:
            run += 1
        covered = run + period
        if covered >= _LOOP_MIN_REPEATS * period and covered >= _LOOP_MIN_CHARS:
            return True
    return False


_TERMINAL_CHARS: Final = ".!?。।॥…"
_TRAILING_CLOSERS: Final = "*_`\"'”’»)]}>$\\ \t\n\u00a0"  # incl. "\\]" ending display math
_DANGLING_CHARS: Final = "=+-×*/÷:,;(&·≈<、"
_DANGLING_WORD_RE: Final = re.compile(
    r"(?:(?<!\w)(?:and|or|the|a|an|of|to|by|is|are|was|with|for|in|on|at|then|so|plus|minus"
    r"|times|und|oder|der|die|das|ist|mit|von|zu|y|o|el|la|los|las|de|del|es|con|por|para|et"
    r"|ou|le|les|des|du|est|avec|pour|par|и|или|в|на|с|по|это|na|ya|kwa|ni|za|wa)"
    r"|[はがをにでともへやの]|[的和与與是把被在从從对對给給]"
    r"|และ|กับ|ของ|ที่|คือ|เป็น|หรือ|แล้ว|จึง|ดังนั้น|โดย|เพื่อ|ซึ่ง|จาก)$",
    re.IGNORECASE,
)
_SENTENCE_END_RE: Final = re.compile(r"[!?。।॥…\n]|\.(?=[\s\"'”’*)\]]|$)")
_UNIT_TAIL_MAX_CHARS: Final = 12
_CJK_TAIL_MAX_CHARS: Final = 5  # a counter/unit plus copula: "個です", "元"
_CJK_RE: Final = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _last_sentence_start(norm: str, before: int) -> int:
    start = 0
    for m in _SENTENCE_END_RE.finditer(norm, 0, before):
        start = m.end()
    return start


def _looks_truncated(norm: str, last: _Num | None) -> bool:
    """Heuristic for a rollout cut off mid-sentence (only used when no explicit answer)."""
    core = norm.rstrip(_TRAILING_CLOSERS)
    if not core:
        return True
    if core[-1] in _DANGLING_CHARS or core.endswith(("\\times", "\\cdot", "\\div")):
        return True
    if core[-1] in _TERMINAL_CHARS:
        return False
    # unterminated: fine only if the final fragment ends with a number and maybe a short unit
    fragment_start = _last_sentence_start(core, len(core))
    if last is None or last.end <= fragment_start:
        return True
    tail = core[last.end :].strip()
    if len(tail.split()) > 2 or len(tail) > _UNIT_TAIL_MAX_CHARS:
        return True
    if any(c in tail for c in ",;:、"):  # a new clause started after the number
        return True
    if _CJK_RE.search(tail) and len(tail) > _CJK_TAIL_MAX_CHARS:
        return True
    return bool(tail) and _DANGLING_WORD_RE.search(tail) is not None


# --------------------------------------------------------------------------------------------
# Fractions <-> canonical strings
# --------------------------------------------------------------------------------------------


def _terminates(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def _format(value: Fraction) -> str:
    """Canonical string: plain decimal without trailing zeros, or "p/q" if it never ends."""
    if value == 0:
        return "0"
    if not _terminates(value):
        return f"{value.numerator}/{value.denominator}"
    with localcontext() as ctx:
        ctx.prec = len(str(abs(value.numerator))) + len(str(value.denominator)) + 8
        dec = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    return format(dec, "f")


_CANONICAL_RE: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|[0-9]+/[0-9]+)")


def _parse_canonical(text: str) -> Fraction | None:
    """Fast path for strings this module produced ("1250.5", "-3", "1/3")."""
    if _CANONICAL_RE.fullmatch(text) is None:
        return None
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value


# --------------------------------------------------------------------------------------------
# Expressions (\boxed contents, standalone answers)
# --------------------------------------------------------------------------------------------

_EXPR_MAX_CHARS: Final = 200
_TEX_WRAPPER_RE: Final = re.compile(
    r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}"
)
_TEX_SPACE_IN_NUMBER_RE: Final = re.compile(r"(?<=[0-9])(?:\\[,;:! ]|~)(?=[0-9]{3})")
_TEX_REPLACEMENTS: Final[tuple[tuple[str, str], ...]] = (
    ("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("{,}", ","), ("{.}", "."),
    ("\\left", ""), ("\\right", ""), ("\\%", "%"), ("\\$", "$"), ("^\\circ", ""),
    ("^{\\circ}", ""), ("\\circ", ""), ("\\times", "×"), ("\\cdot", "·"), ("\\div", "÷"),
    ("\\,", " "), ("\\;", " "), ("\\:", " "), ("\\!", ""), ("\\ ", " "), ("~", " "),
    ("\\(", " "), ("\\)", " "), ("\\[", " "), ("\\]", " "),
)  # fmt: skip
_TEX_COMMAND_RE: Final = re.compile(r"\\(?!frac)[A-Za-z]+")
_OPS: Final = "+-×*/÷·^()"


def _clean_latex(content: str) -> str:
    text = _TEX_SPACE_IN_NUMBER_RE.sub(_HS, content)
    for _ in range(3):  # nested \text{\textbf{..}}
        text = _TEX_WRAPPER_RE.sub(r" \1 ", text)
    for old, new in _TEX_REPLACEMENTS:
        text = text.replace(old, new)
    return text


def _evaluate(text: str, style: _Style) -> Fraction | None:
    """Exact value of a small arithmetic expression; None if it is not one.

    Letters (units, currency words) are ignored; any LaTeX command other than \\frac makes the
    expression unreadable (\\sqrt{2} must not become 2).
    """
    if len(text) > _EXPR_MAX_CHARS or _TEX_COMMAND_RE.search(text):
        return None
    nums = _scan(text, style)
    items: list[Fraction | str] = []
    pos = 0
    for num in [*nums, None]:
        stop = len(text) if num is None else num.start
        for k in range(pos, stop):
            ch = text[k]
            if ch in _OPS:
                items.append("×" if ch in "*·" else "÷" if ch == "/" else ch)
            elif (
                # a lone "x" between numbers is a times sign; inside a word ("boxes") it is not
                ch == "x"
                and _LETTER_RE.match(text[k - 1 : k] or " ") is None
                and _LETTER_RE.match(text[k + 1 : k + 2] or " ") is None
            ):
                items.append("×")
        if num is not None:
            if items and isinstance(items[-1], Fraction):
                # adjacency: mixed number "2 \frac{1}{2}", otherwise two separate numbers
                whole, part = items[-1], num.value
                if whole.denominator != 1 or not 0 < part < 1:
                    return None
                items[-1] = whole + part if whole >= 0 else whole - part
            else:
                items.append(num.value)
            pos = num.end
    return _Expr(items).parse() if items else None


class _Expr:
    """Recursive-descent evaluator over numbers and + - × ÷ ^ ( )."""

    def __init__(self, items: Sequence[Fraction | str]) -> None:
        self.items = items
        self.i = 0

    def parse(self) -> Fraction | None:
        try:
            value = self._sum()
        except (ValueError, ZeroDivisionError, OverflowError):
            return None
        return value if self.i == len(self.items) else None

    def _peek(self) -> Fraction | str | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def _take(self) -> Fraction | str:
        item = self._peek()
        if item is None:
            raise ValueError("unexpected end")
        self.i += 1
        return item

    def _sum(self) -> Fraction:
        value = self._product()
        while self._peek() in ("+", "-"):
            op = self._take()
            rhs = self._product()
            value = value + rhs if op == "+" else value - rhs
        return value

    def _product(self) -> Fraction:
        value = self._unary()
        while self._peek() in ("×", "÷"):
            op = self._take()
            rhs = self._unary()
            value = value * rhs if op == "×" else value / rhs
        return value

    def _unary(self) -> Fraction:
        if self._peek() in ("-", "+"):
            op = self._take()
            value = self._unary()
            return -value if op == "-" else value
        return self._power()

    def _power(self) -> Fraction:
        base = self._atom()
        if self._peek() == "^":
            self._take()
            exponent = self._unary()
            if exponent.denominator != 1 or abs(exponent) > 12:
                raise ValueError("unsupported exponent")
            return base ** int(exponent)
        return base

    def _atom(self) -> Fraction:
        item = self._take()
        if isinstance(item, Fraction):
            return item
        if item == "(":
            value = self._sum()
            if self._take() != ")":
                raise ValueError("unbalanced")
            return value
        raise ValueError(f"unexpected {item!r}")


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    position: int
    value: Fraction | None
    raw: str
    method: AnswerMethod
    error: str | None = None


def _balanced(norm: str, open_brace: int) -> int | None:
    """Index of the brace closing the one at `open_brace`."""
    depth = 0
    for i in range(open_brace, min(len(norm), open_brace + 2 * _EXPR_MAX_CHARS)):
        if norm[i] == "{":
            depth += 1
        elif norm[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _boxed_candidate(text: str, norm: str, style: _Style) -> _Candidate | None:
    """The LAST \\boxed{} only: an earlier box is a superseded answer, not a fallback."""
    boxes = list(_BOXED_RE.finditer(norm))
    if not boxes:
        return None
    last = boxes[-1]
    close = _balanced(norm, last.end() - 1)
    if close is None:  # unclosed box: a rollout cut off inside the answer
        return _Candidate(last.start(), None, text[last.end() :].strip(), "boxed", TRUNCATED)
    raw = text[last.end() : close].strip()
    content = _clean_latex(norm[last.end() : close])
    if "=" in content:
        content = content.rsplit("=", 1)[1]
    value = _evaluate(content, style)
    if value is None:
        return _Candidate(last.start(), None, raw, "boxed", NON_NUMERIC)
    return _Candidate(last.start(), value, raw, "boxed")


def _follow_chain(
    norm: str, nums: Sequence[_Num], first: int
) -> tuple[Fraction, int, int, str | None]:
    """Value and span of the answer starting at nums[first], or the reason it is unusable.

    "N op N = R" gives R; an expression without "=" is evaluated ("135 + 50"); a bare range
    ("2-3", "2 – 3", "2~3") or an alternative ("2 or 3") is ambiguous.
    """
    items: list[Fraction | str] = [nums[first].value]
    result = last = first
    ranged = False
    while last + 1 < len(nums):
        link = _CHAIN_LINK_RE.fullmatch(norm, nums[last].end, nums[last + 1].start)
        if link is None:
            break
        op = link.group("op")
        last += 1
        if op in ("=", "≈"):  # only what follows the last "=" is the answer
            result, items, ranged = last, [nums[last].value], False
            continue
        ranged = ranged or op in ("~", "-")  # "2-3", "2 – 3", "2~3" read as ranges
        items += ["×" if op in ("x", "*", "·", "\\times", "\\cdot") else
                  "÷" if op in ("/", "\\div") else op, nums[last].value]  # fmt: skip
    start, end = nums[result].start, nums[last].end
    value: Fraction | None = nums[result].value
    if len(items) > 1:
        value = None if ranged else _Expr(items).parse()
        if value is None:
            return nums[result].value, start, end, AMBIGUOUS
    else:
        end = nums[result].end
    assert value is not None
    if last + 1 < len(nums):
        nxt = nums[last + 1]
        if _HEDGE_LINK_RE.fullmatch(norm, nums[last].end, nxt.start) and nxt.value != value:
            return value, start, end, AMBIGUOUS
    rest = norm[nums[last].end :].strip(_TRAILING_CLOSERS)
    if rest and len(rest) <= 2 and rest[-1] in _DANGLING_CHARS:  # "The answer is 30 ×"
        return value, start, end, TRUNCATED
    return value, start, end, None


def _phrase_candidate(text: str, norm: str, nums: Sequence[_Num]) -> _Candidate | None:
    matches = sorted(
        (m for pattern in _PHRASE_RES for m in pattern.finditer(norm)),
        key=lambda m: m.start(),
        reverse=True,
    )
    starts = [n.start for n in nums]
    for m in matches:
        method: AnswerMethod = "hash" if m.re is _HASH_PATTERN else "phrase"
        after = m.end()
        idx = bisect.bisect_left(starts, after)
        if idx < len(nums):
            gap = norm[after : nums[idx].start]
            if _gap_ok(gap, has_connector=bool(m.group("conn")) or method == "hash"):
                val, start, end, error = _follow_chain(norm, nums, idx)
                return _Candidate(m.start(), val, text[start:end], method, error)
        word_start = _GAP_NOISE_RE.match(norm, after)
        ws = after if word_start is None else word_start.end()
        if (cjk := _CJK_NUM_RE.match(norm, ws)) is not None and (v := _cjk_number(cjk)) is not None:
            return _Candidate(m.start(), v, text[cjk.start() : cjk.end()], method)
        en = _EN_WORDS_RE.match(norm, ws)
        if en is not None and (v := _en_words(en.group(0))) is not None:
            return _Candidate(m.start(), v, text[en.start() : en.end()].strip(), method)
    return None


def _gap_ok(gap: str, *, has_connector: bool) -> bool:
    """Text between an answer phrase and its number: short, same clause."""
    if len(gap) > _GAP_MAX or "\n\n" in gap.strip() or _SENTENCE_END_RE.search(gap.strip()):
        return False
    if _LETTER_RE.search(gap) is None:
        return True
    # words between phrase and number ("Jibu: mita 0.75") need a connector and one clause
    return has_connector and not any(c in gap for c in ",;、")


def _is_result(norm: str, num: _Num) -> bool:
    """True when the number is the right-hand side of an "=" (a computed result)."""
    before = norm[max(0, num.start - 8) : num.start].rstrip(" \u00a0" + _CURRENCY_CHARS)
    return before.endswith(("=", "≈"))


def _fallback(text: str, norm: str, nums: Sequence[_Num]) -> ExtractedAnswer:
    """Last number, unless the rollout is truncated, refuses or hedges."""
    if not nums:
        if _INABILITY_RE.search(norm) or _APOLOGY_RE.search(norm):
            return ExtractedAnswer(None, None, "none", False, REFUSAL)
        reason = TRUNCATED if _looks_truncated(norm, None) else NO_NUMBER
        return ExtractedAnswer(None, None, "none", False, reason)
    last = nums[-1]
    if _looks_truncated(norm, last):
        return ExtractedAnswer(None, None, "none", False, TRUNCATED)
    sentence = _last_sentence_start(norm, last.start)
    # "I cannot tell with 3 unknowns." refuses; "... = 12. I can't check it further" does not
    # retract a computed result, so only the text after a result is searched then
    refusal_from = last.end if _is_result(norm, last) else sentence
    if _INABILITY_RE.search(norm, refusal_from):
        return ExtractedAnswer(None, None, "none", False, REFUSAL)
    in_sentence = [n for n in nums if n.start >= sentence]
    if len(in_sentence) >= 2:
        prev = in_sentence[-2]
        if prev.value != last.value and _HEDGE_RE.search(norm, prev.end, last.start):
            return ExtractedAnswer(None, None, "none", False, AMBIGUOUS)
        # a closing parenthetical restates inputs: "= 53 eggs (5 dozen minus 7)."
        paren = norm.rfind("(", sentence, last.start)
        if paren != -1 and ")" not in norm[paren : last.start] and ")" in norm[last.end :]:
            before = [n for n in in_sentence if n.end <= paren]
            if before:
                last = before[-1]
    return ExtractedAnswer(_format(last.value), text[last.start : last.end], "last_number", True)


def extract_final_answer(text: str, lang: str | None = None) -> ExtractedAnswer:
    """Find the final numeric answer of a response written in `lang` (None = English rules).

    Raises UnknownLanguageError for an unknown language code.
    """
    style = _style_for(lang)
    if not text or not text.strip():
        return ExtractedAnswer(None, None, "none", False, EMPTY)
    norm = _normalize(text)
    if _has_repetition_loop(norm):
        return ExtractedAnswer(None, None, "none", False, REPETITION_LOOP)
    nums = _scan(norm, style)
    candidates = [
        c
        for c in (_boxed_candidate(text, norm, style), _phrase_candidate(text, norm, nums))
        if c is not None
    ]
    if candidates:
        best = max(candidates, key=lambda c: c.position)
        if best.error is not None:
            return ExtractedAnswer(None, best.raw, best.method, False, best.error)
        assert best.value is not None
        return ExtractedAnswer(_format(best.value), best.raw, best.method, False)
    return _fallback(text, norm, nums)


def canonical_number(s: str, lang: str | None) -> str | None:
    """Canonical decimal string of a standalone number ("1,250" en -> "1250"), else None.

    Accepts currency/units around the number, LaTeX (\\frac, \\boxed), percentages, fractions,
    native digits and CJK / English number words; rejects text with several unrelated numbers.
    """
    if not s or not s.strip():
        return None
    value = _standalone_value(s, _style_for(lang))
    return None if value is None else _format(value)


def _standalone_value(s: str, style: _Style) -> Fraction | None:
    text = s.strip()
    # "1.250" is only canonical where the dot is the decimal separator
    if style.decimal == "." and (fast := _parse_canonical(text)) is not None:
        return fast
    norm = text.translate(_CHAR_MAP)
    boxed = _BOXED_RE.search(norm)
    if boxed is not None and (close := _balanced(norm, boxed.end() - 1)) is not None:
        norm = norm[boxed.end() : close]
    norm = _clean_latex(norm).strip().strip("$").strip()
    nums = _scan(norm, style)
    if len(nums) == 1:
        return nums[0].value
    if nums:
        return _evaluate(norm, style)
    if (cjk := _CJK_NUM_RE.fullmatch(norm.rstrip("。.个個"))) is not None:
        return _cjk_number(cjk)
    if _EN_WORDS_RE.fullmatch(norm.rstrip(".") + " ") is not None:
        return _en_words(norm.rstrip("."))
    return None


def _decimals(text: str) -> int:
    _, dot, frac = text.partition(".")
    return len(frac) if dot else 0


def answers_equal(a: str, b: str) -> bool:
    """Numeric equality of two answers (canonical strings or plain numbers, English rules).

    Exact for terminating values (18 == 18.0 == 18.00); a non-terminating fraction equals a
    decimal with >= 2 decimals that is within one unit of its last decimal place.
    """
    va = _standalone_value(a, _style_for(None)) if a else None
    vb = _standalone_value(b, _style_for(None)) if b else None
    if va is None or vb is None:
        return False
    if va == vb:
        return True
    for exact, shown, approx in ((va, b, vb), (vb, a, va)):
        if not _terminates(exact) and _terminates(approx):
            places = _decimals(_format(approx))
            if places < _decimals(shown.strip()):
                places = _decimals(shown.strip())
            if places >= 2 and abs(exact - approx) < Fraction(1, 10**places):
                return True
    return False


# --------------------------------------------------------------------------------------------
# PASMR consistency reward
# --------------------------------------------------------------------------------------------


def score_consistency(
    target_response: str | None,
    lang: str,
    *,
    pivot_response: str | None = None,
    pivot_answer: str | None = None,
    pivot_lang: str = "en",
    rewards: ConsistencyRewards = DEFAULT_REWARDS,
) -> ConsistencyResult:
    """PASMR's F(A_T, A_en): compare the target rollout's final answer with the pivot's.

    A directly given `pivot_answer` (e.g. a gold "1,250") takes precedence over
    `pivot_response`; both are read with `pivot_lang` conventions. A target format error wins
    over a missing pivot answer (the rollout is penalised either way); with a valid target and
    no pivot answer the reward is None so the trainer can drop the sample.
    """
    normalize_lang(lang)  # fail fast on an unknown language, before any work
    target = (
        extract_final_answer(target_response, lang)
        if target_response is not None
        else ExtractedAnswer(None, None, "none", False, "missing target response")
    )
    pivot_value, pivot_fallback, pivot_why = _pivot_side(pivot_response, pivot_answer, pivot_lang)

    if target.value is None:
        return ConsistencyResult(
            "format_error",
            rewards.format_error,
            None,
            pivot_value,
            target.fallback,
            pivot_fallback,
            f"target format error: {target.format_error}",
        )
    if pivot_value is None:
        return ConsistencyResult(
            "no_pivot_answer",
            None,
            target.value,
            None,
            target.fallback,
            pivot_fallback,
            f"no pivot answer: {pivot_why}",
        )
    equal = answers_equal(target.value, pivot_value)
    return ConsistencyResult(
        "match" if equal else "mismatch",
        rewards.match if equal else rewards.mismatch,
        target.value,
        pivot_value,
        target.fallback,
        pivot_fallback,
        f"target {target.value} ({target.method}) {'==' if equal else '!='} pivot {pivot_value}",
    )


def _pivot_side(
    pivot_response: str | None, pivot_answer: str | None, pivot_lang: str
) -> tuple[str | None, bool, str]:
    """(canonical pivot answer, fallback used, reason when missing)."""
    if pivot_answer is not None and pivot_answer.strip():
        value = canonical_number(pivot_answer, pivot_lang)
        if value is None:
            value = extract_final_answer(pivot_answer, pivot_lang).value
        return value, False, "" if value is not None else "pivot answer is not a number"
    if pivot_response is None or not pivot_response.strip():
        return None, False, "no pivot response or answer given"
    pivot = extract_final_answer(pivot_response, pivot_lang)
    return pivot.value, pivot.fallback, pivot.format_error or ""
