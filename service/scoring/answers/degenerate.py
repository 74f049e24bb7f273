"""Degenerate rollouts: repetition loops and texts cut off mid-sentence."""

from __future__ import annotations

import re
from typing import Final

from service.scoring.answers.lexicon import (
    CJK_CONNECTIVE_RE,
    DANGLING_CHARS,
    DANGLING_WORD_RE,
    TERMINAL_CHARS,
    THAI_CONTINUATION_RE,
    TRAILING_CLOSERS,
    TRAILING_OK_RE,
)

_LOOP_WINDOW: Final = 4000
_LOOP_MAX_PERIOD: Final = 400
_LOOP_MIN_REPEATS: Final = 4
_LOOP_MIN_CHARS: Final = 40
_WS_RE: Final = re.compile(r"\s+")
SENTENCE_END_RE: Final = re.compile(r"[!?。।॥…\n]|\.(?=[\s\"'”’*)\]]|$)")
_TEX_COMMAND_RE: Final = re.compile(r"\\[A-Za-z]+|[{}]")
_UNIT_TAIL_MAX_CHARS: Final = 12
_CJK_TAIL_MAX_CHARS: Final = 12
_THAI_TAIL_MAX_CHARS: Final = 40
_THAI_RE: Final = re.compile(r"[\u0e00-\u0e7f]")
_CJK_RE: Final = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def has_repetition_loop(norm: str) -> bool:
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


def last_sentence_start(text: str, before: int, lo: int = 0) -> int:
    """Start of the sentence containing position `before` (sentences end at . ! ? 。 newline)."""
    start = lo
    for m in SENTENCE_END_RE.finditer(text, lo, before):
        start = m.end()
    return start


def _thai_tail_truncated(tail: str) -> bool:
    """Thai has no full stop: after a number come a classifier/unit and maybe a short phrase
    ("27 ฟอง ในตะกร้า"); a chunk that continues the arithmetic ("รวมกับ...") was cut off."""
    chunks = tail.split()
    if len(tail) > _THAI_TAIL_MAX_CHARS:
        return True
    return any(THAI_CONTINUATION_RE.match(chunk) for chunk in chunks[1:])


def looks_truncated(segment: str, last_end: int | None) -> bool:
    """Heuristic for a rollout cut off mid-sentence.

    `segment` is the end of the text being read; `last_end` the end of its last number
    (relative to `segment`), None when it has none.
    """
    core = segment.rstrip(TRAILING_CLOSERS)
    if not core:
        return True
    if core[-1] in DANGLING_CHARS or core.endswith(("\\times", "\\cdot", "\\div")):
        return True
    if core[-1] in TERMINAL_CHARS:
        return False
    # unterminated: fine only if the final fragment ends with a number and maybe a short unit
    fragment_start = last_sentence_start(core, len(core))
    if last_end is None or last_end <= fragment_start:
        return True
    tail = _TEX_COMMAND_RE.sub(" ", core[last_end:]).strip()
    if not tail:
        return False
    if any(c in tail for c in ",;:、，"):  # a new clause started after the number
        return True
    if DANGLING_WORD_RE.search(tail) is not None:
        return True
    if _THAI_RE.search(tail):
        return _thai_tail_truncated(tail)
    if _CJK_RE.search(tail):
        return len(tail) > _CJK_TAIL_MAX_CHARS or CJK_CONNECTIVE_RE.search(tail) is not None
    words = tail.split()
    if len(words) > 2 or len(tail) > _UNIT_TAIL_MAX_CHARS + 8:
        return True
    if len(words) == 2:  # "12 apples left" ends; "36 students pay" was cut off
        return TRAILING_OK_RE.fullmatch(words[1].strip(".")) is None
    return len(tail) > _UNIT_TAIL_MAX_CHARS
