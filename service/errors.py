"""Domain errors raised by every layer; service/api/errors.py maps them to HTTP status codes.

Every error body has the same shape::

    {"error": {"type": "...", "message": "...", "fields": [{"loc": "...", "msg": "..."}],
               "request_id": "..."}}
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldProblem:
    """One offending field: a dotted location such as `pairs[3].candidate` and what is wrong."""

    loc: str
    msg: str


@dataclass
class ServiceError(Exception):
    """Base of all errors the service reports to clients."""

    message: str
    fields: list[FieldProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = "service_error"

    def __str__(self) -> str:
        return self.message


class InvalidInputError(ServiceError):
    """The request is well-formed JSON but asks for something impossible (422)."""

    def __init__(self, message: str, loc: str | None = None) -> None:
        problems = [FieldProblem(loc, message)] if loc else []
        super().__init__(message, problems, error_type="invalid_input")


class TextTooLongError(InvalidInputError):
    """A text exceeds the model's token limit and the request did not allow truncation."""


class UnknownModelError(InvalidInputError):
    """The request names a model that is not loaded."""


class QueueFullError(ServiceError):
    """The model's queue cannot take the request now (429, with Retry-After)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, [], {"Retry-After": str(retry_after_s)}, "overloaded")


class NotReadyError(ServiceError):
    """Models are still loading, failed to load, or the service is draining (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], {"Retry-After": "5"}, "not_ready")


class FeatureUnavailableError(ServiceError):
    """An optional capability (e.g. translation) is not configured (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], {}, "unavailable")


class DeadlineExceededError(ServiceError):
    """The request did not finish within the configured deadline (504)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], {}, "deadline_exceeded")


class PayloadTooLargeError(ServiceError):
    """The request body is over the configured size (413)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], {}, "payload_too_large")


class UnauthorizedError(ServiceError):
    """Missing or wrong API key (401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], {"WWW-Authenticate": "Bearer"}, "unauthorized")


class ModelFailureError(ServiceError):
    """The model itself failed on valid input: the service's fault (500), logged with details."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [], {}, "model_failure")
