"""HTTP error mapping: the one table from domain errors to status codes, the one error body, the
exception handlers, and the error responses every route documents in OpenAPI.

Every error body has the same shape::

    {"error": {"type": "...", "message": "...", "fields": [{"loc": "...", "msg": "..."}],
               "request_id": "..."}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.schemas import ErrorResponse
from service.errors import (
    DeadlineExceededError,
    FeatureUnavailableError,
    InvalidInputError,
    ModelFailureError,
    NotReadyError,
    PayloadTooLargeError,
    QueueFullError,
    ServiceError,
    TextTooLongError,
    UnauthorizedError,
    UnknownModelError,
)
from service.logs import request_id_var

logger = logging.getLogger(__name__)

# The one table from domain errors to status codes; most specific class first.
STATUS_BY_ERROR: tuple[tuple[type[ServiceError], int], ...] = (
    (TextTooLongError, 422),
    (UnknownModelError, 422),
    (InvalidInputError, 422),
    (UnauthorizedError, 401),
    (PayloadTooLargeError, 413),
    (QueueFullError, 429),
    (NotReadyError, 503),
    (FeatureUnavailableError, 503),
    (DeadlineExceededError, 504),
    (ModelFailureError, 500),
)


def status_for(error: ServiceError) -> int:
    """HTTP status for a domain error."""
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 500


# Documented on every scoring route (OpenAPI `responses`).
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Malformed JSON.",
        401: "Missing or invalid API key.",
        413: "Body too large.",
        415: "Body not sent as application/json.",
        422: "Invalid input (the `fields` list names each offending field).",
        429: "Queue full; retry after `Retry-After` seconds.",
        503: "Models loading or service draining.",
        504: "Request deadline exceeded.",
    }.items()
}


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
    for i, part in enumerate(parts):
        # only the first part names the source; OpenRLHF's body has a field called "query"
        if i == 0 and part in ("body", "query", "path", "header"):
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def install_error_handlers(app: FastAPI) -> None:
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
