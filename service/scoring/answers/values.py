"""Standalone answers ("1,250", "\\frac{3}{4}", "十二") and numeric equality of two answers."""

from __future__ import annotations

from fractions import Fraction

from service.scoring.answers.latex import BOXED_RE, balanced, clean_latex, evaluate
from service.scoring.answers.normalize import CHAR_MAP, Style, style_for
from service.scoring.answers.numbers import format_value, parse_canonical, scan, terminates
from service.scoring.answers.numerals import CJK_NUMBER_RE, EN_WORDS_RE, cjk_number, en_words

_MAX_STANDALONE_CHARS = 400  # a gold answer is short; longer strings are read as responses


def canonical_number(s: str, lang: str | None) -> str | None:
    """Canonical decimal string of a standalone number ("1,250" en -> "1250"), else None.

    Accepts currency/units around the number, LaTeX (\\frac, \\boxed), percentages, fractions,
    native digits and CJK / English number words; rejects text with several unrelated numbers.
    """
    if not s or not s.strip():
        return None
    value = standalone_value(s, style_for(lang))
    return None if value is None else format_value(value)


def standalone_value(s: str, style: Style) -> Fraction | None:
    """Exact value of a string that is just an answer, or None."""
    text = s.strip()
    if len(text) > _MAX_STANDALONE_CHARS:
        return None
    # "1.250" is only canonical where the dot is the decimal separator
    if style.decimal == "." and (fast := parse_canonical(text)) is not None:
        return fast
    norm = text.translate(CHAR_MAP)
    boxed = BOXED_RE.search(norm)
    if boxed is not None and (close := balanced(norm, boxed.end() - 1)) is not None:
        norm = norm[boxed.end() : close]
    norm = clean_latex(norm).strip().strip("$").strip()
    nums = scan(norm, style)
    if len(nums) == 1:
        return nums[0].value
    if nums:
        return evaluate(norm, style)
    if (cjk := CJK_NUMBER_RE.fullmatch(norm.rstrip("。.个個"))) is not None:
        return cjk_number(cjk)
    if EN_WORDS_RE.fullmatch(norm.rstrip(".") + " ") is not None:
        return en_words(norm.rstrip("."))
    return None


def _decimals(text: str) -> int:
    _, dot, frac = text.partition(".")
    return len(frac) if dot else 0


def answers_equal(a: str, b: str) -> bool:
    """Numeric equality of two answers (canonical strings or plain numbers, English rules).

    Exact for terminating values (18 == 18.0 == 18.00); a non-terminating fraction equals a
    decimal with >= 2 decimals that is within one unit of its last decimal place.
    """
    english = style_for(None)
    va = standalone_value(a, english) if a else None
    vb = standalone_value(b, english) if b else None
    if va is None or vb is None:
        return False
    if va == vb:
        return True
    for exact, shown, approx in ((va, b, vb), (vb, a, va)):
        if not terminates(exact) and terminates(approx):
            places = max(_decimals(format_value(approx)), _decimals(shown.strip()))
            if places >= 2 and abs(exact - approx) < Fraction(1, 10**places):
                return True
    return False
