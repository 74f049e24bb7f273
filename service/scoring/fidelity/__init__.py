"""Language fidelity: is a rollout written in its target language, and is it not a pasted reference?

A policy rewarded for similarity to an English reference drifts towards answering in English or
pasting the reference, and then towards hiding the paste from the check. :func:`check_fidelity`
catches all of it; :func:`detect_language` is the plain detector. Pure functions, no I/O,
deterministic and thread-safe; the only shared state is the lingua detector, built once on first
use (or by :func:`warm_up`) under a lock. One job per module:

- ``cleaning``: the two views of a text. Both are normalised first (NFKC, zero-width and other
  invisible characters removed, strike-through marks on Latin/Cyrillic/Greek letters dropped,
  Cyrillic/Greek lookalikes inside Latin words folded back (Unicode's confusables table),
  spaced-out letters "T h e" joined). The *prose* view removes digits, symbols, URLs, tags, code
  and math, but keeps the prose they wrap: a fence, ``$$\\text{..}$$``, a comment or a string
  literal that reads as a sentence is language, so "```<English>```" is English, not
  "undetermined". The *revealed* view keeps every letter, for the copy check.
- ``scripts``: Unicode scripts and *letter mass* (one per letter, combining marks included;
  2.75 per Han character, 1.5 per kana, 2.0 per Hangul syllable, which equalises parallel text
  so a share means the same in every script), and Latin names in non-Latin text ("Sally Two",
  GB, km, x are ignored; four or more capitalised words in a row are Title Case prose, kept).
- ``detection``: per chunk (sentences merged to ``chunk_min_letters`` of mass, never across
  lines), scripts decide where only one language uses them (Bengali, Telugu, Thai...), kana tell
  Japanese from Chinese, and lingua classifies Latin, Cyrillic, Arabic and Devanagari letters
  among :data:`DETECTOR_LANGUAGES` (the MGSM languages plus their neighbours: pt/es, uk/bg/ru,
  hi/mr, ms/id/sw...), choosing among languages plausible for the whole text and giving the
  target the benefit of a close doubt.
- ``copying``: ``copy_overlap``, the share of the response copied from the reference (word
  5-grams of the prose, or 20-letter runs of all letters, whichever is larger), and
  ``reference_containment``, the share of the reference's words the response contains anywhere
  (catches pastes interleaved with target-language words or lightly edited).
- ``gate``: the verdict. With scope ``answer`` (the default) a reasoning output's thinking block
  is skipped for the language (a model may think in English) but searched for copies; a
  response that is all thinking is ``no_answer``. Below ``min_letters`` of mass a text is
  ``undetermined`` (passes by default: a bare number is no evidence of the wrong language),
  unless it is a copy or its letters are all in another script (romanized text).
  Cross-language copy thresholds: ``copy_overlap`` > 0.5 or containment > 0.7. When the target
  language is the reference's (English), only near-total copies fail (``copy_overlap`` > 0.9).

Known gaps. (a) Code-switching into a third language that is neither the target nor English
is only measured when lingua sees that language in the whole text; a minority third language
(e.g. 45 % French in a German answer) is counted as target. (b) Target languages outside
:data:`DETECTOR_LANGUAGES` (Galician, Finnish, Serbian...) are checked for their script, and
what lingua calls English is foreign for them, but other same-script languages pass. (c) A
script shared only with languages outside the detector (Assamese for Bengali) is not told
apart. (d) PASMR rollouts that start with the English question between delimiters must have that
part removed before the check. (e) Malay and Indonesian are often read as each other.

Cost (lingua low-accuracy mode, 40 languages preloaded): ~50 MB RSS with lingua's import and
~0.15 s to build on first use (call :func:`warm_up` at startup); a few ms per 1,600-character
LaTeX rollout, single-threaded (lingua holds the GIL, threads do not add throughput).
"""

from service.scoring.fidelity.cleaning import clean_text, reveal_text
from service.scoring.fidelity.config import DEFAULT_FIDELITY, FidelityConfig, GateScope
from service.scoring.fidelity.copying import copy_overlap, reference_containment
from service.scoring.fidelity.detection import (
    DETECTOR_LANGUAGES,
    Detection,
    detect_language,
    warm_up,
)
from service.scoring.fidelity.gate import FidelityReason, FidelityResult, check_fidelity

__all__ = [
    "DEFAULT_FIDELITY",
    "DETECTOR_LANGUAGES",
    "Detection",
    "FidelityConfig",
    "FidelityReason",
    "FidelityResult",
    "GateScope",
    "check_fidelity",
    "clean_text",
    "copy_overlap",
    "detect_language",
    "reference_containment",
    "reveal_text",
    "warm_up",
]
