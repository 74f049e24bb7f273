"""The one error type of the client."""

from collections.abc import Mapping, Sequence
from typing import Any


class PivotRewardError(Exception):
    """A request to pivot-reward failed (non-retryable error, or retries exhausted).

    Attributes:
        status: HTTP status code, or None when no response arrived (connection error, timeout).
        type: The server's machine-readable error type (`validation_error`, `overloaded`, ...), or
            a client-side one: `connection_error`, `timeout`, `transport_error`, `http_error`
            (a non-JSON error body, e.g. from a proxy), `invalid_response`, `deadline_exceeded`.
        message: Human-readable message.
        fields: Offending fields, `[{"loc": "items[3].lang", "msg": "..."}]` (422).
        request_id: The server's request id (also the `X-Request-ID` the client sent).
        url: The URL of the last attempt.
        attempts: How many attempts were made.
        retryable: Whether this failure kind is retried (True when retries ran out).
        retry_after: The server's `Retry-After`, in seconds, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str = "error",
        fields: Sequence[Mapping[str, Any]] | None = None,
        request_id: str | None = None,
        url: str | None = None,
        attempts: int = 1,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.type = type
        self.fields: list[dict[str, Any]] = [dict(f) for f in fields or []]
        self.request_id = request_id
        self.url = url
        self.attempts = attempts
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable with its attributes (errors cross process boundaries in Ray and TRL workers).
        return (_rebuild, (self.message, self.__dict__.copy()))

    def __str__(self) -> str:
        head = f"{self.status} {self.type}" if self.status is not None else self.type
        text = f"{head}: {self.message}"
        if self.fields:
            text += " [" + "; ".join(f"{f.get('loc')}: {f.get('msg')}" for f in self.fields) + "]"
        extras = []
        if self.url:
            extras.append(f"url={self.url}")
        if self.request_id:
            extras.append(f"request_id={self.request_id}")
        if self.attempts > 1:
            extras.append(f"attempts={self.attempts}")
        return text + (f" ({', '.join(extras)})" if extras else "")


def _rebuild(message: str, state: dict[str, Any]) -> PivotRewardError:
    error = PivotRewardError(message)
    error.__dict__.update(state)
    return error
