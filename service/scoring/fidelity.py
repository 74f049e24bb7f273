"""Language fidelity: is a rollout written in its target language, and is it not a pasted reference?

A policy rewarded for similarity to an English reference drifts towards answering in English or
pasting the reference. :func:`check_fidelity` catches both; :func:`detect_language` is the plain
detector. Pure functions, no I/O, deterministic and thread-safe; the only shared state is the
lingua detector, built once on first use (or by :func:`warm_up`) under a lock.

How a response is judged (all thresholds live in :class:`FidelityConfig`):

1. **Cleaning.** Math rollouts are mostly digits, LaTeX and markdown, which carry no language:
   fenced/inline code, ``$..$``/``$$..$$``/``\\(..\\)``/``\\[..\\]`` math, ``\\boxed{..}``,
   LaTeX commands, URLs, chat-template tags, digits of every script and symbols are removed.
2. **Mass.** What is left is measured in *letter mass*: one per letter (combining marks
   included, so Indic and Thai count like alphabets), 2.75 per Han character, 1.5 per kana and
   2.0 per Hangul syllable. The weights equalise parallel text (MGSM: 182 English letters ~ 66 Han
   characters ~ 26 Han + 71 kana per question), so a share means the same in every script.
   Fewer than ``min_letters`` of mass is **undetermined** (numbers-only answers, "答案是 18"),
   which passes by default: a short numeric answer is not evidence of the wrong language.
3. **Chunks.** Each line of the cleaned text is cut into sentences, merged until each has at
   least ``chunk_min_letters`` of mass (short sentences such as "Raymond und Samantha sind
   Cousins." are unreliable alone); chunks never cross lines. Code-switching is measured per chunk, so an answer that is 60 % English
   with a German last line gets ``target_share`` ~ 0.4 and fails.
4. **Scripts first, lingua for shared scripts.** Per chunk, letters are grouped by Unicode
   script. The target language's script comes from its FLORES-200 code (``ben_Beng``,
   ``jpn_Jpan``...). Letters of a script that only the target uses among the detector's
   languages (Bengali, Telugu, Thai, Hangul, Greek, ...) count as target without a model; letters
   of any other script are foreign. Han is shared by Chinese and Japanese: a chunk with kana (at
   least ``kana_min_share`` of its CJK mass) is Japanese, one without is Chinese, so Japanese is
   never rejected as Chinese for its kanji and kana-heavy text never passes as Chinese. Latin,
   Cyrillic, Arabic and Devanagari are shared by many languages, so lingua classifies those
   chunks (over :data:`DETECTOR_LANGUAGES`: the MGSM languages plus confusables).
   lingua's low-accuracy mode misreads some sentences as a neighbour (a Swahili sentence as
   Tagalog, p = 0.995) though it reads the whole text right, so a chunk's language is chosen
   among the *plausible* ones: those lingua sees in the whole text (p >= 0.01), the expected
   language and the reference language (English). When lingua hesitates on a chunk, the
   expected language wins if it has at least ``benefit_of_doubt`` of the winner's probability,
   and a response shorter than one chunk that lingua places with probability below
   ``short_text_confidence`` is undetermined, not wrong.
   For non-Latin targets, Latin names, acronyms, units and variables ("Sally Two", GB, km, x)
   are ignored.
5. **Copy check.** ``copy_overlap`` is the share of the response's tokens covered by an n-gram
   (``copy_ngram`` = 5 tokens; a token is a word, or one character in scripts written without
   spaces: Han, kana, Thai, Lao, Khmer, Myanmar) that also occurs in the reference. Numbers and
   math are removed first, since a faithful translation keeps every number of the reference.
   A response that pastes the reference fails even if a few target-language words are added.
   When the target language IS the reference language (English by default), an independent
   answer legitimately shares phrases with the reference, so only near-total copies fail
   (``max_copy_overlap_same_language`` = 0.9): in these recipes the policy never sees the
   reference, so a verbatim copy means the reference leaked (prompt or memorisation) and its
   similarity reward would be unearned.

Order of verdicts: ``disabled`` > ``empty``/``undetermined`` > ``copied_reference`` >
``wrong_language`` > ``ok``. Only ``ok`` (and, when configured to pass, ``empty`` and
``undetermined``) pass.

Known gaps. (a) Code-switching into a third language that is neither the target nor English
is only measured when lingua sees that language in the whole text; lingua's whole-text
probabilities are sharp, so a minority third language (e.g. 45 % French in a German answer) is
counted as target; English and other-script mixing are always measured. (b) Target languages
outside :data:`DETECTOR_LANGUAGES` (Galician, Finnish, Serbian...) are checked for their script,
and what lingua calls English is foreign for them, but other same-script languages pass. (c) A
script shared only with languages outside the detector (Assamese for Bengali) is not told
apart. (d) PASMR rollouts that start with the English question between delimiters must have that
part removed before the check.

Cost (lingua low-accuracy mode, 40 languages preloaded): ~50 MB RSS with lingua's import and
~0.15 s to build on first use (call :func:`warm_up` at startup); ~0.25 ms per short answer and
~2-2.6 ms per 1,600-character LaTeX rollout, single-threaded (lingua holds the GIL, threads do
not add throughput). High-accuracy mode needs ~700 MB for the same languages.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from service.scoring.languages import normalize_lang, to_flores

if TYPE_CHECKING:
    from lingua import LanguageDetector

__all__ = [
    "DEFAULT_FIDELITY",
    "DETECTOR_LANGUAGES",
    "Detection",
    "FidelityConfig",
    "FidelityReason",
    "FidelityResult",
    "check_fidelity",
    "clean_text",
    "copy_overlap",
    "detect_language",
    "warm_up",
]

FidelityReason = Literal[
    "ok", "wrong_language", "copied_reference", "undetermined", "empty", "disabled"
]

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
class FidelityConfig:
    """Thresholds of the fidelity check (defaults tuned on MGSM, see tests/data)."""

    enabled: bool = True
    """False: every response passes with reason ``disabled`` (nothing is computed)."""
    min_target_share: float = 0.6
    """Share of the response's letter mass that must be in the target language."""
    max_copy_overlap: float = 0.5
    """Above this copy_overlap with a reference in another language: ``copied_reference``."""
    max_copy_overlap_same_language: float = 0.9
    """Same, when the target language is ``reference_lang`` (only near-total copies fail)."""
    reference_lang: str = "en"
    """Language of the references (the pivot); selects the copy threshold."""
    copy_ngram: int = 5
    """Tokens per n-gram in the copy check (words, or characters of unspaced scripts)."""
    min_letters: int = 12
    """Below this letter mass (after cleaning) the language is ``undetermined``."""
    undetermined_passes: bool = True
    """Whether ``undetermined`` and ``empty`` responses pass (True: don't punish short answers)."""
    chunk_min_letters: int = 40
    """Sentences are merged into chunks of at least this mass before classification."""
    benefit_of_doubt: float = 0.5
    """A chunk lingua gives to another language still counts as the target's when the target's
    probability is at least this fraction of the winner's (0 disables; see _vote)."""
    short_text_confidence: float = 0.5
    """A response shorter than ``chunk_min_letters`` whose language lingua gives less than this
    probability is ``undetermined`` rather than ``wrong_language``."""
    kana_min_share: float = 0.05
    """A CJK chunk is Japanese when kana are at least this share of its CJK mass."""

    def __post_init__(self) -> None:
        for name in (
            "min_target_share",
            "max_copy_overlap",
            "max_copy_overlap_same_language",
            "benefit_of_doubt",
            "short_text_confidence",
            "kana_min_share",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"FidelityConfig.{name} must be in [0, 1]")
        if self.copy_ngram < 1 or self.min_letters < 0 or self.chunk_min_letters < 1:
            raise ValueError(
                "FidelityConfig: copy_ngram and chunk_min_letters >= 1, min_letters >= 0"
            )
        normalize_lang(self.reference_lang)  # UnknownLanguageError for a bad code


DEFAULT_FIDELITY: Final = FidelityConfig()


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


@dataclass(frozen=True, slots=True)
class FidelityResult:
    """Verdict of :func:`check_fidelity`; every field is safe to log."""

    passed: bool
    reason: FidelityReason
    expected_lang: str
    detected_lang: str | None
    confidence: float
    target_share: float
    """Share of the response's letter mass in the expected language (0 when undetermined)."""
    copy_overlap: float
    """Share of the response's letter mass inside n-grams shared with the reference (0 without
    one)."""
    letters: float


# --------------------------------------------------------------------------------------------
# Cleaning

_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\\(.*?\\\)", re.S)
# Pandoc's rule for inline math: the opening $ is followed by a non-space, the closing $ is
# preceded by a non-space and not followed by a digit. That keeps prices ("costs $5 and $3")
# from swallowing the prose between them.
_INLINE_MATH = re.compile(r"\$(?=\S)[^$\n]{1,300}?(?<=\S)\$(?!\d)")
_MATH_ENVS = re.compile(
    r"\\begin\{(equation|align|gather|multline|eqnarray|array|[pbvBV]?matrix|cases)\*?\}"
    r".*?\\end\{\1\*?\}",
    re.S,
)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+\*?|\\.")
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_TAG = re.compile(r"<\|[^|>]{0,64}\|>|</?[A-Za-z][\w-]{0,30}(?:\s[^<>]{0,200})?/?>")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")


def _mark_ranges() -> str:
    """A regex class body of every combining mark below U+20000 (re has no \\p{M})."""
    ranges: list[str] = []
    start = prev = -2
    for cp in range(0x20000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if cp != prev + 1:
                if start >= 0:
                    ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
                start = cp
            prev = cp
    ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
    return "".join(ranges)


_MARKS: Final = _mark_ranges()
_SENTENCE_PUNCT: Final = ".!?;。！？；।॥"
# A "letter" for us: any letter or combining mark (Indic vowel signs, Thai tone marks); \w
# alone would drop the marks and cut Devanagari words to pieces.
_NON_TEXT = re.compile(rf"[^\w\s{_MARKS}{_SENTENCE_PUNCT}]|[\d_]")
_WORD = re.compile(rf"[^\s{_SENTENCE_PUNCT}]+")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def _drop_braced(text: str, opener: re.Pattern[str]) -> str:
    """Remove ``\\cmd{...}`` with balanced braces (regexes cannot match nested braces)."""
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
        out.append(" ")
        pos = i
    out.append(text[pos:])
    return "".join(out)


def clean_text(text: str) -> str:
    """Strip code, math, LaTeX, markdown, URLs, digits and symbols; keep words and sentence ends."""
    text = unicodedata.normalize("NFKC", text)  # full-width Latin/digits -> ASCII
    text = _FENCED_CODE.sub("\n", text)
    text = _MATH_ENVS.sub(" ", text)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _drop_braced(text, _BOXED)
    text = _INLINE_MATH.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _LATEX_CMD.sub(" ", text)
    # Decimal points and list numbering ("1. Schritt") are not sentence ends: drop periods that
    # touch a digit before digits go.
    text = re.sub(r"(?<=\d)[.,](?=\d)|(?<=\d)\.", " ", text)
    text = _NON_TEXT.sub(" ", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# --------------------------------------------------------------------------------------------
# Scripts

# Letter mass per character (see the module docstring for the MGSM calibration).
_WEIGHTS: Final = {"Hani": 2.75, "Kana": 1.5, "Hang": 2.0}
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
_UNSPACED: Final = frozenset({"Hani", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})
# Scripts that several DETECTOR_LANGUAGES share: lingua decides between them.
_SHARED_SCRIPTS: Final = frozenset({"Latn", "Cyrl", "Arab", "Deva"})
# The language a chunk of a single-language script is attributed to by detect_language().
_SCRIPT_LANG: Final = {
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
def _script_of(ch: str) -> str | None:
    """ISO 15924 code of a letter/mark, ``Zyyy`` for other letters, None for non-letters."""
    if not unicodedata.category(ch).startswith(("L", "M")):
        return None
    name = unicodedata.name(ch, "")
    prefix = name.split(" ", 1)[0]
    if prefix == "FULLWIDTH" or prefix == "MODIFIER":
        return "Latn" if "LATIN" in name else "Zyyy"
    return _NAME_PREFIX.get(prefix, "Zyyy")


def _script_mass(text: str) -> defaultdict[str, float]:
    """Letter mass per script."""
    mass: defaultdict[str, float] = defaultdict(float)
    for ch in text:
        script = _script_of(ch)
        if script is not None:
            mass[script] += _WEIGHTS.get(script, 1.0)
    return mass


# In a text whose target script is not Latin, Latin words that are capitalised (names kept in
# Latin script: "Sally Two", "iPhone"), all-caps (GB, USD) or one-two letters long (x, km, kg)
# are names, units and variables, not a language.
_LATIN_NAME_OR_UNIT = re.compile(
    r"(?<![^\W\d_])(?:[A-Za-zÀ-ÖØ-öø-ÿ]?[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'’-]*|[A-Za-zÀ-ÖØ-öø-ÿ]{1,2})"
    r"(?![^\W\d_])"
)


def _drop_latin_names(text: str) -> str:
    """Remove Latin-script names, acronyms, units and variables (for non-Latin targets)."""
    return _LATIN_NAME_OR_UNIT.sub(" ", text)


# --------------------------------------------------------------------------------------------
# Chunks

_SENTENCE_END = re.compile(rf"(?<=[{_SENTENCE_PUNCT}])\s+")


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
            mass += sum(_script_mass(sentence).values())
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
    probability (see _analyse), otherwise it is lingua's top pick. Then the expected language
    wins if its probability is at least ``doubt`` times the winner's: lingua is sharp on long
    chunks, so this only gives short, genuinely ambiguous ones the benefit of the doubt.
    """
    ranked = [(lang, p) for lang, p in probs if plausible is None or lang in plausible]
    if not ranked or ranked[0][1] <= 0:
        ranked = list(probs)
    if not ranked or ranked[0][1] <= 0:
        return _UNDETERMINED, 0.0
    top, p_top = ranked[0]
    total = sum(p for _, p in ranked)
    if doubt > 0 and expected is not None and expected != top:
        p_expected = next((p for lang, p in ranked if lang == expected), 0.0)
        if p_expected >= doubt * p_top:
            return expected, p_expected / total
    return top, p_top / total


_DETECTOR_SET: Final = frozenset(DETECTOR_LANGUAGES)
_UNDETERMINED: Final = "und"
_PLAUSIBLE_MIN: Final = 0.01  # whole-text probability that makes a language plausible


# --------------------------------------------------------------------------------------------
# Attribution of letter mass to languages


@dataclass(frozen=True, slots=True)
class _Analysis:
    letters: float
    by_lang: dict[str, float]  # letter mass per language ("und": lingua had no answer)
    weighted: dict[str, float]  # letter mass x probability, per language
    scripts: dict[str, float]  # letter mass per script


def _script_only(text: str, script: str) -> str:
    """``text`` with the letters of every other script blanked out."""
    return "".join(ch if _script_of(ch) in (script, None) else " " for ch in text)


def _analyse(
    cleaned: str, config: FidelityConfig, *, drop_latin_names: bool, expected: str | None
) -> _Analysis:
    """Attribute every chunk's letter mass to languages: scripts first, lingua for shared ones.

    lingua's low-accuracy mode misreads some sentences as a neighbour (a Swahili sentence as
    Tagalog with p = 0.995) although it reads the whole text right. So a chunk's language is
    chosen among the *plausible* ones: those lingua sees in the whole text (p >= 0.01), the
    expected language and the reference language (English, the usual drift). A chunk whose
    plausible languages all have probability 0 keeps lingua's own pick.
    """
    text = _drop_latin_names(cleaned) if drop_latin_names else cleaned
    by_lang: defaultdict[str, float] = defaultdict(float)
    weighted: defaultdict[str, float] = defaultdict(float)
    scripts: defaultdict[str, float] = defaultdict(float)
    pieces: list[tuple[str, float, list[tuple[str, float]]]] = []  # shared-script chunk parts
    for chunk in _chunks(text, config.chunk_min_letters):
        mass = _script_mass(chunk)
        for script, m in mass.items():
            scripts[script] += m
        kana = mass.pop("Kana", 0.0)
        cjk = mass.pop("Hani", 0.0) + kana
        if cjk:
            lang = "ja" if kana >= config.kana_min_share * cjk else "zh"
            by_lang[lang] += cjk
            weighted[lang] += cjk
        for script, m in mass.items():
            if script in _SHARED_SCRIPTS:
                # Only this script's letters go to lingua, so an English sentence merged into
                # a Thai chunk is judged as English, not swept along with the Thai.
                pieces.append((script, m, _probabilities(_script_only(chunk, script))))
            else:
                lang = _SCRIPT_LANG.get(script, _UNDETERMINED)
                by_lang[lang] += m
                weighted[lang] += m
    base = {normalize_lang(config.reference_lang)} | ({expected} if expected else set())
    plausible: dict[str, frozenset[str]] = {}
    for script in {s for s, _, _ in pieces}:
        tops = [probs[0][0] for s, _, probs in pieces if s == script and probs]
        # One more lingua pass over the whole text, only when several chunks are in this
        # script and some chunk disagrees with the expected/reference language.
        if len(tops) > 1 and any(top not in base for top in tops):
            seen = _probabilities(_script_only(text, script))
            plausible[script] = frozenset({lang for lang, p in seen if p >= _PLAUSIBLE_MIN} | base)
    for script, m, probs in pieces:
        lang, p = _vote(probs, plausible.get(script), expected, config.benefit_of_doubt)
        by_lang[lang] += m
        weighted[lang] += m * p
    return _Analysis(sum(scripts.values()), dict(by_lang), dict(weighted), dict(scripts))


def _shares(values: dict[str, float], total: float) -> tuple[tuple[str, float], ...]:
    """Values as shares of ``total``, largest first (ties by key: deterministic)."""
    items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple((k, round(v / total, 4)) for k, v in items if v > 0 and total > 0)


def _dominant(analysis: _Analysis) -> tuple[str | None, float]:
    """The language with the most letter mass and its mass-weighted probability."""
    ranked = [(k, v) for k, v in _shares(analysis.by_lang, analysis.letters) if k != _UNDETERMINED]
    if not ranked:
        return None, 0.0
    lang = ranked[0][0]
    return lang, round(min(1.0, analysis.weighted.get(lang, 0.0) / analysis.letters), 4)


def detect_language(text: str, *, min_letters: int = DEFAULT_FIDELITY.min_letters) -> Detection:
    """Dominant language of ``text`` after cleaning (None when it has < ``min_letters`` of mass)."""
    analysis = _analyse(clean_text(text), DEFAULT_FIDELITY, drop_latin_names=False, expected=None)
    total = analysis.letters
    scripts = _shares(analysis.scripts, total)
    if total < min_letters:
        return Detection(None, 0.0, round(total, 2), scripts=scripts)
    lang, confidence = _dominant(analysis)
    return Detection(lang, confidence, round(total, 2), _shares(analysis.by_lang, total), scripts)


# --------------------------------------------------------------------------------------------
# Copy check


def _tokens(cleaned: str) -> list[str]:
    """Words, with each character of an unspaced script as its own token (case-folded)."""
    out: list[str] = []
    for word in _WORD.findall(cleaned.casefold()):
        run: list[str] = []
        for ch in word:
            if _script_of(ch) in _UNSPACED:
                if run:
                    out.append("".join(run))
                    run = []
                out.append(ch)
            else:
                run.append(ch)
        if run:
            out.append("".join(run))
    return out


def _ngrams(tokens: Sequence[str], n: int) -> Iterable[tuple[str, ...]]:
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


@functools.lru_cache(maxsize=256)
def _reference_grams(reference: str, n: int) -> frozenset[tuple[str, ...]]:
    """The reference's n-grams, cached: a GRPO group sends the same reference 8-64 times."""
    return frozenset(_ngrams(_tokens(clean_text(reference)), n))


def copy_overlap(response: str, reference: str, *, n: int = DEFAULT_FIDELITY.copy_ngram) -> float:
    """Share of the response's letter mass covered by n-grams that also occur in ``reference``.

    Letter mass, not token count, so that a Thai or Chinese prefix (one token per character)
    does not outweigh a pasted English paragraph. 0.0 when the response has fewer than ``n``
    tokens (too short to call it a copy).
    """
    resp = _tokens(clean_text(response))
    if len(resp) < n:
        return 0.0
    ref_grams = _reference_grams(reference, n)
    if not ref_grams:
        return 0.0
    covered = [False] * len(resp)
    for i, gram in enumerate(_ngrams(resp, n)):
        if gram in ref_grams:
            covered[i : i + n] = [True] * n
    # A token is one script's letters (words) or one character: weigh it by its first letter.
    weights = [_WEIGHTS.get(_script_of(token[0]) or "", 1.0) * len(token) for token in resp]
    total = sum(weights)
    return round(sum(w for w, c in zip(weights, covered) if c) / total, 4) if total else 0.0


# --------------------------------------------------------------------------------------------
# The check


def _target_mass(analysis: _Analysis, expected: str, script: str) -> float:
    """Letter mass attributed to ``expected`` (see the module docstring, step 4)."""
    if script in ("Jpan", "Hans", "Hant", "Hang"):
        return analysis.by_lang.get({"Jpan": "ja", "Hang": "ko"}.get(script, "zh"), 0.0)
    if script not in _SHARED_SCRIPTS:
        # A script only the target uses among the detector's languages (Bengali, Ethiopic...).
        return analysis.scripts.get(script, 0.0)
    if expected in _DETECTOR_SET:
        return analysis.by_lang.get(expected, 0.0)
    # A shared-script language lingua does not choose (gl, ht, sr...): its script's letters
    # count, except what lingua calls English, the drift we must catch.
    english = analysis.by_lang.get("en", 0.0) if script == "Latn" else 0.0
    return max(0.0, analysis.scripts.get(script, 0.0) - english)


def check_fidelity(
    response: str,
    expected_lang: str,
    *,
    reference: str | None = None,
    config: FidelityConfig = DEFAULT_FIDELITY,
) -> FidelityResult:
    """Whether ``response`` is in ``expected_lang`` and does not paste ``reference``.

    Raises :class:`service.scoring.languages.UnknownLanguageError` for an unknown ``expected_lang``.
    """
    expected = normalize_lang(expected_lang)
    if not config.enabled:
        return FidelityResult(True, "disabled", expected, None, 0.0, 0.0, 0.0, 0.0)
    if not response.strip():
        return FidelityResult(
            config.undetermined_passes, "empty", expected, None, 0.0, 0.0, 0.0, 0.0
        )
    script = to_flores(expected).split("_", 1)[1]
    analysis = _analyse(
        clean_text(response), config, drop_latin_names=script != "Latn", expected=expected
    )
    total = analysis.letters
    if total < config.min_letters:
        return FidelityResult(
            config.undetermined_passes,
            "undetermined",
            expected,
            None,
            0.0,
            0.0,
            0.0,
            round(total, 2),
        )
    detected, confidence = _dominant(analysis)
    target_share = min(1.0, _target_mass(analysis, expected, script) / total)
    overlap = 0.0
    if reference is not None:
        overlap = copy_overlap(response, reference, n=config.copy_ngram)
    same_language = expected == normalize_lang(config.reference_lang)
    limit = config.max_copy_overlap_same_language if same_language else config.max_copy_overlap
    reason: FidelityReason
    if overlap > limit:
        reason = "copied_reference"
    elif target_share < config.min_target_share:
        # A response shorter than one chunk that lingua cannot place ("La réponse est 18." reads
        # pt 0.39 / es 0.32 / fr 0.19) is not evidence of the wrong language.
        short = total < config.chunk_min_letters
        reason = (
            "undetermined"
            if short and confidence < config.short_text_confidence
            else "wrong_language"
        )
    else:
        reason = "ok"
    return FidelityResult(
        passed=reason == "ok" or (reason == "undetermined" and config.undetermined_passes),
        reason=reason,
        expected_lang=expected,
        detected_lang=detected,
        confidence=confidence,
        target_share=round(target_share, 4),
        copy_overlap=overlap,
        letters=round(total, 2),
    )
