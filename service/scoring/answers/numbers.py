"""Number lexing: every number in normalised text, with its span and exact value.

Digits with separators are read by the language's (or the writer's own) decimal convention;
fractions, vulgar fractions, \\frac, percentages, multipliers (万, lakh, million) and CJK
numerals are numbers too. Values are exact Fractions; canonical strings come from `format_value`.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from service.scoring.answers.normalize import Style
from service.scoring.answers.numerals import (
    CJK_NUMBER_RE,
    CJK_NUMERAL_CHARS,
    MAX_DIGITS,
    cjk_number,
)

VULGAR: Final = "½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒"
CURRENCY_CHARS: Final = "$€£¥₹৳฿₦₩₱₺₽₴₸元円"
_NUM_TEMPLATE: Final = r"""
    (?P<tex>\\[dt]?frac\s*\{\s*(?P<tn>[0-9]{1,40}(?:[.,][0-9]{1,40})?)\s*\}
        \s*\{\s*(?P<td>[0-9]{1,40}(?:[.,][0-9]{1,40})?)\s*\})
  | (?P<mixed>(?P<mi>[0-9]{1,4})[\x20\u00a0](?P<mn>[0-9]{1,3})/(?P<md>[0-9]{1,4})(?![0-9]|[.,][0-9]))
  | (?P<body>[0-9]+(?:SEP[0-9]+)*)
    (?:\x20?/\x20?(?P<den>[0-9]+)(?![0-9]|[.,][0-9]))?
    (?P<vulgar>[VULGAR])?
  | (?P<lone>[VULGAR])
  | (?<![0-9A-Za-z.,])\.(?P<lead>[0-9]+)
"""
# The ASCII space only groups thousands before exactly three digits, in space-grouping languages.
_NUM_RE_PLAIN: Final = re.compile(
    _NUM_TEMPLATE.replace("SEP", r"[.,'\u00a0]").replace("VULGAR", VULGAR), re.VERBOSE
)
_NUM_RE_SPACE: Final = re.compile(
    _NUM_TEMPLATE.replace("SEP", r"(?:[.,'\u00a0]|\x20(?=[0-9]{3}(?![0-9])))").replace(
        "VULGAR", VULGAR
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
_DIGIT_RUN_RE: Final = re.compile(r"[0-9]+")
_CJK_CHAR_RE: Final = re.compile(rf"[{CJK_NUMERAL_CHARS}]")
# A lone CJK digit is a number only before a counter/unit ("七个班", "六冊"); "一" is too often
# an article ("一个问题") and is left to the answer-phrase reader.
_CJK_COUNTER_RE: Final = re.compile(
    r"[个個名人本枚台张張只隻块塊次天日年岁歲元円米克斤升瓶箱盒袋包杯件条條辆輛位頭头本冊册匹羽"
    r"分秒時时週周月倍点點度つ]"
)
_CJK_NOT_NUMBER_AFTER: Final = "第之"  # 第二 (ordinal), 之一 ("one of")


@dataclass(frozen=True, slots=True)
class Num:
    """One number: span in the text (incl. sign, "%" and multiplier) and exact value."""

    start: int
    end: int
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


def _decimal_value(int_digits: str, frac_part: str) -> Fraction:
    return Fraction(int(int_digits) * 10 ** len(frac_part) + int(frac_part), 10 ** len(frac_part))


def read_body(body: str, decimal: str) -> Fraction | None:
    """Interpret digits with separators under the given decimal separator; None if malformed."""
    if len(_digits(body)) > MAX_DIGITS:
        return None
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
        return _decimal_value(_digits(int_part), frac_part)
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
            return _decimal_value(digits, frac_part)
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
    if i >= 0 and norm[i] in CURRENCY_CHARS:
        i -= 1
    if i < 0 or norm[i] != "-":
        return None
    j = i - 1
    if j < 0:
        return i
    prev = norm[j]
    if prev.isdigit() or prev in ")]}" or prev.isalpha():  # 5-3, (2)-1, COVID-19
        return None
    if prev in " \t\u00a0":
        k = j
        while k >= 0 and norm[k] in " \t\u00a0":
            k -= 1
        if k >= 0 and (norm[k].isdigit() or norm[k] in ")]}%"):  # 50 -20
            return None
    return i


def _decimal_for(norm: str, style: Style, num_re: re.Pattern[str]) -> str:
    """The text's own decimal convention when it is unanimous, else the language's."""
    seen = {ev for m in num_re.finditer(norm) if m.group("body") and (ev := _evidence(m["body"]))}
    return seen.pop() if len(seen) == 1 else style.decimal


def _bounded_int(digits: str) -> int | None:
    return int(digits) if len(digits) <= MAX_DIGITS else None


def _digit_numbers(norm: str, style: Style) -> list[Num]:
    num_re = _NUM_RE_SPACE if style.space_groups else _NUM_RE_PLAIN
    decimal = _decimal_for(norm, style, num_re)
    out: list[Num] = []
    pos = 0
    while (m := num_re.search(norm, pos)) is not None:
        start, end = m.start(), m.end()
        value: Fraction | None = None
        if m.group("tex"):
            num = read_body(m["tn"], decimal)
            den = read_body(m["td"], decimal)
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
            if len(body) > MAX_DIGITS:
                pos = end
                continue
            value = read_body(body, decimal)
            if value is None:  # malformed grouping ("1,5,7"): keep the leading digit run
                run = _DIGIT_RUN_RE.match(body)
                assert run is not None
                end = start + run.end()
                value = Fraction(int(run.group(0)))
            else:
                den_value = _bounded_int(m["den"]) if m.group("den") else None
                if den_value and body.isdigit():
                    value = value / den_value
                else:
                    end = m.end("body")
                if m.group("vulgar") and not m.group("den"):
                    value += Fraction(unicodedata.numeric(m["vulgar"])).limit_denominator(100)
                    end = m.end("vulgar")
        elif m.group("lone"):
            value = Fraction(unicodedata.numeric(m["lone"])).limit_denominator(100)
        elif m.group("lead"):
            lead = m["lead"]
            value = Fraction(int(lead), 10 ** len(lead)) if len(lead) <= MAX_DIGITS else None
        if value is None:
            pos = max(end, start + 1)
            continue
        sign = _sign_before(norm, start)
        if sign is not None:
            value, start = -value, sign
        if (pm := _PERCENT_RE.match(norm, end)) is not None:
            end = pm.end()  # 50% is read as 50 (see the package docs)
        elif (mm := _MULTIPLIER_RE.match(norm, end)) is not None:
            value *= _MULTIPLIERS[str(mm.lastgroup)]
            end = mm.end()
        out.append(Num(start, end, value))
        pos = max(end, start + 1)
    return out


def _cjk_numbers(norm: str) -> list[Num]:
    """CJK numerals and fractions ("三百五十", "1万2千", "4分の3", "四分之三") outside phrases."""
    out: list[Num] = []
    for m in CJK_NUMBER_RE.finditer(norm):
        text = m.group(0)
        if _CJK_CHAR_RE.search(text) is None and m.group("den") is None:
            continue  # plain digits are the digit lexer's
        before = norm[m.start() - 1] if m.start() else ""
        if before in _CJK_NOT_NUMBER_AFTER or before.isdigit():
            continue
        if m.group("int") is not None:
            run = m["int"]
            after = norm[m.end() : m.end() + 1]
            if len(run) == 1 and (run == "一" or _CJK_COUNTER_RE.match(after) is None):
                continue
            if (
                run[0] in "十拾"
                and after == "分"
                and not norm.startswith(("分之", "分の"), m.end())
            ):
                continue  # 十分 = "very" / "enough"
            if run[0] not in "0123456789十拾" and run[0] not in "零〇一二两兩三四五六七八九":
                continue  # 万一, 千万 (idioms), a run starting with a unit
        value = cjk_number(m)
        if value is not None:
            out.append(Num(m.start(), m.end(), value))
    return out


def _merge(digits: list[Num], cjk: list[Num]) -> list[Num]:
    """Digit and CJK numbers in order; where they overlap the longer span wins."""
    if not cjk:
        return digits
    starts = [d.start for d in digits]
    dropped: set[int] = set()
    kept: list[Num] = []
    for c in cjk:
        k = max(bisect.bisect_left(starts, c.start) - 1, 0)
        overlapping = []
        while k < len(digits) and digits[k].start < c.end:
            if digits[k].end > c.start:
                overlapping.append(k)
            k += 1
        if all(c.end - c.start >= digits[i].end - digits[i].start for i in overlapping):
            kept.append(c)
            dropped.update(overlapping)
    result = [d for i, d in enumerate(digits) if i not in dropped]
    return sorted([*result, *kept], key=lambda n: n.start)


def scan(norm: str, style: Style) -> list[Num]:
    """All numbers in normalised text, in order, interpreted with the style's conventions."""
    digits = _digit_numbers(norm, style)
    if _CJK_CHAR_RE.search(norm) is None and "分" not in norm:
        return digits
    return _merge(digits, _cjk_numbers(norm))


# --------------------------------------------------------------------------------------------
# Fractions <-> canonical strings
# --------------------------------------------------------------------------------------------


def terminates(value: Fraction) -> bool:
    """True when the value has a finite decimal expansion."""
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def format_value(value: Fraction) -> str:
    """Canonical string: plain decimal without trailing zeros, or "p/q" if it never ends."""
    if value == 0:
        return "0"
    if not terminates(value):
        return f"{value.numerator}/{value.denominator}"
    with localcontext() as ctx:
        # significant digits <= digits of the numerator + the denominator's powers of 2 and 5
        ctx.prec = abs(value.numerator).bit_length() // 3 + value.denominator.bit_length() + 12
        dec = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    return format(dec, "f")


_CANONICAL_RE: Final = re.compile(r"-?(?:[0-9]{1,80}(?:\.[0-9]{1,80})?|[0-9]{1,80}/[0-9]{1,80})")


def parse_canonical(text: str) -> Fraction | None:
    """Fast path for strings this package produced ("1250.5", "-3", "1/3")."""
    if _CANONICAL_RE.fullmatch(text) is None:
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
