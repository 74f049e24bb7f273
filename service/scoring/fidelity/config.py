"""Thresholds and options of the language-fidelity gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from service.scoring.languages import normalize_lang
from service.scoring.reasoning import DEFAULT_THINK_END, DEFAULT_THINK_START

GateScope = Literal["answer", "full"]


@dataclass(frozen=True, slots=True)
class FidelityConfig:
    """Thresholds of the fidelity check (defaults tuned on MGSM and the gate dev set, see tests/data)."""

    enabled: bool = True
    """False: every response passes with reason ``disabled`` (nothing is computed)."""
    min_target_share: float = 0.6
    """Share of the response's letter mass that must be in the target language."""
    max_copy_overlap: float = 0.5
    """Above this copy_overlap with a reference in another language: ``copied_reference``."""
    max_copy_overlap_same_language: float = 0.9
    """Same, when the target language is ``reference_lang`` (only near-total copies fail)."""
    max_reference_containment: float = 0.7
    """Above this share of the reference's words found in a response in another language:
    ``copied_reference`` (interleaved or lightly edited pastes; real translations stay <= 0.42)."""
    reference_lang: str = "en"
    """Language of the references (the pivot); selects the copy threshold."""
    copy_ngram: int = 5
    """Tokens per n-gram in the copy check (words, or characters of unspaced scripts)."""
    min_letters: int = 12
    """Below this letter mass (after cleaning) the language is ``undetermined``."""
    min_foreign_letters: int = 5
    """Below ``min_letters``, a response with at least this many letters and none in the target's
    script is ``wrong_language`` (a romanized "Otvet: 9", "Kotae wa 200 desu"), not undetermined."""
    undetermined_passes: bool = True
    """Whether ``undetermined`` and ``empty`` responses pass (True: don't punish short answers)."""
    chunk_min_letters: int = 40
    """Sentences are merged into chunks of at least this mass before classification."""
    benefit_of_doubt: float = 0.5
    """A chunk lingua gives to another language still counts as the target's when the target's
    probability is at least this fraction of the winner's (0 disables; see detection._vote)."""
    short_text_confidence: float = 0.5
    """A response shorter than ``chunk_min_letters`` whose language lingua gives less than this
    probability is ``undetermined`` rather than ``wrong_language``."""
    kana_min_share: float = 0.05
    """A CJK chunk is Japanese when kana are at least this share of its CJK mass."""
    scope: GateScope = "answer"
    """``answer``: the language is judged on the visible answer of a reasoning output (thinking
    blocks skipped); ``full``: on the whole text. Copies are looked for everywhere either way."""
    think_start: str = DEFAULT_THINK_START
    think_end: str = DEFAULT_THINK_END
    """Delimiters of a reasoning model's thinking block."""

    def __post_init__(self) -> None:
        for name in (
            "min_target_share",
            "max_copy_overlap",
            "max_copy_overlap_same_language",
            "max_reference_containment",
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
        if self.min_foreign_letters < 1:
            raise ValueError("FidelityConfig.min_foreign_letters must be >= 1")
        if self.scope not in ("answer", "full"):
            raise ValueError("FidelityConfig.scope must be 'answer' or 'full'")
        if not self.think_start or not self.think_end:
            raise ValueError("FidelityConfig: think_start and think_end must not be empty")
        normalize_lang(self.reference_lang)  # UnknownLanguageError for a bad code


DEFAULT_FIDELITY: Final = FidelityConfig()
