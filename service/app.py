"""The FastAPI application factory: lifespan, error handling, docs, routers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service import __version__
from service.batching import BatchingConfig, MicroBatcher
from service.calibration import BUILTIN_CALIBRATIONS, UNCALIBRATED, Calibration, load_calibration
from service.embedding import (
    HASH_ENCODER_NAME,
    EmbeddingService,
    HashEncoder,
    SentenceTransformerEncoder,
)
from service.errors import ServiceError, status_for
from service.logs import request_id_var
from service.middleware import RequestContextMiddleware
from service.routers import answers, health, rewards, similarity, translation
from service.settings import Settings
from service.state import ServiceState
from service.translation_service import TranslationService

logger = logging.getLogger(__name__)

EncoderFactory = Callable[
    [Settings], tuple[SentenceTransformerEncoder | HashEncoder, Calibration, str | None]
]

DESCRIPTION = """\
Reward scoring for multilingual reasoning RL (PB-RLSVR, PASMR, Best-of-L).

Scoring routes require `Authorization: Bearer <key>` when `PIVOT_API_KEYS` is set.
Errors always have the shape `{"error": {"type", "message", "fields": [{"loc", "msg"}], "request_id"}}`.
"""


def builtin_calibration(name: str) -> Calibration | None:
    """Constants shipped for built-in models (derived on MGSM; see models/calibrate.py)."""
    return BUILTIN_CALIBRATIONS.get(name)


def load_encoder(
    settings: Settings,
) -> tuple[SentenceTransformerEncoder | HashEncoder, Calibration, str | None]:
    """Prepare (if built-in and missing) and load the configured embedding model."""
    if settings.embedding_model == HASH_ENCODER_NAME:
        encoder: SentenceTransformerEncoder | HashEncoder = HashEncoder()
        calibration, path = Calibration(0.0, 1.0, "hash encoder: raw cosine"), None
    else:
        from models.registry import BUILTIN_MODELS, ensure_model

        model_dir = ensure_model(settings.embedding_model, settings.cache_dir, progress=False)
        name = (
            settings.embedding_model
            if settings.embedding_model in BUILTIN_MODELS
            else Path(model_dir).name
        )
        encoder = SentenceTransformerEncoder(
            Path(model_dir),
            name,
            device=settings.device,
            threads=settings.torch_threads,
            precision=settings.embedding_precision,
            sub_batch=settings.embedding_sub_batch,
        )
        calibration = load_calibration(Path(model_dir)) or builtin_calibration(name) or UNCALIBRATED
        if calibration is UNCALIBRATED:
            logger.warning(
                "no calibration constants for this model; scores are raw cosines clipped to [0, 1]",
                extra={"model": name},
            )
        path = str(model_dir)
    if settings.calibration_low is not None and settings.calibration_high is not None:
        calibration = Calibration(
            settings.calibration_low, settings.calibration_high, "settings override"
        )
    encoder.max_batch_size = settings.max_batch_size
    return encoder, calibration, path


def _batching(settings: Settings) -> BatchingConfig:
    return BatchingConfig(
        max_batch_size=settings.max_batch_size,
        max_wait_s=settings.max_wait_ms / 1000.0,
        max_queue_size=settings.max_queue_size,
        retry_after_s=settings.retry_after_s,
    )


async def load_models(state: ServiceState, encoder_factory: EncoderFactory = load_encoder) -> None:
    """Load and warm every configured model into `state` (raises on failure)."""
    settings = state.settings
    loop = asyncio.get_running_loop()
    encoder, calibration, path = await loop.run_in_executor(None, encoder_factory, settings)
    service = EmbeddingService(
        encoder,
        calibration,
        _batching(settings),
        cache_bytes=int(settings.embedding_cache_mb * 1024 * 1024),
        observer=state.metrics,
        cache_observer=state.metrics,
    )
    await service.start()
    state.embedding, state.embedding_path = service, path
    from service.fidelity import warm_up

    await loop.run_in_executor(state.cpu_executor, warm_up)  # lingua's models, ~0.2 s, once
    if settings.translation_model is not None:
        state.translation = await _load_translation(state)
    if settings.rank_model is not None:
        state.rank_model = await _load_rank_model(state)
    if state.status == "loading":
        state.status, state.detail = "ready", None
    logger.info("models ready", extra={"model": encoder.name, "device": encoder.device})


async def close_models(state: ServiceState) -> None:
    """Finish queued work and release model threads."""
    if state.embedding is not None:
        await state.embedding.close()
    if state.translation is not None:
        await state.translation.close()
    if state.rank_model is not None:
        await state.rank_model.close()
    state.cpu_executor.shutdown(wait=True)


async def _load_models(state: ServiceState, encoder_factory: EncoderFactory) -> None:
    settings = state.settings
    try:
        await load_models(state, encoder_factory)
    except Exception as exc:
        state.status, state.detail = "failed", f"could not load a model: {exc}"
        logger.exception("model loading failed", extra={"model": settings.embedding_model})
        if settings.exit_on_load_failure:
            logger.error("exiting because PIVOT_EXIT_ON_LOAD_FAILURE is true")
            os.kill(os.getpid(), signal.SIGTERM)


async def _load_rank_model(state: ServiceState) -> MicroBatcher[tuple[str, str], float]:
    from service.reward_model import SequenceClassifierScorer

    settings = state.settings
    assert settings.rank_model is not None
    loop = asyncio.get_running_loop()
    scorer = await loop.run_in_executor(
        None,
        lambda: SequenceClassifierScorer(Path(settings.rank_model or ""), device=settings.device),
    )
    batcher: MicroBatcher[tuple[str, str], float] = MicroBatcher(
        scorer, _batching(settings), state.metrics
    )
    batcher.start()
    await batcher.run_sync(scorer.warmup)
    return batcher


async def _load_translation(state: ServiceState) -> TranslationService:
    from service.translation import NllbTranslator

    settings = state.settings
    assert settings.translation_model is not None
    loop = asyncio.get_running_loop()
    translator = await loop.run_in_executor(
        None,
        lambda: NllbTranslator(
            Path(settings.translation_model or ""),
            device=settings.device,
            compute_type=settings.translation_compute_type,
            intra_threads=settings.translation_threads,
        ),
    )
    service = TranslationService(
        translator,
        BatchingConfig(
            max_batch_size=settings.max_batch_size,
            max_wait_s=settings.max_wait_ms / 1000.0,
            max_queue_size=settings.max_queue_size,
            max_batch_cost=settings.translation_batch_tokens,
            retry_after_s=settings.retry_after_s,
        ),
        cache_entries=settings.translation_cache_entries,
        observer=state.metrics,
    )
    await service.start()
    logger.info(
        "translation ready",
        extra={
            "model": translator.name,
            "device": translator.device,
            "compute_type": translator.compute_type,
        },
    )
    return service


def _error_response(
    request: Request | None,
    status: int,
    error_type: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = request_id_var.get() or (
        getattr(request.state, "request_id", None) if request else None
    )
    body = {
        "error": {
            "type": error_type,
            "message": message,
            "fields": fields or [],
            "request_id": request_id,
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "pairs", 0, "candidate")` -> `pairs[0].candidate`."""
    text = ""
    for part in parts:
        if part in ("body", "query", "path", "header") and not text:
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500 and exc.__cause__ is not None:
            logger.error("internal error", exc_info=exc.__cause__)
        return _error_response(
            request,
            status,
            exc.error_type,
            exc.message,
            [{"loc": f.loc, "msg": f.msg} for f in exc.fields],
            exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        is_json = media == "application/json" or (
            media.startswith("application/") and media.endswith("+json")
        )
        if request.method in ("POST", "PUT", "PATCH") and not is_json:
            return _error_response(
                request,
                415,
                "unsupported_media_type",
                f"send the body as JSON with 'Content-Type: application/json' "
                f"(got '{content_type or 'none'}')",
                [{"loc": "body", "msg": "not JSON"}],
            )
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error_response(
                request,
                400,
                "malformed_json",
                "request body is not valid JSON",
                [{"loc": "body", "msg": str(errors[0].get("msg"))}],
            )
        fields = [{"loc": _loc(e.get("loc", ())), "msg": str(e.get("msg"))} for e in errors[:50]]
        summary = "; ".join(f"{f['loc']}: {f['msg']}" for f in fields[:5])
        return _error_response(
            request, 422, "validation_error", f"invalid request: {summary}", fields
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {
            400: "malformed_json",
            404: "not_found",
            405: "method_not_allowed",
            415: "unsupported_media_type",
        }
        return _error_response(
            request,
            exc.status_code,
            kinds.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled error", exc_info=exc)
        return _error_response(
            request,
            500,
            "internal_error",
            "internal error; the request id identifies it in the service logs",
        )


def _install_docs(app: FastAPI) -> None:
    import swagger_ui_bundle

    app.mount(
        "/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static"
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="pivot-reward - Swagger UI",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon-32x32.png",
            swagger_ui_parameters={"tryItOutEnabled": True, "displayRequestDuration": True},
        )


def create_app(
    settings: Settings | None = None, *, encoder_factory: EncoderFactory | None = None
) -> FastAPI:
    """Build the app. Models load in the background after start-up; /readyz says when they are ready."""
    settings = settings or Settings()
    state = ServiceState(settings=settings)
    factory = encoder_factory or load_encoder

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = asyncio.create_task(_load_models(state, factory), name="load-models")
        try:
            yield
        finally:
            state.status, state.detail = "draining", "shutting down"
            loader.cancel()
            await close_models(state)

    app = FastAPI(
        title="pivot-reward",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.pivot = state
    app.add_middleware(
        RequestContextMiddleware, metrics=state.metrics, max_body_bytes=settings.max_body_bytes
    )
    _install_error_handlers(app)
    _install_docs(app)
    app.include_router(health.router)
    app.include_router(similarity.router)
    app.include_router(translation.router)
    app.include_router(answers.router)
    app.include_router(rewards.router)
    return app
