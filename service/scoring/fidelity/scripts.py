"""Unicode scripts of letters, letter mass, and Latin names inside non-Latin text."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from typing import Final


def _category_classes() -> tuple[str, str]:
    """Regex class bodies of every combining mark (M*) and every format character (Cf) below
    U+20000, plus the tag characters U+E0000-U+E007F (re has no \\p{M}); one pass, ~0.2 s."""
    found: dict[str, list[str]] = {"M": [], "C": []}
    spans: dict[str, list[int]] = {"M": [-2, -2], "C": [-2, -2]}
    for cp in range(0x20000):
        category = unicodedata.category(chr(cp))
        kind = "M" if category[0] == "M" else "C" if category == "Cf" else None
        if kind is None:
            continue
        start, prev = spans[kind]
        if cp != prev + 1:
            if start >= 0:
                found[kind].append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = cp
        spans[kind] = [start, cp]
    for kind, (start, prev) in spans.items():
        found[kind].append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
    found["C"].append(f"{re.escape(chr(0xE0000))}-{re.escape(chr(0xE007F))}")
    return "".join(found["M"]), "".join(found["C"])


MARKS, FORMAT_CHARS = _category_classes()
SENTENCE_PUNCT: Final = ".!?;。！？；।॥"

# Letter mass per character: 2.75 per Han character, 1.5 per kana, 2.0 per Hangul syllable,
# 1 otherwise. The weights equalise parallel text (MGSM: 182 English letters ~ 66 Han characters
# ~ 26 Han + 71 kana per question), so a share means the same in every script.
WEIGHTS: Final = {"Hani": 2.75, "Kana": 1.5, "Hang": 2.0}
# Unicode character-name prefix -> ISO 15924 script code.
_NAME_PREFIX: Final = {
    "LATIN": "Latn",
    "CYRILLIC": "Cyrl",
    "GREEK": "Grek",
    "ARMENIAN": "Armn",
    "HEBREW": "Hebr",
    "ARABIC": "Arab",
    "DEVANAGARI": "Deva",
    "BENGALI": "Beng",
    "GURMUKHI": "Guru",
    "GUJARATI": "Gujr",
    "ORIYA": "Orya",
    "TAMIL": "Taml",
    "TELUGU": "Telu",
    "KANNADA": "Knda",
    "MALAYALAM": "Mlym",
    "SINHALA": "Sinh",
    "THAI": "Thai",
    "LAO": "Laoo",
    "TIBETAN": "Tibt",
    "MYANMAR": "Mymr",
    "GEORGIAN": "Geor",
    "HANGUL": "Hang",
    "ETHIOPIC": "Ethi",
    "KHMER": "Khmr",
    "TIFINAGH": "Tfng",
    "CJK": "Hani",
    "IDEOGRAPHIC": "Hani",  # 々 (iteration mark), 〇
    "HIRAGANA": "Kana",
    "KATAKANA": "Kana",
    "KATAKANA-HIRAGANA": "Kana",
    "HALFWIDTH": "Kana",  # NFKC maps half-width katakana; only leftovers land here
}
# Scripts written without spaces between words: each character is a copy-check token.
UNSPACED: Final = frozenset({"Hani", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})
# Scripts that several detector languages share: lingua decides between them.
SHARED_SCRIPTS: Final = frozenset({"Latn", "Cyrl", "Arab", "Deva"})
# The language a chunk of a single-language script is attributed to.
SCRIPT_LANG: Final = {
    "Beng": "bn",
    "Telu": "te",
    "Thai": "th",
    "Hang": "ko",
    "Grek": "el",
    "Hebr": "he",
    "Armn": "hy",
    "Geor": "ka",
    "Gujr": "gu",
    "Guru": "pa",
    "Taml": "ta",
    "Knda": "kn",
    "Mlym": "ml",
    "Orya": "or",
    "Sinh": "si",
    "Laoo": "lo",
    "Khmr": "km",
    "Mymr": "my",
    "Tibt": "bo",
    "Ethi": "am",
}


@functools.lru_cache(maxsize=65536)
def script_of(ch: str) -> str | None:
    """ISO 15924 code of a letter/mark, ``Zyyy`` for other letters, None for non-letters."""
    if not unicodedata.category(ch).startswith(("L", "M")):
        return None
    name = unicodedata.name(ch, "")
    prefix = name.split(" ", 1)[0]
    if prefix == "FULLWIDTH" or prefix == "MODIFIER":
        return "Latn" if "LATIN" in name else "Zyyy"
    return _NAME_PREFIX.get(prefix, "Zyyy")


def script_mass(text: str) -> defaultdict[str, float]:
    """Letter mass per script."""
    mass: defaultdict[str, float] = defaultdict(float)
    for ch in text:
        script = script_of(ch)
        if script is not None:
            mass[script] += WEIGHTS.get(script, 1.0)
    return mass


def script_only(text: str, script: str) -> str:
    """``text`` with the letters of every other script blanked out."""
    return "".join(ch if script_of(ch) in (script, None) else " " for ch in text)


# In a text whose target script is not Latin, Latin words that are capitalised (names kept in
# Latin script: "Sally Two", "iPhone"), all-caps (GB, USD) or one-two letters long (x, km, kg)
# are names, units and variables, not a language.
_LATIN_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ'’-]"
_LATIN_NAME_OR_UNIT = re.compile(
    rf"(?<![^\W\d_])(?:[A-Za-zÀ-ÖØ-öø-ÿ]?[A-ZÀ-ÖØ-Þ]{_LATIN_WORD}*|[A-Za-zÀ-ÖØ-öø-ÿ]{{1,2}})"
    r"(?![^\W\d_])"
)
# Names come one to three at a time ("Granny Red", "New York City"); four or more capitalised
# words in a row is Title Case or ALL CAPS prose, which is a language, so it is kept.
_CAPITALISED_RUN = re.compile(
    rf"(?<![^\W\d_])[A-ZÀ-ÖØ-Þ]{_LATIN_WORD}*(?:[ \t]+[A-ZÀ-ÖØ-Þ]{_LATIN_WORD}*){{3,}}"
)


def drop_latin_names(text: str) -> str:
    """Remove Latin-script names, acronyms, units and variables (for non-Latin targets)."""
    kept: list[str] = []
    pos = 0
    for run in _CAPITALISED_RUN.finditer(text):
        kept.append(_LATIN_NAME_OR_UNIT.sub(" ", text[pos : run.start()]))
        kept.append(run.group())
        pos = run.end()
    kept.append(_LATIN_NAME_OR_UNIT.sub(" ", text[pos:]))
    return "".join(kept)
