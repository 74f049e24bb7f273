"""The FastAPI application factory: lifespan, error handling, docs, routers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from service import __version__
from service.api.errors import install_error_handlers
from service.api.middleware import RequestContextMiddleware
from service.api.routers import (
    answers,
    health,
    openrlhf,
    rank,
    rewards,
    similarity,
    slime,
    translation,
)
from service.lifecycle import EncoderFactory, close_models, load_encoder, load_models
from service.settings import Settings
from service.state import ServiceState

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Reward scoring for multilingual reasoning RL (PB-RLSVR, PASMR, Best-of-L).

Scoring routes require a key when `PIVOT_API_KEYS` is set: `Authorization: Bearer <key>`, or the
key in the URL's user-info (`http://KEY:@host/...`, sent as HTTP Basic; for OpenRLHF).
Errors always have the shape `{"error": {"type", "message", "fields": [{"loc", "msg"}], "request_id"}}`.
"""


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
            state.start_draining()
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
    install_error_handlers(app)
    _install_docs(app)
    app.include_router(health.router)
    app.include_router(similarity.router)
    app.include_router(translation.router)
    app.include_router(answers.router)
    app.include_router(rewards.router)
    app.include_router(rank.router)
    app.include_router(openrlhf.router)
    app.include_router(slime.router)
    return app
