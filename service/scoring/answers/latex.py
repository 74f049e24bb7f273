"""LaTeX answers and small exact arithmetic (\\boxed{} contents, "135 + 50", standalone answers).

A recursive-descent evaluator over Fractions: exact, deterministic, bounded in input size,
recursion depth and magnitude, no signals, no sympy (see the package docs for math-verify).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Final

from service.scoring.answers.normalize import HS, Style
from service.scoring.answers.numbers import scan

EXPR_MAX_CHARS: Final = 200
_MAX_BITS: Final = 1400  # ~420 digits: far beyond any answer, far below int()'s str limit
_MAX_DEPTH: Final = 40
BOXED_RE: Final = re.compile(r"\\(?:boxed|fbox)\s*\{")
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
_LETTER_RE: Final = re.compile(r"[^\W\d_]")
_OPS: Final = "+-×*/÷·^()"


def balanced(norm: str, open_brace: int) -> int | None:
    """Index of the brace closing the one at `open_brace` (searched within a bounded window)."""
    depth = 0
    for i in range(open_brace, min(len(norm), open_brace + 2 * EXPR_MAX_CHARS)):
        if norm[i] == "{":
            depth += 1
        elif norm[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def clean_latex(content: str) -> str:
    """LaTeX spacing, wrappers and operators to plain text (\\frac is kept for the lexer)."""
    text = _TEX_SPACE_IN_NUMBER_RE.sub(HS, content)
    for _ in range(3):  # nested \text{\textbf{..}}
        text = _TEX_WRAPPER_RE.sub(r" \1 ", text)
    for old, new in _TEX_REPLACEMENTS:
        text = text.replace(old, new)
    return text


def evaluate(text: str, style: Style) -> Fraction | None:
    """Exact value of a small arithmetic expression; None if it is not one.

    Letters (units, currency words) are ignored; any LaTeX command other than \\frac makes the
    expression unreadable (\\sqrt{2} must not become 2).
    """
    if len(text) > EXPR_MAX_CHARS or _TEX_COMMAND_RE.search(text):
        return None
    nums = scan(text, style)
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
    return Expr(items).parse() if items else None


class Expr:
    """Recursive-descent evaluator over numbers and + - × ÷ ^ ( )."""

    def __init__(self, items: Sequence[Fraction | str]) -> None:
        self.items = items
        self.i = 0
        self.depth = 0

    def parse(self) -> Fraction | None:
        """The value, or None when the items are no well-formed, bounded expression."""
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

    @staticmethod
    def _bounded(value: Fraction) -> Fraction:
        if value.numerator.bit_length() > _MAX_BITS or value.denominator.bit_length() > _MAX_BITS:
            raise OverflowError("value too large for an answer")
        return value

    def _sum(self) -> Fraction:
        value = self._product()
        while self._peek() in ("+", "-"):
            op = self._take()
            rhs = self._product()
            value = self._bounded(value + rhs if op == "+" else value - rhs)
        return value

    def _product(self) -> Fraction:
        value = self._unary()
        while self._peek() in ("×", "÷"):
            op = self._take()
            rhs = self._unary()
            value = self._bounded(value * rhs if op == "×" else value / rhs)
        return value

    def _unary(self) -> Fraction:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ValueError("expression nested too deeply")
        try:
            if self._peek() in ("-", "+"):
                op = self._take()
                value = self._unary()
                return -value if op == "-" else value
            return self._power()
        finally:
            self.depth -= 1

    def _power(self) -> Fraction:
        base = self._atom()
        if self._peek() == "^":
            self._take()
            exponent = self._unary()
            if exponent.denominator != 1 or abs(exponent) > 12:
                raise ValueError("unsupported exponent")
            return self._bounded(base ** int(exponent))
        return base

    def _atom(self) -> Fraction:
        item = self._take()
        if isinstance(item, Fraction):
            return self._bounded(item)
        if item == "(":
            value = self._sum()
            if self._take() != ")":
                raise ValueError("unbalanced")
            return value
        raise ValueError(f"unexpected {item!r}")
