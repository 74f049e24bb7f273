"""Which languages a text is written in: scripts first, lingua for the scripts languages share.

Per chunk (sentences merged to ``chunk_min_letters`` of mass, never across lines), letters are
grouped by Unicode script. A script only one detector language uses (Bengali, Telugu, Thai,
Hangul, Greek...) names the language without a model; Han is Japanese when the chunk has kana
(``kana_min_share``), else Chinese; Latin, Cyrillic, Arabic and Devanagari are shared, so lingua
classifies those letters, among the languages *plausible* for the whole text (see analyse).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from service.scoring.fidelity.cleaning import clean_text
from service.scoring.fidelity.config import DEFAULT_FIDELITY, FidelityConfig
from service.scoring.fidelity.scripts import (
    SCRIPT_LANG,
    SENTENCE_PUNCT,
    SHARED_SCRIPTS,
    drop_latin_names,
    script_mass,
    script_only,
)
from service.scoring.languages import normalize_lang

if TYPE_CHECKING:
    from lingua import LanguageDetector

# Languages lingua chooses between (ISO 639-1): the 11 MGSM languages plus those a response in
# one of them is most often confused with or drifts into: Romance neighbours of es/fr, Germanic
# neighbours of de/en, Bantu and Austronesian neighbours of sw, Slavic neighbours of ru, the big
# Indic/Arabic-script languages and other languages common in LLM output. Not all 75 lingua
# languages: that costs ~40 MB and ~40 % more time, and its extra candidates add misreads (a
# Ukrainian sentence read as Kazakh with p = 1.0). Targets outside the set get the script and
# not-English checks (module docstring, gap b).
# fmt: off
DETECTOR_LANGUAGES: Final[tuple[str, ...]] = (
    "bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh",  # MGSM
    "it", "pt", "ca", "ro", "nl", "af", "da", "sv", "nb", "pl", "tr", "vi", "id", "ms", "tl",
    "zu", "xh", "so", "yo", "uk", "bg", "hi", "mr", "ar", "fa", "ur", "ko", "el", "he",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Detection:
    """The dominant language of a text.

    ``lang`` is a canonical code (:func:`service.scoring.languages.normalize_lang`), or None when the text
    has too few letters or lingua cannot tell. ``confidence`` is the mass-weighted probability
    of ``lang`` over the text's chunks (1.0 for a script only one language uses). ``shares``
    maps each detected language to its share of the letter mass, largest first; ``scripts`` does
    the same for Unicode scripts (``Latn``, ``Cyrl``, ``Hani``, ``Kana``...).
    """

    lang: str | None
    confidence: float
    letters: float
    shares: tuple[tuple[str, float], ...] = ()
    scripts: tuple[tuple[str, float], ...] = ()


# --------------------------------------------------------------------------------------------
# Chunks

_SENTENCE_END = re.compile(rf"(?<=[{SENTENCE_PUNCT}])\s+")


def _chunks(text: str, min_mass: float) -> list[str]:
    """Each line's sentences, merged forward until each chunk has ``min_mass`` of letters.

    Lines are natural code-switching boundaries, so chunks never cross them: a short last
    sentence joins the chunk before it in its line ("... Bauernmarkt. Die Antwort lautet 18."),
    and a line that is short as a whole ("Antwort: 18", "So the answer is 18.") is a chunk of its
    own. Merging it into a neighbour could flip that neighbour's language; alone, a misread
    costs only its own small mass.
    """
    chunks: list[str] = []
    for line in text.split("\n"):
        line_chunks: list[str] = []
        current: list[str] = []
        mass = 0.0
        for sentence in _SENTENCE_END.split(line.strip()):
            if not sentence:
                continue
            current.append(sentence)
            mass += sum(script_mass(sentence).values())
            if mass >= min_mass:
                line_chunks.append(" ".join(current))
                current, mass = [], 0.0
        if current and line_chunks:
            line_chunks[-1] += " " + " ".join(current)
        elif current:
            line_chunks.append(" ".join(current))
        chunks.extend(line_chunks)
    return chunks


# --------------------------------------------------------------------------------------------
# lingua

_detector: LanguageDetector | None = None
_detector_lock = threading.Lock()


def _get_detector() -> LanguageDetector:
    """The shared lingua detector, built once (double-checked lock; reads are thread-safe)."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                languages = [
                    Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                    for code in DETECTOR_LANGUAGES
                ]
                # Low-accuracy mode (trigram models only): ~40 MB RSS instead of ~700 MB, ~4x
                # faster, and accurate enough on the >= 40-letter chunks we classify (100 % on
                # MGSM, see tests/data). Preloading all its models takes ~0.15 s once, so no
                # request pays per-language loads.
                _detector = (
                    LanguageDetectorBuilder.from_languages(*languages)
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build()
                )
    return _detector


def warm_up() -> None:
    """Build the detector now (e.g. at service start) instead of on the first request."""
    _get_detector()


def _probabilities(text: str) -> list[tuple[str, float]]:
    """lingua's probability per language for ``text``, most likely first."""
    # lingua's ISO 639-1 codes for DETECTOR_LANGUAGES are the registry's canonical codes.
    return [
        (v.language.iso_code_639_1.name.lower(), float(v.value))
        for v in _get_detector().compute_language_confidence_values(text)
    ]


def _vote(
    probs: Sequence[tuple[str, float]],
    plausible: frozenset[str] | None,
    expected: str | None,
    doubt: float,
) -> tuple[str, float]:
    """The language of one chunk and its probability (``und`` when lingua has no idea).

    The chunk's language is chosen among the ``plausible`` ones when any of them has a non-zero
    probability (see analyse), otherwise it is lingua's top pick. Then the expected language
    wins if its probability is at least ``doubt`` times the winner's: lingua is sharp on long
    chunks, so this only gives short, genuinely ambiguous ones the benefit of the doubt.
    """
    ranked = [(lang, p) for lang, p in probs if plausible is None or lang in plausible]
    if not ranked or ranked[0][1] <= 0:
        ranked = list(probs)
    if not ranked or ranked[0][1] <= 0:
        return UNDETERMINED, 0.0
    top, p_top = ranked[0]
    total = sum(p for _, p in ranked)
    if doubt > 0 and expected is not None and expected != top:
        p_expected = next((p for lang, p in ranked if lang == expected), 0.0)
        if p_expected >= doubt * p_top:
            return expected, p_expected / total
    return top, p_top / total


DETECTOR_SET: Final = frozenset(DETECTOR_LANGUAGES)
UNDETERMINED: Final = "und"
_PLAUSIBLE_MIN: Final = 0.01  # whole-text probability that makes a language plausible


# --------------------------------------------------------------------------------------------
# Attribution of letter mass to languages


@dataclass(frozen=True, slots=True)
class Analysis:
    letters: float
    by_lang: dict[str, float]  # letter mass per language ("und": lingua had no answer)
    weighted: dict[str, float]  # letter mass x probability, per language
    scripts: dict[str, float]  # letter mass per script


def analyse(
    cleaned: str, config: FidelityConfig, *, drop_names: bool, expected: str | None
) -> Analysis:
    """Attribute every chunk's letter mass to languages: scripts first, lingua for shared ones.

    lingua's low-accuracy mode misreads some sentences as a neighbour (a Swahili sentence as
    Tagalog with p = 0.995) although it reads the whole text right. So a chunk's language is
    chosen among the *plausible* ones: those lingua sees in the whole text (p >= 0.01), the
    expected language and the reference language (English, the usual drift). A chunk whose
    plausible languages all have probability 0 keeps lingua's own pick.
    """
    text = drop_latin_names(cleaned) if drop_names else cleaned
    by_lang: defaultdict[str, float] = defaultdict(float)
    weighted: defaultdict[str, float] = defaultdict(float)
    scripts: defaultdict[str, float] = defaultdict(float)
    pieces: list[tuple[str, float, list[tuple[str, float]]]] = []  # shared-script chunk parts
    for chunk in _chunks(text, config.chunk_min_letters):
        mass = script_mass(chunk)
        for script, m in mass.items():
            scripts[script] += m
        kana = mass.pop("Kana", 0.0)
        cjk = mass.pop("Hani", 0.0) + kana
        if cjk:
            lang = "ja" if kana >= config.kana_min_share * cjk else "zh"
            by_lang[lang] += cjk
            weighted[lang] += cjk
        for script, m in mass.items():
            if script in SHARED_SCRIPTS:
                # Only this script's letters go to lingua, so an English sentence merged into
                # a Thai chunk is judged as English, not swept along with the Thai.
                pieces.append((script, m, _probabilities(script_only(chunk, script))))
            else:
                lang = SCRIPT_LANG.get(script, UNDETERMINED)
                by_lang[lang] += m
                weighted[lang] += m
    base = {normalize_lang(config.reference_lang)} | ({expected} if expected else set())
    plausible: dict[str, frozenset[str]] = {}
    for script in {s for s, _, _ in pieces}:
        tops = [probs[0][0] for s, _, probs in pieces if s == script and probs]
        # One more lingua pass over the whole text, only when several chunks are in this
        # script and some chunk disagrees with the expected/reference language.
        if len(tops) > 1 and any(top not in base for top in tops):
            seen = _probabilities(script_only(text, script))
            plausible[script] = frozenset({lang for lang, p in seen if p >= _PLAUSIBLE_MIN} | base)
    for script, m, probs in pieces:
        lang, p = _vote(probs, plausible.get(script), expected, config.benefit_of_doubt)
        by_lang[lang] += m
        weighted[lang] += m * p
    return Analysis(sum(scripts.values()), dict(by_lang), dict(weighted), dict(scripts))


def shares(values: dict[str, float], total: float) -> tuple[tuple[str, float], ...]:
    """Values as shares of ``total``, largest first (ties by key: deterministic)."""
    items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple((k, round(v / total, 4)) for k, v in items if v > 0 and total > 0)


def dominant(analysis: Analysis) -> tuple[str | None, float]:
    """The language with the most letter mass and its mass-weighted probability."""
    ranked = [(k, v) for k, v in shares(analysis.by_lang, analysis.letters) if k != UNDETERMINED]
    if not ranked:
        return None, 0.0
    lang = ranked[0][0]
    return lang, round(min(1.0, analysis.weighted.get(lang, 0.0) / analysis.letters), 4)


def detect_language(text: str, *, min_letters: int = DEFAULT_FIDELITY.min_letters) -> Detection:
    """Dominant language of ``text`` after cleaning (None when it has < ``min_letters`` of mass)."""
    analysis = analyse(clean_text(text), DEFAULT_FIDELITY, drop_names=False, expected=None)
    total = analysis.letters
    scripts = shares(analysis.scripts, total)
    if total < min_letters:
        return Detection(None, 0.0, round(total, 2), scripts=scripts)
    lang, confidence = dominant(analysis)
    return Detection(lang, confidence, round(total, 2), shares(analysis.by_lang, total), scripts)
