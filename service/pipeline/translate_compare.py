"""Translate-then-compare (PB-RLSVR's translation reward): NLLB into English, then the calibrated
embedding similarity to the English reference. Shared by /v1/translation-similarity and the rewards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.engine.embedding import EmbeddingService, LongTextHandling
from service.engine.translation_service import TranslationService

# Generated-token cap per sentence when a request does not set `max_length` (further capped by
# settings).
DEFAULT_MAX_LENGTH = 256
# An empty translation still needs a text to embed; it scores like any unrelated sentence.
EMPTY_TRANSLATION = "(empty)"


@dataclass
class ComparedTranslations:
    """Per candidate: its English translation, raw cosine, calibrated score and truncation flags."""

    texts: list[str]
    cosines: np.ndarray
    scores: np.ndarray
    truncated: list[bool]  # the embedding model truncated the translation or the reference
    translation_truncated: list[bool]  # the translator cut a piece of the source or its output
    long_text: list[LongTextHandling]  # how the embedding model read the longer of the pair


async def translate_and_compare(
    translation: TranslationService,
    embedding: EmbeddingService,
    candidates: Sequence[str],
    sources: Sequence[str],
    references: Sequence[str],
    *,
    beam_size: int,
    max_length: int,
    allow_truncation: bool,
    candidate_locs: Sequence[str],
    reference_locs: Sequence[str],
    window: bool = False,
) -> ComparedTranslations:
    """`sources` are this translator's FLORES codes (`TranslationService.language_tokens`).

    Candidates are translated sentence by sentence (NLLB is a sentence-level model), with
    `max_length` tokens per sentence; `window` embeds long translations whole (see
    `EmbeddingService.embed`)."""
    english = translation.translator.language_token("en")
    outputs = await translation.translate_sentences(
        candidates, sources, english, beam_size=beam_size, max_length=max_length
    )
    texts = [o.text if o.text.strip() else EMPTY_TRANSLATION for o in outputs]
    pairs = await embedding.cosine_pairs(
        texts,
        references,
        allow_truncation=allow_truncation,
        candidate_locs=candidate_locs,
        reference_locs=reference_locs,
        window=window,
    )
    return ComparedTranslations(
        [o.text for o in outputs],
        pairs.cosines,
        pairs.scores,
        pairs.truncated,
        [o.truncated for o in outputs],
        pairs.long_text,
    )
