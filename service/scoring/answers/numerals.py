"""Number words: CJK numerals (positional, unit-based, fractions) and English words.

Every reader is bounded (digit counts, magnitudes) so no input reaches Python's 4,300-digit
int() limit or builds an unbounded integer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType
from typing import Final

MAX_DIGITS: Final = 40  # longer digit strings are not answers; keeps Fraction maths bounded
_MAX_VALUE: Final = 10**40

CJK_DIGITS: Final[Mapping[str, int]] = MappingProxyType(
    {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
     "七": 7, "八": 8, "九": 9}
)  # fmt: skip
_SMALL_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
)
_BIG_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
)
CJK_NUMERAL_CHARS: Final = "零〇一二两兩三四五六七八九十拾百佰千仟万萬亿億"
_RUN: Final = rf"[0-9{CJK_NUMERAL_CHARS}]+(?:[.点點][0-9零〇一二三四五六七八九]+)?"
# "四分之三", "4分の3", "1と2分の1", "一又二分之一", "三百五十", "1万2千", "1.2万", "负五".
CJK_NUMBER_RE: Final = re.compile(
    rf"(?P<neg>[负負])?(?:(?:(?P<whole>{_RUN})[と又])?(?P<den>{_RUN})分[の之](?P<num>{_RUN})"
    rf"|(?P<int>{_RUN}))"
)
_TOKEN_RE: Final = re.compile(
    rf"[0-9]+(?:\.[0-9]+)?|[{CJK_NUMERAL_CHARS}]|[点點][0-9零〇一二三四五六七八九]+"
)


def _positional(digits: str) -> Fraction | None:
    """ "二〇二四" / "24": one digit per character."""
    if len(digits) > MAX_DIGITS:
        return None
    return Fraction(int("".join(str(CJK_DIGITS.get(ch, ch)) for ch in digits)))


def cjk_run_value(run: str) -> Fraction | None:
    """Value of a numeral run mixing ASCII digits and CJK digits/units; None if malformed."""
    if len(run) > 2 * MAX_DIGITS:
        return None
    head, sep, tail = run.replace("點", "点").partition("点")
    if sep and "." in head:
        return None
    whole = _cjk_int(head)
    if whole is None:
        return None
    if not sep:
        return whole
    frac = _positional(tail)
    if frac is None or not tail:
        return None
    return whole + frac / 10 ** len(tail)


def _cjk_int(s: str) -> Fraction | None:
    if not s:
        return None
    if all(ch in CJK_DIGITS for ch in s):  # positional: 二〇二四
        return _positional(s)
    tokens = _TOKEN_RE.findall(s)
    if "".join(tokens) != s:
        return None
    total = Fraction(0)
    section = Fraction(0)
    digit: Fraction | None = None
    last_small = last_big = 10**13
    for tok in tokens:
        if tok in ("零", "〇"):  # placeholder inside a unit numeral: 一百零五
            continue
        if tok in CJK_DIGITS or tok[0].isdigit():
            if digit is not None:
                return None
            if tok[0].isdigit():
                if len(tok) > MAX_DIGITS:
                    return None
                digit = Fraction(tok)
            else:
                digit = Fraction(CJK_DIGITS[tok])
        elif tok in _SMALL_UNITS:
            unit = _SMALL_UNITS[tok]
            if unit >= last_small:  # 十百: not a numeral
                return None
            section += (1 if digit is None else digit) * unit
            digit, last_small = None, unit
        elif tok in _BIG_UNITS:
            unit = _BIG_UNITS[tok]
            if unit >= last_big or (section == 0 and digit is None):
                return None
            total += (section + (digit or 0)) * unit
            section, digit, last_small, last_big = Fraction(0), None, 10**13, unit
        else:
            return None
    value = total + section + (digit or 0)
    return value if value <= _MAX_VALUE else None


def cjk_number(m: re.Match[str]) -> Fraction | None:
    """Value of a CJK_NUMBER_RE match."""
    if m.group("den") is not None:
        den, num = cjk_run_value(m["den"]), cjk_run_value(m["num"])
        if not den or num is None:
            return None
        # 百分之二十 is 20 %, read as 20 like "20%" (see the package docs)
        value = num if m["den"] == "百" and m.group("whole") is None else num / den
        if m.group("whole") is not None:
            whole = cjk_run_value(m["whole"])
            if whole is None:
                return None
            value += whole
    else:
        value_or_none = cjk_run_value(m["int"])
        if value_or_none is None:
            return None
        value = value_or_none
    return -value if m.group("neg") else value


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
EN_WORDS_RE: Final = re.compile(
    r"(?:(?:" + "|".join(sorted([*_EN_SMALL, *_EN_SCALES, "and", "a"], key=len, reverse=True))
    + r")\b[\s-]*)+",
    re.IGNORECASE,
)  # fmt: skip
_EN_SPLIT_RE: Final = re.compile(r"[\s-]+")


def en_words(phrase: str) -> Fraction | None:
    """Value of English number words ("one hundred and five"); None if there are none."""
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
        if total + current > _MAX_VALUE:  # "hundred hundred hundred ..." is no number
            return None
    return Fraction(total + current) if seen else None
