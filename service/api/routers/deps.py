"""Dependencies shared by routers: state, API-key check, limits, deadlines."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import DeadlineExceededError, InvalidInputError, UnauthorizedError
from service.state import ServiceState

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="One of the keys in PIVOT_API_KEYS.")


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its worker
# thread pool, which costs every request a thread hop and, under a burst, up to 40 new threads
# (each a new malloc arena: the server's RSS stepped up after latency spikes in bench/soak.py).
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.pivot
    return state


def check_api_key(state: ServiceState, credentials: HTTPAuthorizationCredentials | None) -> None:
    """Constant-time comparison against every configured key; no keys = open."""
    keys = state.settings.api_key_list
    if not keys:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("missing API key: send 'Authorization: Bearer <key>'")
    offered = credentials.credentials.encode()
    # Compare against all keys (no early exit) so timing does not reveal which one nearly matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(offered, key.encode())
    if not matched:
        raise UnauthorizedError("invalid API key")


async def require_api_key(
    state: ServiceState = Depends(get_state),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    check_api_key(state, credentials)


def check_item_count(state: ServiceState, count: int, loc: str) -> None:
    """Configured per-request item limit (the schema carries the hard ceiling)."""
    limit = state.settings.max_items_per_request
    if count > limit:
        raise InvalidInputError(
            f"{count} items is over the limit of {limit} per request (PIVOT_MAX_ITEMS_PER_REQUEST); "
            "split the batch",
            loc,
        )


def check_text_lengths(state: ServiceState, texts: list[str], locs: list[str]) -> None:
    """Configured character limit per text."""
    limit = state.settings.max_text_chars
    for text, loc in zip(texts, locs):
        if len(text) > limit:
            raise InvalidInputError(
                f"text has {len(text)} characters, over the limit of {limit} (PIVOT_MAX_TEXT_CHARS)",
                loc,
            )


async def with_deadline(state: ServiceState, work: Awaitable[T]) -> T:
    """Await `work` within the request deadline; 504 past it (the work is cancelled)."""
    timeout = state.settings.request_timeout_s
    try:
        return await asyncio.wait_for(work, timeout=timeout)
    except TimeoutError:
        raise DeadlineExceededError(
            f"request did not finish within {timeout:g} s (PIVOT_REQUEST_TIMEOUT_S); the service is "
            "overloaded or the batch is too large: retry, or send smaller batches"
        ) from None
