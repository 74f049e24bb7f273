"""POST /v1/translate and /v1/translation-similarity (PB-RLSVR's translate-then-compare reward)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.api.errors import ERROR_RESPONSES
from service.api.routers.deps import (
    check_item_count,
    check_text_lengths,
    get_state,
    require_api_key,
    with_deadline,
)
from service.api.schemas import (
    CalibrationInfo,
    TranslateRequest,
    TranslateResponse,
    Translation,
    TranslationOptions,
    TranslationSimilarityRequest,
    TranslationSimilarityResponse,
    TranslationSimilarityResult,
)
from service.errors import InvalidInputError
from service.pipeline.translate_compare import DEFAULT_MAX_LENGTH, translate_and_compare
from service.state import ServiceState

router = APIRouter(tags=["translation"], dependencies=[Depends(require_api_key)])


def _check_options(state: ServiceState, options: TranslationOptions) -> tuple[int, int]:
    """Beam size and max length after applying the configured caps (422 past them)."""
    settings = state.settings
    if options.beam_size > settings.translation_max_beam_size:
        raise InvalidInputError(
            f"beam_size {options.beam_size} is over the limit of {settings.translation_max_beam_size} "
            "(PIVOT_TRANSLATION_MAX_BEAM_SIZE)",
            "beam_size",
        )
    if options.max_length is None:
        return options.beam_size, min(DEFAULT_MAX_LENGTH, settings.translation_max_length)
    if options.max_length > settings.translation_max_length:
        raise InvalidInputError(
            f"max_length {options.max_length} is over the limit of {settings.translation_max_length} "
            "(PIVOT_TRANSLATION_MAX_LENGTH)",
            "max_length",
        )
    return options.beam_size, options.max_length


@router.post(
    "/v1/translate",
    response_model=TranslateResponse,
    summary="Translate with NLLB-200",
    responses=ERROR_RESPONSES,
)
async def translate(
    request: TranslateRequest, state: ServiceState = Depends(get_state)
) -> TranslateResponse:
    """Translate texts (NLLB-200 on CTranslate2). Identical texts are translated once; results in order.

    Language codes: ISO 639-1 (`de`, `zh`) or FLORES-200 (`deu_Latn`, `zho_Hant`); see README.
    Answers 503 with set-up instructions when no translation model is configured.
    """
    check_item_count(state, len(request.texts), "texts")
    check_text_lengths(state, request.texts, [f"texts[{i}]" for i in range(len(request.texts))])
    beam_size, max_length = _check_options(state, request)
    service = state.require_translation()
    codes, locs = request.sources()
    sources = service.language_tokens(codes, locs)
    (target,) = service.language_tokens([request.target_lang], ["target_lang"])
    outputs = await with_deadline(
        state,
        service.translate(
            request.texts,
            sources,
            target,
            beam_size=beam_size,
            max_length=max_length,
        ),
    )
    state.metrics.items.labels("/v1/translate").inc(len(outputs))
    return TranslateResponse(
        model=service.name,
        target_lang=target,
        translations=[
            Translation(
                text=o.text,
                source_lang=source,
                input_tokens=o.input_tokens,
                output_tokens=o.output_tokens,
                truncated=o.truncated,
            )
            for o, source in zip(outputs, sources, strict=True)
        ],
    )


@router.post(
    "/v1/translation-similarity",
    response_model=TranslationSimilarityResponse,
    summary="Translate-then-compare reward",
    responses=ERROR_RESPONSES,
)
async def translation_similarity(
    request: TranslationSimilarityRequest, state: ServiceState = Depends(get_state)
) -> TranslationSimilarityResponse:
    """Translate each candidate into English, then score the translation against the English reference
    with the embedding model (calibrated as in /v1/similarity) and, on request, chrF."""
    candidates, references, codes, candidate_locs, source_locs = request.rows()
    check_item_count(state, len(candidates), "pairs" if request.pairs is not None else "candidates")
    check_text_lengths(
        state, candidates + references, candidate_locs + ["reference"] * len(references)
    )
    beam_size, max_length = _check_options(state, request)
    translation = state.require_translation()
    embedding = state.require_embedding()
    sources = translation.language_tokens(codes, source_locs)
    compared = await with_deadline(
        state,
        translate_and_compare(
            translation,
            embedding,
            candidates,
            sources,
            references,
            beam_size=beam_size,
            max_length=max_length,
            allow_truncation=request.truncate,
            candidate_locs=candidate_locs,
            reference_locs=["reference"] * len(references),
        ),
    )
    texts = compared.texts
    # Honest per item: the translator cut a piece (or its output hit max_length), or the
    # embedding model truncated the translation or the reference.
    truncated = [
        a or b for a, b in zip(compared.truncated, compared.translation_truncated, strict=True)
    ]
    cosines = [float(c) for c in compared.cosines]
    scores = [float(s) for s in compared.scores]
    chrf: list[float | None] = [None] * len(texts)
    if request.chrf:
        from sacrebleu.metrics import CHRF

        metric = CHRF()
        chrf = [
            round(metric.sentence_score(t, [r]).score / 100.0, 6)
            for t, r in zip(texts, references, strict=True)
        ]
    state.metrics.items.labels("/v1/translation-similarity").inc(len(texts))
    cal = embedding.calibration
    return TranslationSimilarityResponse(
        model=embedding.name,
        translation_model=translation.name,
        calibration=CalibrationInfo(low=cal.low, high=cal.high, source=cal.source),
        results=[
            TranslationSimilarityResult(
                translation=t, score=round(s, 6), cosine=round(c, 6), chrf=f, truncated=tr
            )
            for t, s, c, f, tr in zip(texts, scores, cosines, chrf, truncated, strict=True)
        ],
    )
