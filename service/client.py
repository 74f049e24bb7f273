"""Python client for pivot-reward: sync (`PivotRewardClient`) and async (`AsyncPivotRewardClient`).

Both clients have the same methods and behaviour::

    from service.client import PivotRewardClient

    with PivotRewardClient("http://rm-0:8000,http://rm-1:8000", api_key="...") as client:
        out = client.rewards(
            [{"response": "Die Antwort lautet 18.", "lang": "de", "pivot_answer": "18"}],
            preset="pasmr",
        )
        rewards = [r["reward"] for r in out["results"]]

Every method returns the decoded JSON body of the endpoint (a dict), exactly as the server sends it,
except that batches larger than the server's limit are split and their result lists concatenated.

Behaviour:

- **Retries.** Connection errors, timeouts, 429, 503 and other 5xx are retried up to `max_retries`
  times (so `max_retries + 1` attempts in all), with capped exponential backoff and jitter. A
  `Retry-After` header (429, 503) is honoured, capped at `max_retry_after`. Other 4xx (400, 401, 413,
  422, ...) are not retried. A 503 whose error type is `unavailable` (an optional feature such as
  translation is not configured on the server) is not retried either: it will not go away.
- **Several base URLs.** Requests are spread round-robin over the base URLs. A failed attempt is
  retried at once on a base URL this call has not tried yet; only when every URL has failed does
  the client sleep. A URL that refused a connection (or timed out) is skipped for
  `failover_cooldown` seconds while others are available.
- **Batch splitting.** Lists longer than the server's `max_items_per_request` (read once, lazily,
  from `GET /v1/models` unless given) are sent in chunks, in order, and the results concatenated.
  Chunks also stay under the server's `max_body_bytes` (when read from `/v1/models`). The sync client
  sends chunks one after the other; the async client sends up to `max_concurrency` at once.
  Every scoring endpoint scores items independently, so splitting does not change any result;
  `rank()` is the exception (candidates are scored against each other) and is never split.
- **Errors.** Anything that is not a success ends in `PivotRewardError`, carrying the HTTP status,
  the server's error `type`, `message`, `fields` (`[{"loc", "msg"}]`) and `request_id`.

Each chunk carries one `X-Request-ID` for all its attempts, so server logs tie the retries together.
The API key is sent as `Authorization: Bearer <key>`; it defaults to the `PIVOT_API_KEY` environment
variable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from service import __version__

__all__ = [
    "AsyncPivotRewardClient",
    "PivotRewardClient",
    "PivotRewardError",
    "parse_base_urls",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 180.0  # OpenRLHF's remote reward-model timeout
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 5
API_KEY_ENV = "PIVOT_API_KEY"

JSON = dict[str, Any]


class PivotRewardError(Exception):
    """A request to pivot-reward failed (non-retryable error, or retries exhausted).

    Attributes:
        status: HTTP status code, or None when no response arrived (connection error, timeout).
        type: The server's machine-readable error type (`validation_error`, `overloaded`, ...), or
            a client-side one: `connection_error`, `timeout`, `transport_error`, `http_error`
            (a non-JSON error body, e.g. from a proxy), `invalid_response`.
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


def parse_base_urls(base_urls: str | Sequence[str]) -> list[str]:
    """Normalise base URLs: a comma-separated string or a sequence; trailing slashes removed.

    A URL given without a scheme gets `http://`.
    """
    parts = base_urls.split(",") if isinstance(base_urls, str) else list(base_urls)
    urls: list[str] = []
    for part in parts:
        url = str(part).strip().rstrip("/")
        if not url:
            continue
        if "://" not in url:
            url = "http://" + url
        urls.append(url)
    if not urls:
        raise ValueError("no base URL given (e.g. 'http://127.0.0.1:8000')")
    return urls


# --------------------------------------------------------------------------------------------
# Shared, IO-free machinery: URL choice, retry decisions, chunk planning, merging.
# --------------------------------------------------------------------------------------------


@dataclass
class _Failure:
    error: PivotRewardError
    retry_after: float | None = None


@dataclass
class _Split:
    """How to split one request: the list to split, lists aligned with it, the result list."""

    key: str
    result_key: str = "results"
    parallel: tuple[str, ...] = ()


@dataclass
class _Limits:
    max_items: int | None
    max_body_bytes: int | None


@dataclass
class _Core:
    """State and decisions shared by the sync and async clients (no IO here)."""

    urls: list[str]
    backoff_base: float
    backoff_max: float
    max_retry_after: float
    failover_cooldown: float
    limits: _Limits | None
    _rr: int = 0
    _down_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- URL choice ----
    def pick_url(self, tried: set[str]) -> str:
        """Next URL round-robin, preferring ones not tried in this round and not cooling down."""
        n = len(self.urls)
        with self._lock:
            start = self._rr
            self._rr = (self._rr + 1) % n
            down = dict(self._down_until)
        ordered = [self.urls[(start + i) % n] for i in range(n)]
        fresh = [u for u in ordered if u not in tried] or ordered
        now = time.monotonic()
        healthy = [u for u in fresh if down.get(u, 0.0) <= now]
        return (healthy or fresh)[0]

    def mark_down(self, url: str) -> None:
        if self.failover_cooldown > 0 and len(self.urls) > 1:
            with self._lock:
                self._down_until[url] = time.monotonic() + self.failover_cooldown

    def mark_up(self, url: str) -> None:
        if url in self._down_until:
            with self._lock:
                self._down_until.pop(url, None)

    # ---- retry decisions ----
    def next_delay(self, failure: _Failure, rounds: int) -> float:
        """Seconds to wait after `rounds` full rounds over every URL have failed."""
        if failure.retry_after is not None:
            return max(0.0, min(failure.retry_after, self.max_retry_after))
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(rounds - 1, 0)))
        # "Equal jitter": at least half the exponential delay, at most all of it.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # ---- chunking ----
    def chunk_bounds(self, body: Mapping[str, Any], split: _Split) -> list[tuple[int, int]]:
        """[start, end) index ranges of the split list, respecting item and byte limits."""
        items = body[split.key]
        n = len(items)
        limits = self.limits or _Limits(None, None)
        max_items = limits.max_items or n
        if limits.max_body_bytes is None:
            return [(i, min(i + max_items, n)) for i in range(0, n, max_items)]
        parallel = [k for k in split.parallel if isinstance(body.get(k), list)]
        rest = {k: v for k, v in body.items() if k != split.key and k not in parallel}
        # 10% slack for the JSON punctuation we do not count exactly, and the other keys.
        budget = int(limits.max_body_bytes * 0.9) - len(_dumps(rest)) - 64
        bounds: list[tuple[int, int]] = []
        start, size = 0, 0
        for i in range(n):
            item_size = len(_dumps(items[i])) + 1
            for key in parallel:
                item_size += len(_dumps(body[key][i])) + 1
            if i > start and (i - start >= max_items or size + item_size > budget):
                bounds.append((start, i))
                start, size = i, 0
            size += item_size
        bounds.append((start, n))
        return bounds

    def needs_limits(self, body: Mapping[str, Any], split: _Split | None) -> bool:
        if split is None or self.limits is not None:
            return False
        items = body.get(split.key)
        return isinstance(items, list) and len(items) > 1

    def set_limits_from_models(self, models: Mapping[str, Any]) -> None:
        raw = models.get("limits") or {}
        max_items = raw.get("max_items_per_request")
        max_bytes = raw.get("max_body_bytes")
        self.limits = _Limits(
            int(max_items) if isinstance(max_items, int) and max_items > 0 else None,
            int(max_bytes) if isinstance(max_bytes, int) and max_bytes > 0 else None,
        )

    def plan(self, body: Mapping[str, Any], split: _Split | None) -> list[JSON] | None:
        """Chunk bodies, or None when the body goes as is."""
        if split is None:
            return None
        items = body.get(split.key)
        if not isinstance(items, list) or len(items) <= 1:
            return None
        bounds = self.chunk_bounds(body, split)
        if len(bounds) == 1:
            return None
        chunks: list[JSON] = []
        for start, end in bounds:
            chunk = dict(body)
            chunk[split.key] = items[start:end]
            for key in split.parallel:
                if isinstance(body.get(key), list):
                    chunk[key] = body[key][start:end]
            chunks.append(chunk)
        return chunks


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _merge(responses: list[JSON], result_key: str) -> JSON:
    merged = dict(responses[0])
    combined: list[Any] = []
    for response in responses:
        part = response.get(result_key)
        if not isinstance(part, list):
            raise PivotRewardError(
                f"response has no list {result_key!r} to merge", type="invalid_response"
            )
        combined.extend(part)
    merged[result_key] = combined
    return merged


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # HTTP-date form
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _failure_from_response(response: httpx.Response, url: str, request_id: str) -> _Failure:
    status = response.status_code
    retry_after = _parse_retry_after(response.headers.get("retry-after"))
    error_type, message, fields, rid = "http_error", "", [], None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        detail = payload["error"]
        error_type = str(detail.get("type") or error_type)
        message = str(detail.get("message") or "")
        fields = [f for f in detail.get("fields") or [] if isinstance(f, dict)]
        rid = detail.get("request_id")
    if not message:
        text = response.text.strip()
        message = (text[:300] + "...") if len(text) > 300 else (text or response.reason_phrase)
    retryable = status == 429 or (
        status >= 500 and not (status == 503 and error_type == "unavailable")
    )
    error = PivotRewardError(
        message,
        status=status,
        type=error_type,
        fields=fields,
        request_id=rid or response.headers.get("x-request-id") or request_id,
        url=url,
        retryable=retryable,
        retry_after=retry_after,
    )
    return _Failure(error, retry_after if status in (429, 503) else None)


_RETRYABLE_TRANSPORT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


def _failure_from_exception(exc: httpx.TransportError, url: str, request_id: str) -> _Failure:
    if isinstance(exc, httpx.TimeoutException):
        kind = "timeout"
    elif isinstance(exc, httpx.ConnectError):
        kind = "connection_error"
    else:
        kind = "transport_error"
    error = PivotRewardError(
        f"{type(exc).__name__}: {exc or 'no detail'}",
        type=kind,
        request_id=request_id,
        url=url,
        retryable=isinstance(exc, _RETRYABLE_TRANSPORT),
    )
    return _Failure(error)


def _decode_success(response: httpx.Response, url: str, request_id: str) -> JSON:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise PivotRewardError(
            f"expected a JSON object, got: {response.text[:200]!r}",
            status=response.status_code,
            type="invalid_response",
            request_id=response.headers.get("x-request-id") or request_id,
            url=url,
        )
    return payload


class _Attempts:
    """The attempts of one logical request: URL choice, failover, backoff, giving up."""

    def __init__(self, core: _Core, max_retries: int, body: Mapping[str, Any] | None) -> None:
        self.core = core
        self.max_retries = max_retries
        self.request_id = uuid.uuid4().hex
        self.content = _dumps(body) if body is not None else None
        self.tried: set[str] = set()
        self.rounds = 0
        self.count = 0

    def headers(self, client: _BaseClient) -> dict[str, str]:
        return client._request_headers(self.request_id, self.content is not None)

    def next_url(self) -> str:
        self.count += 1
        return self.core.pick_url(self.tried)

    def succeeded(self, base: str, response: httpx.Response, url: str) -> JSON:
        self.core.mark_up(base)
        return _decode_success(response, url, self.request_id)

    def failed(self, base: str, failure: _Failure) -> float:
        """Seconds to wait before the next attempt; raises the error when there is none."""
        failure.error.attempts = self.count
        if failure.error.status is None:
            self.core.mark_down(base)
        if not failure.error.retryable or self.count > self.max_retries:
            raise failure.error
        self.tried.add(base)
        if any(u not in self.tried for u in self.core.urls):
            return 0.0  # fail over to a URL this request has not tried yet, at once
        self.rounds += 1
        self.tried.clear()
        return self.core.next_delay(failure, self.rounds)


# --------------------------------------------------------------------------------------------
# Request bodies (shared by both clients)
# --------------------------------------------------------------------------------------------


def _pair(value: Mapping[str, Any] | Sequence[str], keys: tuple[str, str]) -> JSON:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str | bytes) or len(value) != 2:
        raise TypeError(f"expected a dict or a ({keys[0]}, {keys[1]}) pair, got {value!r}")
    first, second = value
    return {keys[0]: first, keys[1]: second}


def _similarity_body(
    pairs: Sequence[Mapping[str, Any] | Sequence[str]] | None,
    reference: str | None,
    candidates: Sequence[str] | None,
    model: str | None,
    truncate: bool,
) -> tuple[JSON, _Split]:
    if pairs is not None:
        if reference is not None or candidates is not None:
            raise ValueError("give either pairs, or reference and candidates, not both")
        body: JSON = {"pairs": [_pair(p, ("candidate", "reference")) for p in pairs]}
        split = _Split("pairs")
    elif reference is not None and candidates is not None:
        body = {"reference": reference, "candidates": list(candidates)}
        split = _Split("candidates")
    else:
        raise ValueError("give pairs, or reference and candidates")
    if model is not None:
        body["model"] = model
    if truncate:
        body["truncate"] = True
    return body, split


def _with_options(body: JSON, **options: Any) -> JSON:
    for key, value in options.items():
        if value is not None:
            body[key] = value
    return body


def _translate_body(
    texts: Sequence[str],
    source_lang: str | None,
    source_langs: Sequence[str] | None,
    target_lang: str,
    beam_size: int | None,
    max_length: int | None,
) -> JSON:
    body: JSON = {"texts": list(texts), "target_lang": target_lang}
    return _with_options(
        body,
        source_lang=source_lang,
        source_langs=list(source_langs) if source_langs is not None else None,
        beam_size=beam_size,
        max_length=max_length,
    )


def _translation_similarity_body(
    pairs: Sequence[Mapping[str, Any]] | None,
    reference: str | None,
    candidates: Sequence[str] | None,
    source_lang: str | None,
    chrf: bool,
    truncate: bool,
    beam_size: int | None,
    max_length: int | None,
) -> tuple[JSON, _Split]:
    if pairs is not None:
        if reference is not None or candidates is not None:
            raise ValueError("give either pairs, or reference and candidates, not both")
        body: JSON = {"pairs": [dict(p) for p in pairs]}
        split = _Split("pairs")
    elif reference is not None and candidates is not None:
        body = {"reference": reference, "candidates": list(candidates)}
        split = _Split("candidates")
    else:
        raise ValueError("give pairs, or reference and candidates (with source_lang)")
    _with_options(body, source_lang=source_lang, beam_size=beam_size, max_length=max_length)
    if chrf:
        body["chrf"] = True
    if truncate:
        body["truncate"] = True
    return body, split


def _rank_candidate(value: Mapping[str, Any] | Sequence[str]) -> JSON:
    return _pair(value, ("response", "lang"))


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


class _BaseClient:
    """Configuration shared by both clients."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 60.0,
        failover_cooldown: float = 10.0,
        max_items_per_request: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if max_items_per_request is not None and max_items_per_request < 1:
            raise ValueError("max_items_per_request must be >= 1 (or None to ask the server)")
        self.base_urls = parse_base_urls(base_urls)
        self.api_key = api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)
        self.max_retries = max_retries
        self._core = _Core(
            urls=self.base_urls,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            failover_cooldown=failover_cooldown,
            limits=_Limits(max_items_per_request, None) if max_items_per_request else None,
        )
        self._timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._headers = {
            "User-Agent": f"pivot-reward-client/{__version__}",
            "Accept": "application/json",
        }
        if self.api_key:
            self._headers["Authorization"] = f"Bearer {self.api_key}"
        if headers:
            self._headers.update(headers)

    @property
    def max_items_per_request(self) -> int | None:
        """The item limit in use: given, or read from `/v1/models` (None until then)."""
        return self._core.limits.max_items if self._core.limits else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_urls={self.base_urls!r})"

    def _request_headers(self, request_id: str, has_body: bool) -> dict[str, str]:
        headers = {"X-Request-ID": request_id}
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers


class PivotRewardClient(_BaseClient):
    """Synchronous client (httpx.Client); thread-safe, so one instance can serve many threads.

    Args:
        base_urls: One base URL, several as a sequence, or a comma-separated string
            (`"http://rm-0:8000,http://rm-1:8000"`, like OpenRLHF's `--reward.remote_url`).
        api_key: Bearer key; default: the `PIVOT_API_KEY` environment variable (none if unset).
        timeout: Per-attempt timeout in seconds for reading the response (default 180).
        connect_timeout: Per-attempt connect timeout (default 10), so a dead host fails over fast.
        max_retries: Retries after the first attempt (default 5).
        backoff_base: First backoff delay in seconds; doubles per round of failures.
        backoff_max: Cap of the backoff delay.
        max_retry_after: Cap of a server's `Retry-After`.
        failover_cooldown: Seconds to avoid a URL that refused a connection (several URLs only).
        max_items_per_request: Split lists into chunks of at most this many items; None (default)
            reads the server's limit from `GET /v1/models` once, on first need.
        headers: Extra headers sent with every request.
        transport: An httpx transport (tests: `httpx.MockTransport`).
    """

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 60.0,
        failover_cooldown: float = 10.0,
        max_items_per_request: int | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_urls,
            api_key=api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            failover_cooldown=failover_cooldown,
            max_items_per_request=max_items_per_request,
            headers=headers,
        )
        self._http = httpx.Client(headers=self._headers, timeout=self._timeout, transport=transport)
        self._limits_lock = threading.Lock()

    # ---- lifecycle ----
    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- transport with retries ----
    def _send(self, method: str, path: str, body: Mapping[str, Any] | None) -> JSON:
        """One logical request with retries and failover; returns the decoded JSON object."""
        attempts = _Attempts(self._core, self.max_retries, body)
        while True:
            base = attempts.next_url()
            url = base + path
            try:
                response = self._http.request(
                    method, url, content=attempts.content, headers=attempts.headers(self)
                )
            except httpx.TransportError as exc:
                failure = _failure_from_exception(exc, url, attempts.request_id)
            else:
                if response.is_success:
                    return attempts.succeeded(base, response, url)
                failure = _failure_from_response(response, url, attempts.request_id)
            delay = attempts.failed(base, failure)  # raises when not retryable or exhausted
            log.debug("retrying %s %s in %.2fs after: %s", method, path, delay, failure.error)
            if delay > 0:
                time.sleep(delay)

    def _ensure_limits(self) -> None:
        with self._limits_lock:
            if self._core.limits is not None:
                return
            try:
                models = self._send("GET", "/v1/models", None)
            except PivotRewardError as exc:
                if exc.status != 404:
                    raise
                log.warning("no /v1/models on %s: not splitting batches", exc.url)
                models = {}
            self._core.set_limits_from_models(models)

    def _call(self, path: str, body: Mapping[str, Any], split: _Split | None = None) -> JSON:
        if self._core.needs_limits(body, split):
            self._ensure_limits()
        chunks = self._core.plan(body, split)
        if chunks is None or split is None:
            return self._send("POST", path, body)
        return _merge([self._send("POST", path, chunk) for chunk in chunks], split.result_key)

    # ---- endpoints ----
    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        split: str | None = None,
        result_key: str = "results",
    ) -> JSON:
        """POST any JSON body to `path` with retries and failover.

        With `split="items"` (say), `body["items"]` is sent in chunks under the server's limit and
        the chunks' `result_key` lists are concatenated.
        """
        return self._call(path, body, _Split(split, result_key) if split else None)

    def models(self) -> JSON:
        """`GET /v1/models`: loaded models, device, languages, request limits, batching knobs."""
        models = self._send("GET", "/v1/models", None)
        if self._core.limits is None:
            self._core.set_limits_from_models(models)
        return models

    def similarity(
        self,
        pairs: Sequence[Mapping[str, Any] | Sequence[str]] | None = None,
        *,
        reference: str | None = None,
        candidates: Sequence[str] | None = None,
        model: str | None = None,
        truncate: bool = False,
    ) -> JSON:
        """`POST /v1/similarity`: calibrated semantic equivalence to an English reference.

        Either `pairs` (`{"candidate", "reference"}` dicts or `(candidate, reference)` tuples), or
        one `reference` with many `candidates` (split keeping the reference in every chunk).
        Returns `{"model", "calibration", "results": [{"score", "cosine", "truncated"}]}`.
        """
        body, split = _similarity_body(pairs, reference, candidates, model, truncate)
        return self._call("/v1/similarity", body, split)

    def answer_consistency(
        self,
        items: Sequence[Mapping[str, Any]],
        rewards: Mapping[str, float] | None = None,
    ) -> JSON:
        """`POST /v1/answer-consistency` (PASMR): items are `{"target_response", "lang",
        "pivot_response"?, "pivot_answer"?}`; `rewards` overrides `{"match", "mismatch",
        "format_error"}`. Returns `{"results": [{"status", "reward", ...}]}`."""
        body: JSON = {"items": [dict(i) for i in items]}
        if rewards is not None:
            body["rewards"] = dict(rewards)
        return self._call("/v1/answer-consistency", body, _Split("items"))

    def translate(
        self,
        texts: Sequence[str],
        *,
        source_lang: str | None = None,
        source_langs: Sequence[str] | None = None,
        target_lang: str = "en",
        beam_size: int | None = None,
        max_length: int | None = None,
    ) -> JSON:
        """`POST /v1/translate` (NLLB-200): one `source_lang` for all texts or `source_langs` per
        text. Returns `{"model", "target_lang", "translations": [{"text", ...}]}`."""
        body = _translate_body(texts, source_lang, source_langs, target_lang, beam_size, max_length)
        return self._call("/v1/translate", body, _Split("texts", "translations", ("source_langs",)))

    def translation_similarity(
        self,
        pairs: Sequence[Mapping[str, Any]] | None = None,
        *,
        reference: str | None = None,
        candidates: Sequence[str] | None = None,
        source_lang: str | None = None,
        chrf: bool = False,
        truncate: bool = False,
        beam_size: int | None = None,
        max_length: int | None = None,
    ) -> JSON:
        """`POST /v1/translation-similarity`: translate into English, then compare with the
        reference. `pairs` are `{"candidate", "reference", "source_lang"}`; or the grouped form."""
        body, split = _translation_similarity_body(
            pairs, reference, candidates, source_lang, chrf, truncate, beam_size, max_length
        )
        return self._call("/v1/translation-similarity", body, split)

    def pivot_extract(
        self,
        rollouts: Sequence[str],
        *,
        start: str | None = None,
        end: str | None = None,
        require_start: bool | None = None,
    ) -> JSON:
        """`POST /v1/pivot/extract`: split PASMR rollouts into pivot question and target answer."""
        body = _with_options(
            {"rollouts": list(rollouts)}, start=start, end=end, require_start=require_start
        )
        return self._call("/v1/pivot/extract", body, _Split("rollouts"))

    def rewards(
        self,
        items: Sequence[Mapping[str, Any]],
        preset: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> JSON:
        """`POST /v1/rewards`: the composite trainer reward.

        Items are `{"response", "lang", "reference"?, "pivot_response"?, "pivot_answer"?,
        "prompt"?}`; `preset` is `pb-rlsvr-embedding`, `pb-rlsvr-translation`, `pasmr`, `hybrid`
        or None (the server's default). `extra` adds other top-level body fields.
        Returns `{"preset", "results": [{"reward", "components", "detected_lang",
        "answer_status", "gate"}]}`; a null `reward` means "exclude this sample".
        """
        body: JSON = {"items": [dict(i) for i in items]}
        if preset is not None:
            body["preset"] = preset
        if extra:
            body.update(extra)
        return self._call("/v1/rewards", body, _Split("items"))

    def rank(
        self,
        candidates: Sequence[Mapping[str, Any] | Sequence[str]],
        *,
        question: str | None = None,
        reference: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> JSON:
        """`POST /v1/rank` (Best-of-L): candidates are `{"response", "lang"}` dicts or
        `(response, lang)` tuples. Returns `{"scores": [...], "best_index": int}`. Never split:
        candidates are scored against each other."""
        body = _with_options(
            {"candidates": [_rank_candidate(c) for c in candidates]},
            question=question,
            reference=reference,
        )
        if extra:
            body.update(extra)
        return self._call("/v1/rank", body, None)


class AsyncPivotRewardClient(_BaseClient):
    """Asynchronous client (httpx.AsyncClient), same methods and behaviour as `PivotRewardClient`.

    Chunks of a split batch are sent concurrently, at most `max_concurrency` at a time per call.
    Use one instance per event loop (an httpx.AsyncClient is bound to the loop that first uses it).
    """

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 60.0,
        failover_cooldown: float = 10.0,
        max_items_per_request: int | None = None,
        max_concurrency: int = 8,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_urls,
            api_key=api_key,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            failover_cooldown=failover_cooldown,
            max_items_per_request=max_items_per_request,
            headers=headers,
        )
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.max_concurrency = max_concurrency
        self._http = httpx.AsyncClient(
            headers=self._headers, timeout=self._timeout, transport=transport
        )

    # ---- lifecycle ----
    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def close(self) -> None:
        """Alias of `aclose()`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---- transport with retries ----
    async def _send(self, method: str, path: str, body: Mapping[str, Any] | None) -> JSON:
        """One logical request with retries and failover; returns the decoded JSON object."""
        attempts = _Attempts(self._core, self.max_retries, body)
        while True:
            base = attempts.next_url()
            url = base + path
            try:
                response = await self._http.request(
                    method, url, content=attempts.content, headers=attempts.headers(self)
                )
            except httpx.TransportError as exc:
                failure = _failure_from_exception(exc, url, attempts.request_id)
            else:
                if response.is_success:
                    return attempts.succeeded(base, response, url)
                failure = _failure_from_response(response, url, attempts.request_id)
            delay = attempts.failed(base, failure)  # raises when not retryable or exhausted
            log.debug("retrying %s %s in %.2fs after: %s", method, path, delay, failure.error)
            if delay > 0:
                await asyncio.sleep(delay)

    async def _ensure_limits(self) -> None:
        # Concurrent first calls may each read /v1/models once; harmless, and needs no lock
        # bound to one event loop.
        try:
            models = await self._send("GET", "/v1/models", None)
        except PivotRewardError as exc:
            if exc.status != 404:
                raise
            log.warning("no /v1/models on %s: not splitting batches", exc.url)
            models = {}
        if self._core.limits is None:
            self._core.set_limits_from_models(models)

    async def _call(self, path: str, body: Mapping[str, Any], split: _Split | None = None) -> JSON:
        if self._core.needs_limits(body, split):
            await self._ensure_limits()
        chunks = self._core.plan(body, split)
        if chunks is None or split is None:
            return await self._send("POST", path, body)
        semaphore = asyncio.Semaphore(self.max_concurrency)

        async def one(chunk: JSON) -> JSON:
            async with semaphore:
                return await self._send("POST", path, chunk)

        responses = await asyncio.gather(*(one(c) for c in chunks))
        return _merge(list(responses), split.result_key)

    # ---- endpoints (see PivotRewardClient for the documentation) ----
    async def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        split: str | None = None,
        result_key: str = "results",
    ) -> JSON:
        """POST any JSON body; see `PivotRewardClient.post`."""
        return await self._call(path, body, _Split(split, result_key) if split else None)

    async def models(self) -> JSON:
        """`GET /v1/models`."""
        models = await self._send("GET", "/v1/models", None)
        if self._core.limits is None:
            self._core.set_limits_from_models(models)
        return models

    async def similarity(
        self,
        pairs: Sequence[Mapping[str, Any] | Sequence[str]] | None = None,
        *,
        reference: str | None = None,
        candidates: Sequence[str] | None = None,
        model: str | None = None,
        truncate: bool = False,
    ) -> JSON:
        """`POST /v1/similarity`; see `PivotRewardClient.similarity`."""
        body, split = _similarity_body(pairs, reference, candidates, model, truncate)
        return await self._call("/v1/similarity", body, split)

    async def answer_consistency(
        self,
        items: Sequence[Mapping[str, Any]],
        rewards: Mapping[str, float] | None = None,
    ) -> JSON:
        """`POST /v1/answer-consistency`; see `PivotRewardClient.answer_consistency`."""
        body: JSON = {"items": [dict(i) for i in items]}
        if rewards is not None:
            body["rewards"] = dict(rewards)
        return await self._call("/v1/answer-consistency", body, _Split("items"))

    async def translate(
        self,
        texts: Sequence[str],
        *,
        source_lang: str | None = None,
        source_langs: Sequence[str] | None = None,
        target_lang: str = "en",
        beam_size: int | None = None,
        max_length: int | None = None,
    ) -> JSON:
        """`POST /v1/translate`; see `PivotRewardClient.translate`."""
        body = _translate_body(texts, source_lang, source_langs, target_lang, beam_size, max_length)
        return await self._call(
            "/v1/translate", body, _Split("texts", "translations", ("source_langs",))
        )

    async def translation_similarity(
        self,
        pairs: Sequence[Mapping[str, Any]] | None = None,
        *,
        reference: str | None = None,
        candidates: Sequence[str] | None = None,
        source_lang: str | None = None,
        chrf: bool = False,
        truncate: bool = False,
        beam_size: int | None = None,
        max_length: int | None = None,
    ) -> JSON:
        """`POST /v1/translation-similarity`; see `PivotRewardClient.translation_similarity`."""
        body, split = _translation_similarity_body(
            pairs, reference, candidates, source_lang, chrf, truncate, beam_size, max_length
        )
        return await self._call("/v1/translation-similarity", body, split)

    async def pivot_extract(
        self,
        rollouts: Sequence[str],
        *,
        start: str | None = None,
        end: str | None = None,
        require_start: bool | None = None,
    ) -> JSON:
        """`POST /v1/pivot/extract`; see `PivotRewardClient.pivot_extract`."""
        body = _with_options(
            {"rollouts": list(rollouts)}, start=start, end=end, require_start=require_start
        )
        return await self._call("/v1/pivot/extract", body, _Split("rollouts"))

    async def rewards(
        self,
        items: Sequence[Mapping[str, Any]],
        preset: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> JSON:
        """`POST /v1/rewards`; see `PivotRewardClient.rewards`."""
        body: JSON = {"items": [dict(i) for i in items]}
        if preset is not None:
            body["preset"] = preset
        if extra:
            body.update(extra)
        return await self._call("/v1/rewards", body, _Split("items"))

    async def rank(
        self,
        candidates: Sequence[Mapping[str, Any] | Sequence[str]],
        *,
        question: str | None = None,
        reference: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> JSON:
        """`POST /v1/rank`; see `PivotRewardClient.rank`. Never split."""
        body = _with_options(
            {"candidates": [_rank_candidate(c) for c in candidates]},
            question=question,
            reference=reference,
        )
        if extra:
            body.update(extra)
        return await self._call("/v1/rank", body, None)
