"""Final-answer extraction: what a response commits to, read the way models write.

Order of reading (see the package docs for the number conventions):

1. Reasoning blocks (``<think> ... </think>``) are cut off; only the visible text is read. An
   unclosed block, or nothing visible after it, is a format error.
2. Explicit answers are ``\\boxed{..}``, GSM8K ``#### N`` and answer phrases of all 11 MGSM
   languages (and variants). The last one that yields a value (or an error) wins.
   - A phrase *directly* followed by a value ("Antwort: 65 Stifte.", "Jibu ni lita 12") commits
     to it: "N op N = R" gives R, and what follows only matters when it is a hedge ("25 oder 35"),
     a range ("от 20 до 25") or a continuation of the same equation ("= 9 eggs, 9 x 2 = 18").
   - A phrase that introduces working ("The answer is calculated as follows: ...", "答案：小明有3个
     苹果和5个梨，一共8个") takes the result the working ends in (its paragraph's last number).
3. After a committed answer only an explicit correction overrides it ("Wait, I forgot ...",
   "No, that is wrong ...", "Moment, ...", "いや、..."): the corrected value is the last number
   after the correction. A pause that merely re-checks ("Wait, let me verify: ...") does not.
4. Without an explicit answer the last number is used (``fallback=True``) unless the text is
   truncated, refuses, hedges between values, gives a range or an estimate, or asks back.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal

from service.scoring.answers.degenerate import (
    SENTENCE_END_RE,
    has_repetition_loop,
    looks_truncated,
)
from service.scoring.answers.latex import BOXED_RE, Expr, balanced, clean_latex, evaluate
from service.scoring.answers.lexicon import (
    ADMISSION_RE,
    AND_LINK_RE,
    APOLOGY_RE,
    APPROX_AFTER_RE,
    APPROX_BEFORE_RE,
    BETWEEN_AFTER_RE,
    BETWEEN_BEFORE_RE,
    CHANGE_VERB_RE,
    CLARIFY_RE,
    COLON_CONNECTORS,
    CORRECTION_OPENER_RE,
    DANGLING_CHARS,
    ERROR_WORD_RE,
    HASH_PATTERN,
    INABILITY_RE,
    NOT_AN_ANSWER_BEFORE_RE,
    PHRASE_RES,
    RESTATE_LINK_RE,
    RESULT_CUE_RE,
    STRONG_HEDGE_RE,
    TRAILING_CLOSERS,
    VERIFICATION_RE,
    WEAK_OPENER_RE,
    hedge_link_re,
    range_link_re,
)
from service.scoring.answers.normalize import LETTER, Style, normalize, style_for
from service.scoring.answers.numbers import CURRENCY_CHARS, Num, format_value, scan
from service.scoring.answers.numerals import CJK_NUMBER_RE, EN_WORDS_RE, cjk_number, en_words
from service.scoring.reasoning import DEFAULT_THINK_END, DEFAULT_THINK_START, split_reasoning

AnswerMethod = Literal["boxed", "hash", "phrase", "last_number", "none"]

# Format-error reasons (stable strings, safe to use as metric labels).
EMPTY: Final = "empty"
REPETITION_LOOP: Final = "repetition_loop"
TRUNCATED: Final = "truncated"
REFUSAL: Final = "refusal"
AMBIGUOUS: Final = "ambiguous_answer"
NO_NUMBER: Final = "no_number"
NON_NUMERIC: Final = "non_numeric_answer"
UNCLOSED_REASONING: Final = "unclosed_reasoning"
REASONING_ONLY: Final = "answer_only_in_reasoning"


@dataclass(frozen=True, slots=True)
class ExtractedAnswer:
    """The final answer found in a response (value is a canonical decimal string)."""

    value: str | None
    raw: str | None
    method: AnswerMethod
    fallback: bool = False
    format_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A reading of one answer: a value or the reason there is none, and where it ends."""

    value: Fraction | None
    raw: str | None
    method: AnswerMethod
    end: int
    error: str | None = None
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class _Marker:
    start: int
    end: int  # just after the connector (or the "{" of a box)
    kind: AnswerMethod
    colon: bool  # "Answer:" (expects a value or working) rather than "The answer is"


_GAP_NOISE_RE: Final = re.compile(r"[\s*_`$:\\()\[\]{}]*")
_LETTER_RE: Final = re.compile(LETTER)
_CJK_OR_KANA_RE: Final = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_PARAGRAPH_RE: Final = re.compile(r"\n[ \t]*\n")
_GAP_MAX: Final = 40
_GAP_MAX_WORDS: Final = 3
_GAP_MAX_CJK: Final = 2
_WORD_MAX_CHARS: Final = 15
# `=` links take the result ("Answer: 50 - 20 = 30"); other operators continue the expression.
# Links never cross a line: a bullet "- 16 eggs" under an answer is no subtraction. A unit may
# stand before the operator ("9 eggs x 2") or, in Swahili order, after it ("= mayai 9").
_CHAIN_LINK_RE: Final = re.compile(
    rf"[ \t\u00a0]*(?:{LETTER}{{1,12}}\.?[ \t\u00a0]*)?(?:[{CURRENCY_CHARS}][ \t\u00a0]*)?"
    r"(?P<op>[=≈+×x*/÷·~-]|\\times|\\cdot|\\div)[ \t\u00a0]*"
    rf"(?:[{CURRENCY_CHARS}]|US\$|Rs\.?|TSh)?[ \t\u00a0]*(?:{LETTER}{{1,12}}[ \t\u00a0]+)?"
)
_RANGE_DASHES: Final = "–—‒~〜～"
# Between one equation's result and the next equation that starts from it, in one paragraph:
# "= 9 eggs, 9 x 2", "= 9 Eier. Dann 9 × 2", "= 9\n9 × 2".
_CONTINUATION_RE: Final = re.compile(
    rf"[ \t\u00a0]*(?:{LETTER}{{1,15}}\.?[ \t\u00a0]*){{0,2}}[,;.:、。]?[ \t\u00a0]*\n?[ \t\u00a0]*"
    rf"(?:{LETTER}{{1,12}}[ \t\u00a0,]*){{0,2}}[$€£¥₹]?"
)
# Conversion factors between units of one quantity (2 hours, or 120 minutes).
_CONVERSIONS: Final = frozenset(
    Fraction(f) for f in (7, 10, 12, 24, 52, 60, 100, 365, 1000, 1024, 1440, 3600, 10**6)
)
_UNIT_AFTER_RE: Final = re.compile(rf"[ \t\u00a0]*({LETTER}{{1,20}})")
_UNIT_BEFORE_RE: Final = re.compile(rf"({LETTER}{{1,20}})[ \t\u00a0]*$")
_CHECK_WINDOW: Final = 200  # how far after "Wait," a re-check word is looked for
_ROUNDED_PLACES: Final = 2  # "about 0.33" restates a rounded exact value; "about 15" estimates


class _Reader:
    """One visible text, normalised and lexed once; every reading is a bounded slice of it."""

    def __init__(self, text: str, norm: str, style: Style) -> None:
        self.text = text
        self.style = style
        self.norm = norm
        self.nums = scan(self.norm, style)
        self.starts = [n.start for n in self.nums]
        self.sentence_ends = [m.end() for m in SENTENCE_END_RE.finditer(self.norm)]
        self.paragraph_ends = [m.start() for m in _PARAGRAPH_RE.finditer(self.norm)]
        # past this only closing markup follows ("**", "$", "\\]", spaces)
        self.content_end = len(self.norm.rstrip(TRAILING_CLOSERS))

    # --- geometry ---------------------------------------------------------------------------

    def sentence_start(self, pos: int, lo: int = 0) -> int:
        i = bisect.bisect_right(self.sentence_ends, pos) - 1
        return max(lo, self.sentence_ends[i]) if i >= 0 else lo

    def sentence_end(self, pos: int) -> int:
        i = bisect.bisect_right(self.sentence_ends, pos)
        return self.sentence_ends[i] if i < len(self.sentence_ends) else len(self.norm)

    def paragraph_end(self, pos: int) -> int:
        i = bisect.bisect_right(self.paragraph_ends, pos)
        return self.paragraph_ends[i] if i < len(self.paragraph_ends) else len(self.norm)

    def num_range(self, lo: int, hi: int) -> tuple[int, int]:
        """Indices [i, j) of the numbers that start in [lo, hi)."""
        return bisect.bisect_left(self.starts, lo), bisect.bisect_left(self.starts, hi)

    def raw(self, start: int, end: int) -> str:
        return self.text[start:end].strip()

    # --- markers ----------------------------------------------------------------------------

    def markers(self) -> list[_Marker]:
        found: list[_Marker] = []
        for pattern in PHRASE_RES:
            for m in pattern.finditer(self.norm):
                if pattern is not HASH_PATTERN and NOT_AN_ANSWER_BEFORE_RE.search(
                    self.norm, max(0, m.start() - 24), m.start()
                ):
                    continue
                kind: AnswerMethod = "hash" if pattern is HASH_PATTERN else "phrase"
                conn = m.group("conn") or ""
                found.append(_Marker(m.start(), m.end(), kind, conn.strip() in COLON_CONNECTORS))
        for m in BOXED_RE.finditer(self.norm):
            found.append(_Marker(m.start(), m.end(), "boxed", True))
        found.sort(key=lambda mk: (mk.start, mk.end))
        return found

    # --- chains and their surroundings ------------------------------------------------------

    def follow_chain(self, first: int) -> tuple[Fraction, int, int, str | None, bool]:
        """(value, start, end, error, has "=") of the expression starting at nums[first].

        "N op N = R" gives R; an expression without "=" is evaluated ("135 + 50"); a bare range
        ("2-3", "2 – 3", "2~3") is ambiguous. `end` is the index of the last number used.
        """
        nums, norm = self.nums, self.norm
        items: list[Fraction | str] = [nums[first].value]
        result = last = first
        ranged = equated = False
        while last + 1 < len(nums):
            link = _CHAIN_LINK_RE.fullmatch(norm, nums[last].end, nums[last + 1].start)
            if link is None:
                break
            op = link.group("op")
            last += 1
            if op in ("=", "≈"):  # only what follows the last "=" is the answer
                result, items, ranged, equated = last, [nums[last].value], False, True
                continue
            ranged = ranged or op == "~" or (op == "-" and self._range_dash(link))
            items += ["×" if op in ("x", "*", "·", "\\times", "\\cdot") else
                      "÷" if op in ("/", "\\div") else op, nums[last].value]  # fmt: skip
        # "15 - 20 minutes": a spaced hyphen between a smaller and a larger number is a range
        if len(items) == 3 and items[1] == "-":
            a, b = items[0], items[2]
            hyphen = self.text[nums[result].end : nums[last].start].strip() == "-"
            if hyphen and isinstance(a, Fraction) and isinstance(b, Fraction) and a < b:
                ranged = True
        value: Fraction | None = nums[result].value
        if len(items) > 1:
            value = None if ranged else Expr(items).parse()
            if value is None:
                return nums[result].value, nums[result].start, last, AMBIGUOUS, equated
        assert value is not None
        return value, nums[result].start, last, None, equated

    def _range_dash(self, link: re.Match[str]) -> bool:
        """An en dash or tilde ("2–3") is a range, a minus sign ("10 − 4") is not; a hyphen is a
        range when glued to both numbers ("2-3"); a spaced one is judged by the values."""
        original = self.text[link.start("op")]
        if original in _RANGE_DASHES:
            return True
        return original == "-" and link.group(0) == "-"

    def _unit(self, idx: int) -> str | None:
        """The unit word after a number ("2 hours"), or before it in Swahili order ("saa 2")."""
        num = self.nums[idx]
        after = _UNIT_AFTER_RE.match(self.norm, num.end)
        if after is not None:
            return after.group(1).lower()
        before = _UNIT_BEFORE_RE.search(self.norm, max(0, num.start - 24), num.start)
        return before.group(1).lower() if before is not None else None

    def _is_conversion(self, a: int, b: int) -> bool:
        """nums[a] and nums[b] state one quantity in two units ("2 hours, or 120 minutes")."""
        va, vb = abs(self.nums[a].value), abs(self.nums[b].value)
        if va == 0 or vb == 0:
            return False
        unit_a, unit_b = self._unit(a), self._unit(b)
        if unit_a is None or unit_b is None or unit_a == unit_b:
            return False
        return max(va, vb) / min(va, vb) in _CONVERSIONS

    def restates(self, a: int, b: int) -> bool:
        """nums[b] restates nums[a] in another unit ("36 Äpfel, also 3 Dutzend")."""
        lo, hi = self.nums[a].end, self.nums[b].start
        link = RESTATE_LINK_RE.fullmatch(self.norm, lo, hi) or hedge_link_re(
            self.style.lang
        ).fullmatch(self.norm, lo, hi)
        return link is not None and self._is_conversion(a, b)

    def alternative_to(self, a: int, b: int) -> str | None:
        """Why nums[a] and nums[b] (adjacent, same sentence) are not one answer, if they are not."""
        nums, norm, lang = self.nums, self.norm, self.style.lang
        gap_lo, gap_hi = nums[a].end, nums[b].start
        if range_link_re(lang).fullmatch(norm, gap_lo, gap_hi):
            sentence = self.sentence_start(nums[a].start)
            if CHANGE_VERB_RE.search(norm, sentence, nums[a].start) is None:
                return "range"
        if AND_LINK_RE.fullmatch(norm, gap_lo, gap_hi) and (
            BETWEEN_BEFORE_RE.search(norm, max(0, nums[a].start - 24), nums[a].start)
            or BETWEEN_AFTER_RE.match(norm, nums[b].end)
        ):
            return "range"
        if (
            hedge_link_re(lang).fullmatch(norm, gap_lo, gap_hi)
            and nums[a].value != nums[b].value
            and not self._is_conversion(a, b)
        ):
            return "choice"
        return None

    def approximate(self, idx: int, lo: int) -> bool:
        """ "about 15", "约 15", "15 左右" (an exact value rounded to >= 2 places is no estimate)."""
        num = self.nums[idx]
        before = APPROX_BEFORE_RE.search(self.norm, max(lo, num.start - 24), num.start)
        after = APPROX_AFTER_RE.match(self.norm, num.end)
        if before is None and after is None:
            return False
        shown = self.norm[num.start : num.end]
        decimals = len(shown.rsplit(".", 1)[1]) if "." in shown else 0
        if "," in shown and self.style.decimal == ",":
            decimals = len(shown.rsplit(",", 1)[1])
        return decimals < _ROUNDED_PLACES

    # --- readings -----------------------------------------------------------------------------

    def commit(self, idx: int, lo: int, method: AnswerMethod) -> _Outcome:
        """The answer a phrase commits to when a value directly follows it (nums[idx])."""
        nums, norm = self.nums, self.norm
        value, start, last, error, equated = self.follow_chain(idx)
        paragraph_end = self.paragraph_end(nums[last].end)
        # "= 9 eggs, 9 x 2 = $18": the next equation of the paragraph starts from the result
        # (a check "Probe: 65 + 7 = 72" does too, and is no continuation)
        while equated and last + 1 < len(nums) and nums[last + 1].start < paragraph_end:
            nxt = last + 1
            link = _CONTINUATION_RE.fullmatch(norm, nums[last].end, nums[nxt].start)
            if (
                nums[nxt].value != value
                or link is None
                or VERIFICATION_RE.search(norm, nums[last].end, nums[nxt].start) is not None
            ):
                break
            v2, s2, l2, e2, eq2 = self.follow_chain(nxt)
            if not eq2 or e2 is not None:
                break
            value, start, last = v2, s2, l2
        end = nums[last].end
        raw = self.raw(start, end)
        if error is not None:
            return _Outcome(None, raw, method, end, error)
        sentence_end = self.sentence_end(end)
        followed = last + 1 < len(nums) and nums[last + 1].start < sentence_end
        if followed and self.alternative_to(last, last + 1) is not None:
            return _Outcome(None, raw, method, end, AMBIGUOUS)
        if self.approximate(last, lo):
            return _Outcome(None, raw, method, end, AMBIGUOUS)
        rest = norm[end : self.content_end].strip() if self.content_end - end <= 8 else ""
        if (
            rest and len(rest) <= 2 and rest[-1] in DANGLING_CHARS
        ):  # "The answer is 30 ×" at the end
            return _Outcome(None, raw, method, end, TRUNCATED)
        return _Outcome(value, raw, method, end)

    def fallback(self, lo: int, hi: int, method: AnswerMethod, *, fallback: bool) -> _Outcome:
        """The last number of norm[lo:hi], unless it is truncated, refused, hedged or estimated."""
        norm = self.norm
        at_end = hi >= self.content_end
        i, j = self.num_range(lo, hi)
        if i == j:
            if INABILITY_RE.search(norm, lo, hi) or APOLOGY_RE.search(norm, lo, hi):
                return _Outcome(None, None, "none", hi, REFUSAL)
            truncated = at_end and looks_truncated(norm[lo:hi], None)
            return _Outcome(None, None, "none", hi, TRUNCATED if truncated else NO_NUMBER)
        last = j - 1
        num = self.nums[last]
        if at_end and looks_truncated(norm[lo:hi], num.end - lo):
            return _Outcome(None, None, "none", hi, TRUNCATED)
        sentence = self.sentence_start(num.start, lo)
        # "I cannot tell with 3 unknowns." refuses; "... = 12. I can't check it further" does not
        # retract a computed result, so only the text after a result is searched then
        refusal_from = num.end if self._is_result(num) else sentence
        if INABILITY_RE.search(norm, refusal_from, hi):
            return _Outcome(None, None, "none", hi, REFUSAL)
        if at_end and "?" in norm[num.end : hi] and CLARIFY_RE.search(norm, num.end, hi):
            return _Outcome(None, None, "none", hi, AMBIGUOUS)  # hands the choice back
        if last > i and self.nums[last - 1].start >= sentence and self.restates(last - 1, last):
            last, num = last - 1, self.nums[last - 1]  # the statement, not its restatement
        if last > i and self.nums[last - 1].start >= sentence:
            prev = self.nums[last - 1]
            if self.alternative_to(last - 1, last) is not None:
                return _Outcome(None, None, "none", hi, AMBIGUOUS)
            if prev.value != num.value and STRONG_HEDGE_RE.search(norm, prev.end, num.start):
                return _Outcome(None, None, "none", hi, AMBIGUOUS)
        if self.approximate(last, sentence):
            return _Outcome(None, None, "none", hi, AMBIGUOUS)
        # a closing parenthetical restates inputs: "= 53 eggs (5 dozen minus 7)."
        paren = norm.rfind("(", sentence, num.start)
        if paren != -1 and ")" not in norm[paren : num.start] and ")" in norm[num.end : hi]:
            k = last
            while k > i and self.nums[k].end > paren:
                k -= 1
            if self.nums[k].end <= paren and self.nums[k].start >= sentence:
                last, num = k, self.nums[k]
        return _Outcome(num.value, self.raw(num.start, num.end), method, num.end, None, fallback)

    def _is_result(self, num: Num) -> bool:
        """True when the number is the right-hand side of an "=" (a computed result)."""
        before = self.norm[max(0, num.start - 8) : num.start].rstrip(" \u00a0" + CURRENCY_CHARS)
        return before.endswith(("=", "≈"))

    def _direct_gap(self, gap: str) -> bool:
        """Is the text between an answer phrase and a number short enough to be one clause?"""
        if _LETTER_RE.search(gap) is None:
            return True  # only spaces, markup, currency: "Answer:\n\n**14.70**"
        if len(gap) > _GAP_MAX or "\n" in gap or any(c in gap for c in ",;、.!?。"):
            return False
        words = gap.replace("*", " ").split()
        cjk = sum(len(_CJK_OR_KANA_RE.findall(w)) for w in words)
        if cjk > _GAP_MAX_CJK:
            return False
        spaced = [w for w in words if _LETTER_RE.search(w) and not _CJK_OR_KANA_RE.search(w)]
        return len(spaced) <= _GAP_MAX_WORDS and all(len(w) <= _WORD_MAX_CHARS for w in spaced)

    def read_phrase(self, marker: _Marker, hi: int) -> _Outcome | None:
        """The answer an answer phrase gives (None: the phrase gives none, read earlier ones)."""
        norm, after = self.norm, marker.end
        if not norm[after:hi].strip(TRAILING_CLOSERS + ":"):
            if hi >= self.content_end:  # "The answer is" at the very end
                return _Outcome(None, None, marker.kind, hi, TRUNCATED)
            return None
        i, j = self.num_range(after, hi)
        ws_match = _GAP_NOISE_RE.match(norm, after)
        ws = after if ws_match is None else ws_match.end()
        first_start = self.nums[i].start if i < j else hi
        if ws < first_start:  # number words right after the phrase: "答案是一", "twelve"
            words = self._number_words(ws)
            if words is not None:
                return _Outcome(words[0], self.raw(ws, words[1]), marker.kind, words[1])
        gap = norm[after:first_start]
        if i < j and self._direct_gap(gap):
            if marker.kind == "hash" and not self._hash_line_ok(i):
                return None
            # "Antwort: Sie hat 3 Äpfel und 5 Birnen, zusammen 8": words, then working whose
            # result is marked as one; "Answer: Janet makes $18 from 9 eggs" commits to 18
            if _LETTER_RE.search(gap) is None or not self._sentence_goes_on(i):
                return self.commit(i, after, marker.kind)
            scope = self._scope(marker, after, ws, first_start, hi)
            working = self.fallback(after, scope, marker.kind, fallback=False)
            if working.value is None or not self._marked_result(working.end):
                return self.commit(i, after, marker.kind)
            return working
        if marker.kind == "hash":
            return None
        scope = self._scope(marker, after, ws, first_start, hi)
        if self.num_range(after, scope)[0] == self.num_range(after, scope)[1]:
            return None
        outcome = self.fallback(after, scope, marker.kind, fallback=False)
        return None if outcome.error == NO_NUMBER else outcome

    def _scope(self, marker: _Marker, after: int, ws: int, first: int, hi: int) -> int:
        """Where the working a phrase introduces ends (`first`: its first number's start)."""
        if marker.colon or ":" in self.norm[after:first]:
            # "Answer: First, 5 × 12 = 60 ..." introduces working: its result is the answer
            return min(self.paragraph_end(ws), hi)
        # "The answer is that she has 8 apples": the sentence holds it, if anything
        return min(self.sentence_end(after), hi)

    def _marked_result(self, end: int) -> bool:
        """The number ending at `end` is introduced as a result ("=", "so", "in total", "一共")."""
        k = bisect.bisect_left(self.starts, end) - 1  # numbers never overlap
        num = self.nums[k]
        lo = max(self.nums[k - 1].end if k > 0 else 0, num.start - 30)
        return RESULT_CUE_RE.search(self.norm, lo, num.start) is not None

    def _sentence_goes_on(self, idx: int) -> bool:
        """More numbers follow nums[idx] in its sentence, and they do not restate it."""
        last = self.follow_chain(idx)[2]
        nxt = last + 1
        if nxt >= len(self.nums) or self.nums[nxt].start >= self.sentence_end(self.nums[last].end):
            return False
        gap_lo, gap_hi = self.nums[last].end, self.nums[nxt].start
        if RESTATE_LINK_RE.fullmatch(self.norm, gap_lo, gap_hi):
            return False  # "lita 12, yaani chupa 8 ...": an elaboration of the value
        return self.alternative_to(last, nxt) is None

    def _number_words(self, pos: int) -> tuple[Fraction, int] | None:
        cjk = CJK_NUMBER_RE.match(self.norm, pos)
        if cjk is not None and (v := cjk_number(cjk)) is not None:
            return v, cjk.end()
        en = EN_WORDS_RE.match(self.norm, pos)
        if en is not None and (v := en_words(en.group(0))) is not None:
            return v, en.start() + len(en.group(0).rstrip(" -\n\t"))
        return None

    def _hash_line_ok(self, idx: int) -> bool:
        """GSM8K "#### 18" ends its line; "#### Step 2: ..." / "#### 2. Total" are headings."""
        last = self.follow_chain(idx)[2]
        line_end = self.norm.find("\n", self.nums[last].end)
        rest = self.norm[self.nums[last].end : line_end if line_end != -1 else len(self.norm)]
        rest = rest.strip(TRAILING_CLOSERS)
        return not rest or (len(rest.split()) == 1 and ":" not in rest and rest[0] not in ".)")

    def read_box(self, marker: _Marker) -> _Outcome:
        close = balanced(self.norm, marker.end - 1)
        if close is None:  # unclosed box: a rollout cut off inside the answer
            return _Outcome(
                None, self.raw(marker.end, len(self.text)), "boxed", marker.end, TRUNCATED
            )
        raw = self.raw(marker.end, close)
        content = clean_latex(self.norm[marker.end : close])
        if "=" in content:
            content = content.rsplit("=", 1)[1]
        value = evaluate(content, self.style)
        if value is None:
            return _Outcome(None, raw, "boxed", close + 1, NON_NUMERIC)
        return _Outcome(value, raw, "boxed", close + 1)

    def corrected(self, committed: _Outcome) -> _Outcome:
        """An explicit correction after the committed answer replaces it.

        "No, that is wrong ...", "I forgot ...": the last number after it is the answer. "Wait,
        ..." corrects only when it is no re-check ("Wait, let me verify: 48 / 4 = 12. Yes.") and
        reaches another value. A correction with no number after it leaves the answer as it was.
        """
        norm = self.norm
        admission = ADMISSION_RE.search(norm, committed.end)
        strong: re.Match[str] | None = admission
        weak: re.Match[str] | None = None
        for m in CORRECTION_OPENER_RE.finditer(norm, committed.end):
            if strong is not None and m.start() > strong.start():
                break
            window_end = min(self.sentence_end(m.end()), m.end() + _CHECK_WINDOW)
            if m.group("strong"):
                strong = m
                break
            if m.group("negation"):
                paused = WEAK_OPENER_RE.search(norm, m.end(), window_end)
                if paused is not None or ERROR_WORD_RE.search(norm, m.end(), window_end):
                    strong = m
                    break
                continue
            if weak is None and VERIFICATION_RE.search(norm, m.start(), window_end) is None:
                weak = m
            if weak is not None and admission is None:
                break
        if strong is None and weak is None:
            return committed
        first = min((m for m in (strong, weak) if m is not None), key=lambda m: m.start())
        revised = self.fallback(first.start(), len(norm), "last_number", fallback=True)
        if revised.error == NO_NUMBER:
            return committed
        if first is weak and revised.value == committed.value:
            return committed
        return revised

    def read(self) -> _Outcome:
        markers = self.markers()
        for k in range(len(markers) - 1, -1, -1):
            marker = markers[k]
            hi = markers[k + 1].start if k + 1 < len(markers) else len(self.norm)
            hi = max(hi, marker.end)
            outcome = (
                self.read_box(marker) if marker.kind == "boxed" else self.read_phrase(marker, hi)
            )
            if outcome is None:
                continue
            if outcome.value is None:
                return outcome
            return self.corrected(outcome)
        return self.fallback(0, len(self.norm), "last_number", fallback=True)


def _to_answer(outcome: _Outcome) -> ExtractedAnswer:
    if outcome.error is not None or outcome.value is None:
        method: AnswerMethod = outcome.method if outcome.raw is not None else "none"
        return ExtractedAnswer(None, outcome.raw, method, False, outcome.error or NO_NUMBER)
    return ExtractedAnswer(
        format_value(outcome.value), outcome.raw, outcome.method, outcome.fallback
    )


def extract_final_answer(
    text: str,
    lang: str | None = None,
    *,
    think_start: str = DEFAULT_THINK_START,
    think_end: str = DEFAULT_THINK_END,
) -> ExtractedAnswer:
    """Find the final numeric answer of a response written in `lang` (None = English rules).

    The thinking block between `think_start` and `think_end` is skipped (empty delimiters: no
    block). Raises UnknownLanguageError for an unknown language code.
    """
    style = style_for(lang)
    if not text or not text.strip():
        return ExtractedAnswer(None, None, "none", False, EMPTY)
    split = split_reasoning(text, think_start, think_end)
    if split.unclosed:
        return ExtractedAnswer(None, None, "none", False, UNCLOSED_REASONING)
    if not split.visible:
        return ExtractedAnswer(None, None, "none", False, REASONING_ONLY)
    norm = normalize(split.visible)
    if has_repetition_loop(norm):
        return ExtractedAnswer(None, None, "none", False, REPETITION_LOOP)
    return _to_answer(_Reader(split.visible, norm, style).read())
