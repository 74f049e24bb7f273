"""What the gate reads: the prose of a response (for the language) and all of its letters (for copies).

Two views of one text, both after :func:`normalize` (NFKC, invisible characters removed, overlay
marks on Latin/Cyrillic/Greek letters dropped, homoglyphs inside mixed-script words folded):

- :func:`clean_text`, the *prose*: what a reader takes for language. Digits, symbols, URLs, code
  and LaTeX carry none and are removed, but prose hidden *inside* them is kept: lines of fenced or
  inline code that read as sentences (and comments and string literals of ≥ 3 words), the words of
  ``\\text{...}`` and of math that reads as a sentence, the values of HTML attributes. So a
  reference pasted inside a code fence or ``$$\\text{..}$$`` is judged as the English it is, while
  ``stunden = 35`` or ``\\frac{30}{10}`` still says nothing.
- :func:`reveal_text`, *everything*: every letter of the text, LaTeX command names excepted, for
  the copy check, which must see a paste wherever it is hidden.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Final

from confusable_homoglyphs.confusables import confusables_data

from service.scoring.fidelity.scripts import FORMAT_CHARS, MARKS, SENTENCE_PUNCT, script_of

# --------------------------------------------------------------------------------------------
# Normalisation

_OVERLAID_BASES: Final = frozenset({"Latn", "Cyrl", "Grek"})
_CASE_SCRIPTS: Final = ("Latn", "Cyrl", "Grek")


def _homoglyph_tables() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Cyrillic/Greek letters that look like a Latin letter (Unicode's confusables, via
    confusable_homoglyphs), and per script the reverse map from a Latin letter to a lookalike."""
    to_latin: dict[str, str] = {}
    for char, glyphs in confusables_data.items():
        if len(char) != 1 or script_of(char) not in ("Cyrl", "Grek"):
            continue
        for glyph in glyphs:
            target = glyph["c"]
            if len(target) == 1 and target.isascii() and target.isalpha():
                to_latin[char] = target
                break
    from_latin: dict[str, dict[str, str]] = {"Cyrl": {}, "Grek": {}}
    for char, latin in sorted(to_latin.items()):
        from_latin[str(script_of(char))].setdefault(latin, char)
    return to_latin, from_latin


TO_LATIN, _FROM_LATIN = _homoglyph_tables()
_SKELETON: Final = str.maketrans(TO_LATIN)
# A Latin letter that some Cyrillic (or Greek) letter imitates, per script.
_IMITATED: Final = {script: frozenset(table) for script, table in _FROM_LATIN.items()}
_LETTER_RUN = re.compile(rf"[^\W\d_][\w{MARKS}]*")


def skeleton(text: str) -> str:
    """``text`` with every Cyrillic/Greek lookalike of a Latin letter replaced by that letter."""
    return text.translate(_SKELETON)


def _confusable(ch: str, script: str, other: str) -> bool:
    """Whether letter ``ch`` of ``script`` has a lookalike in ``other`` (one of them Latin)."""
    if script == "Latn":
        return ch in _IMITATED.get(other, frozenset())
    return ch in TO_LATIN and other == "Latn"


def _word_script(word: str) -> str | None:
    """The script a mixed Latin/Cyrillic/Greek word is really written in, or None if unclear.

    A letter without a lookalike in the other script gives the word away ("tһе": t has no
    Cyrillic twin, so the word is Latin with two Cyrillic homoglyphs).
    """
    scripts = {s for ch in word if (s := script_of(ch)) in _CASE_SCRIPTS}
    if len(scripts) != 2 or "Latn" not in scripts:
        return None
    other = next(s for s in scripts if s != "Latn")
    telling: set[str] = set()
    for ch in word:
        script = script_of(ch)
        if script in scripts and not _confusable(ch, script, other if script == "Latn" else "Latn"):
            telling.add(script)
    return next(iter(telling)) if len(telling) == 1 else None


def _fold_word(word: str, script: str) -> str:
    if script == "Latn":
        return word.translate(_SKELETON)
    table = _FROM_LATIN.get(script, {})
    return "".join(table.get(ch, ch) if script_of(ch) == "Latn" else ch for ch in word)


def _fold_homoglyphs(text: str) -> str:
    """Write each mixed Latin/Cyrillic/Greek word in its one real script.

    Words whose letters all have lookalikes ("Тне") follow the script most of the text's telling
    words are in, so an English text with Cyrillic lookalikes reads as English again.
    """
    words = list(_LETTER_RUN.finditer(text))
    decided: dict[int, str | None] = {}
    votes: dict[str, int] = {}
    for i, m in enumerate(words):
        scripts = {script_of(ch) for ch in m.group()} & set(_CASE_SCRIPTS)
        if len(scripts) < 2:
            continue
        decided[i] = script = _word_script(m.group())
        if script is not None:
            votes[script] = votes.get(script, 0) + len(m.group())
    if not decided:
        return text
    fallback = max(sorted(votes), key=lambda s: votes[s]) if votes else "Latn"
    out: list[str] = []
    pos = 0
    for i, script in decided.items():
        m = words[i]
        out.append(text[pos : m.start()])
        out.append(_fold_word(m.group(), script or fallback))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


_FORMAT_CHARS = re.compile(f"[{FORMAT_CHARS}]+")
_MARK_RUN = re.compile(f"(^|[^{MARKS}])([{MARKS}]+)")


def _keep_marks(match: re.Match[str]) -> str:
    base = match.group(1)
    if not base or script_of(base) is None or script_of(base) in _OVERLAID_BASES:
        return base
    return match.group()


def _drop_invisible(text: str) -> str:
    """Remove format characters (zero-width spaces and joiners, soft hyphens, bidi controls,
    tag characters) and combining marks stacked on Latin/Cyrillic/Greek letters (strike-through,
    variation selectors; NFKC has already composed every real accent of those scripts) or on
    non-letters (a mark on a space or punctuation is never part of a word)."""
    return _MARK_RUN.sub(_keep_marks, _FORMAT_CHARS.sub("", text))


# Single letters split by one separator ("T h e", "t.r.a.i.n"): written that way to hide words.
_SPACED_LETTERS = re.compile(
    r"(?<![^\W\d_])(?:[A-Za-zÀ-ɏͰ-ϿЀ-ӿ][ .·*_~-]){2,}[A-Za-zÀ-ɏͰ-ϿЀ-ӿ](?![^\W\d_])"
)


def _join_spaced_letters(text: str) -> str:
    return _SPACED_LETTERS.sub(lambda m: re.sub(r"[ .·*_~-]", "", m.group()), text)


@functools.lru_cache(maxsize=16)  # the gate reads one text in several views
def normalize(text: str) -> str:
    """NFKC, invisible characters out, homoglyphs folded, spaced-out letters joined."""
    text = unicodedata.normalize("NFKC", text)  # full-width and math-styled letters -> plain
    return _join_spaced_letters(_fold_homoglyphs(_drop_invisible(text)))


# --------------------------------------------------------------------------------------------
# Prose inside code and math

_FENCED_CODE = re.compile(r"```(.*?)(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_DISPLAY_MATH = re.compile(r"\$\$(.*?)\$\$|\\\[(.*?)\\\]|\\\((.*?)\\\)", re.S)
# Pandoc's rule for inline math: the opening $ is followed by a non-space, the closing $ is
# preceded by a non-space and not followed by a digit. That keeps prices ("costs $5 and $3")
# from swallowing the prose between them.
_INLINE_MATH = re.compile(r"\$(?=\S)([^$\n]{1,300}?)(?<=\S)\$(?!\d)")
_MATH_ENVS = re.compile(
    r"\\begin\{(equation|align|aligned|gather|multline|eqnarray|array|[pbvBV]?matrix|cases)\*?\}"
    r"(.*?)\\end\{\1\*?\}",
    re.S,
)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+\*?|\\.")
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_TAG = re.compile(r"<\|[^|>]{0,64}\|>|</?[A-Za-z][\w-]{0,30}(?:\s[^<>]{0,2000})?/?>")
_ATTRIBUTE_VALUE = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")

# A line of code: an assignment, a call, an operator of code, brackets at its ends, or a
# block keyword ending in a colon. Prose with "=" ("so it covers 80 × 2.5 = 200 km") is none.
_CODE_LINE = re.compile(
    r"^\s*[A-Za-z_][\w.\[\]'\"]*\s*(?:[-+*/%&|^]|//|\*\*)?=(?!=)"
    r"|[A-Za-z_]\w*\("
    r"|==|!=|<=|>=|->|=>|::|&&|\|\|"
    r"|[;{}\[(]\s*$|^\s*[{}\])]"
    r"|^\s*(?:for|while|if|elif|else|def|class|try|except|finally|with)\b.*:\s*$"
    r"|^\s*[#@][A-Za-z]"
)
_COMMENT = re.compile(r"(?:^|\s)(?:#|//|--|/\*|;;|%)\s+(.*?)(?:\*/)?\s*$")
_STRING = re.compile(r"\"([^\"\n]+)\"|'([^'\n]+)'")
_PROSE_WORD = re.compile(r"[^\W\d_]{2,}")


def _is_prose(text: str) -> bool:
    """At least three words, or a run of unspaced-script letters (Chinese, Thai) worth a phrase."""
    if len(_PROSE_WORD.findall(text)) >= 3:
        return True
    return sum(1 for ch in text if script_of(ch) in ("Hani", "Kana", "Thai")) >= 4


def _prose_of_code(code: str) -> str:
    """The sentences of a code block: prose lines, and comments/strings of code lines."""
    kept: list[str] = []
    for line in code.splitlines():
        if not _CODE_LINE.search(line):
            if _is_prose(line):
                kept.append(line)
            continue
        comment = _COMMENT.search(line)
        parts = [comment.group(1)] if comment else []
        code_part = line[: comment.start()] if comment else line
        parts += [a or b for a, b in _STRING.findall(code_part)]
        kept.extend(part for part in parts if _is_prose(part))
    return "\n".join(kept)


def _fenced(match: re.Match[str]) -> str:
    body = match.group(1)
    first, newline, rest = body.partition("\n")
    if newline and re.fullmatch(r"[\w+#.-]*", first.strip()):
        body = rest  # ```python / ```text: a language tag, not content
    return "\n" + _prose_of_code(body) + "\n"


def _math_prose(math: str) -> str:
    """The words of a math span when they read as a sentence, else nothing."""
    words = _LATEX_CMD.sub(" ", math)
    return " " + words + " " if _is_prose(words) else " "


def _braced_spans(text: str, opener: re.Pattern[str], keep: Callable[[str], str]) -> str:
    """Replace ``\\cmd{...}`` (balanced braces, which regexes cannot match) by ``keep(inside)``."""
    out: list[str] = []
    pos = 0
    for m in opener.finditer(text):
        if m.start() < pos:
            continue
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append(text[pos : m.start()])
        out.append(keep(text[m.end() : i - 1]))
        pos = i
    out.append(text[pos:])
    return "".join(out)


def _tag_values(match: re.Match[str]) -> str:
    return " " + " ".join(a or b for a, b in _ATTRIBUTE_VALUE.findall(match.group())) + " "


def _group_text(match: re.Match[str]) -> str:
    return next((g for g in match.groups() if g is not None), "")


# --------------------------------------------------------------------------------------------
# The two views

_NON_TEXT = re.compile(rf"[^\w\s{MARKS}{SENTENCE_PUNCT}]|[\d_]")
_NON_LETTER = re.compile(rf"[^\w\s{MARKS}]|[\d_]")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def _lines(text: str) -> str:
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def clean_text(text: str) -> str:
    """The prose of ``text``: words and sentence ends; code, math, markup, digits and symbols out
    (except the prose they wrap, see the module docstring)."""
    text = normalize(text)
    text = text.replace("\\$", " ")  # an escaped dollar is a price, never a math delimiter
    text = _FENCED_CODE.sub(_fenced, text)
    text = _MATH_ENVS.sub(lambda m: _math_prose(m.group(2)), text)
    text = _DISPLAY_MATH.sub(lambda m: _math_prose(_group_text(m)), text)
    text = _braced_spans(text, _BOXED, _math_prose)
    text = _INLINE_MATH.sub(lambda m: _math_prose(m.group(1)), text)
    text = _INLINE_CODE.sub(lambda m: " " + _prose_of_code(m.group(1)) + " ", text)
    text = _URL.sub(" ", text)
    text = _TAG.sub(_tag_values, text)
    text = _MD_LINK.sub(r"\1", text)
    text = _LATEX_CMD.sub(" ", text)
    # Decimal points and list numbering ("1. Schritt") are not sentence ends: drop periods that
    # touch a digit before digits go.
    text = re.sub(r"(?<=\d)[.,](?=\d)|(?<=\d)\.", " ", text)
    return _lines(_NON_TEXT.sub(" ", text))


def reveal_text(text: str) -> str:
    """Every letter of ``text`` (LaTeX command names excepted), lines kept, for the copy check."""
    text = _LATEX_CMD.sub(" ", normalize(text))
    return _lines(_NON_LETTER.sub(" ", text))
