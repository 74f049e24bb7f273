"""Liveness, readiness, metrics and model listing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from service.api.routers.deps import (
    authorization_header,
    check_api_key,
    get_state,
    require_api_key,
)
from service.api.schemas import (
    CalibrationInfo,
    ErrorResponse,
    HealthResponse,
    Limits,
    ModelInfo,
    ModelsResponse,
    ReadinessResponse,
)
from service.state import ServiceState

router = APIRouter()

EMBEDDING_LANGUAGES = "~100 languages (the encoder's training languages; see the model card)"


@router.get("/healthz", response_model=HealthResponse, tags=["health"], summary="Liveness")
async def healthz() -> HealthResponse:
    """Always 200 while the process serves HTTP."""
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    tags=["health"],
    summary="Readiness",
    responses={503: {"model": ReadinessResponse, "description": "Loading, failed or draining."}},
)
async def readyz(state: ServiceState = Depends(get_state)) -> JSONResponse:
    """200 once models are loaded and warmed; 503 while loading, after a load failure, or draining."""
    body = ReadinessResponse(status=state.status, detail=state.detail)
    return JSONResponse(body.model_dump(), status_code=200 if state.status == "ready" else 503)


@router.get(
    "/metrics",
    tags=["health"],
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, 401: {"model": ErrorResponse}},
)
async def metrics(
    request: Request,
    state: ServiceState = Depends(get_state),
    authorization: str | None = Depends(authorization_header),
) -> Response:
    """Prometheus exposition format. Needs an API key only when PIVOT_METRICS_REQUIRE_AUTH is true."""
    if state.settings.metrics_require_auth:
        check_api_key(state, authorization)
    if state.embedding is not None:
        state.metrics.queue_depth_gauge.labels(state.embedding.name).set(
            state.embedding.batcher.depth
        )
    return Response(state.metrics.render(), media_type=state.metrics.content_type)


@router.get(
    "/v1/models",
    response_model=ModelsResponse,
    tags=["models"],
    summary="Loaded models and limits",
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorResponse}},
)
async def list_models(state: ServiceState = Depends(get_state)) -> ModelsResponse:
    """Models with their device and languages, and the request limits clients must respect."""
    settings = state.settings
    models: list[ModelInfo] = []
    service = state.embedding
    if service is not None:
        encoder = service.encoder
        cal = service.calibration
        models.append(
            ModelInfo(
                name=service.name,
                kind="embedding",
                available=state.status == "ready",
                device=encoder.device,
                backend=encoder.backend,
                precision=encoder.precision,
                path=state.embedding_path,
                languages=EMBEDDING_LANGUAGES,
                max_seq_length=encoder.max_seq_length,
                dimension=encoder.dimension,
                calibration=CalibrationInfo(low=cal.low, high=cal.high, source=cal.source),
            )
        )
    else:
        models.append(
            ModelInfo(
                name=settings.embedding_model,
                kind="embedding",
                available=False,
                detail=state.detail,
            )
        )
    if settings.translation_model is None:
        models.append(
            ModelInfo(
                name="translation",
                kind="translation",
                available=False,
                detail="not configured: set PIVOT_TRANSLATION_MODEL to a CTranslate2 NLLB-200 folder",
            )
        )
    elif state.translation is not None:
        translator = state.translation.translator
        models.append(
            ModelInfo(
                name=translator.name,
                kind="translation",
                available=state.status == "ready",
                device=f"{translator.device} ({translator.compute_type})",
                path=str(translator.model_dir),
                languages=f"{len(translator.languages)} FLORES-200 languages",
                max_seq_length=translator.max_input_tokens,
            )
        )
    else:
        models.append(
            ModelInfo(
                name=settings.translation_model.name,
                kind="translation",
                available=False,
                path=str(settings.translation_model),
                detail=state.detail,
            )
        )
    return ModelsResponse(
        models=models,
        limits=Limits(
            max_items_per_request=settings.max_items_per_request,
            max_text_chars=settings.max_text_chars,
            max_body_bytes=settings.max_body_bytes,
            max_queue_size=settings.max_queue_size,
            request_timeout_s=settings.request_timeout_s,
            translation_max_beam_size=settings.translation_max_beam_size,
            translation_max_length=settings.translation_max_length,
        ),
        batching={"max_batch_size": settings.max_batch_size, "max_wait_ms": settings.max_wait_ms},
    )
