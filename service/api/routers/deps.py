"""Dependencies shared by routers: state, API-key check, limits, deadlines."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from service.errors import DeadlineExceededError, InvalidInputError, UnauthorizedError
from service.state import ServiceState

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="One of the keys in PIVOT_API_KEYS.")


class _KeyInUrl(HTTPBasic):
    """Declares HTTP Basic in the OpenAPI schema; the header itself is read by `check_api_key`,
    so a malformed one gets the service's own 401 body instead of FastAPI's."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


_basic = _KeyInUrl(
    scheme_name="HTTPBasic",
    auto_error=False,
    description="The key in the URL's user-info, for clients that cannot set headers "
    "(OpenRLHF: `--reward.remote_url http://KEY:@host:8000/get_reward`): the Basic password, or "
    "the user name when the password is empty (`KEY:`).",
)


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its worker
# thread pool, which costs every request a thread hop and, under a burst, up to 40 new threads
# (each a new malloc arena: the server's RSS stepped up after latency spikes in bench/soak.py).
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.pivot
    return state


def offered_key(authorization: str | None) -> bytes | None:
    """The key a request offers: `Bearer KEY`, or Basic credentials from a URL's user-info: the
    password (`http://user:KEY@host/`), or the user name when the password is empty
    (`http://KEY:@host/`; httpx also sends that for `http://KEY@host/`, python-requests sends
    nothing without the colon). None when there is none."""
    scheme, param = get_authorization_scheme_param(authorization)
    if not param:
        return None
    if scheme.lower() == "bearer":
        return param.encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(param.encode("latin-1"), validate=True)
        except (ValueError, binascii.Error):
            return b""  # offered, but unreadable: "invalid", not "missing"
        user, _, password = decoded.partition(b":")
        return password or user
    return None


def check_api_key(state: ServiceState, authorization: str | None) -> None:
    """Constant-time comparison against every configured key; no keys = open."""
    keys = state.settings.api_key_list
    if not keys:
        return
    offered = offered_key(authorization)
    if offered is None:
        raise UnauthorizedError(
            "missing API key: send 'Authorization: Bearer <key>', or put the key in the URL "
            "(http://KEY:@host:port/...)"
        )
    # Compare against all keys (no early exit) so timing does not reveal which one nearly matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(offered, key.encode())
    if not matched:
        raise UnauthorizedError("invalid API key")


async def authorization_header(
    request: Request,
    _bearer_scheme: HTTPAuthorizationCredentials | None = Depends(_bearer),
    _basic_scheme: None = Depends(_basic),
) -> str | None:
    """The Authorization header; the two scheme dependencies put both in openapi.yaml."""
    return request.headers.get("authorization")


async def require_api_key(
    state: ServiceState = Depends(get_state),
    authorization: str | None = Depends(authorization_header),
) -> None:
    check_api_key(state, authorization)


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
