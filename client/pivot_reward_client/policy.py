"""Retries and failover, without IO: which URL next, whether to retry, how long to wait.

`exchange()` is a generator that yields what to do (`Send` an attempt, `Sleep`) and receives each
attempt's outcome; the sync and async transports only carry the actions out.
"""

import random
import threading
import time
import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import httpx

from pivot_reward_client.errors import PivotRewardError
from pivot_reward_client.protocol import (
    JSON,
    Call,
    decode_success,
    dumps,
    failure_from_exception,
    failure_from_response,
)

DEFAULT_TIMEOUT_S = 180.0  # OpenRLHF's remote reward-model timeout
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 5


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


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry.

    Attributes:
        max_retries: Retries after the first attempt (so `max_retries + 1` attempts in all).
        backoff_base: First backoff delay in seconds; doubles per round of failures.
        backoff_max: Cap of the backoff delay.
        max_retry_after: Cap of a server's `Retry-After`.
        timeout: Per-attempt read timeout in seconds.
        connect_timeout: Per-attempt connect timeout, so a dead host fails over fast.
        deadline: Seconds one call may take in all, retries included (None: no bound). Fit it to
            a trainer's step: past it the call fails instead of stalling the run.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    timeout: float = DEFAULT_TIMEOUT_S
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("timeouts must be > 0")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be > 0 (or None)")

    def backoff(self, rounds: int, retry_after: float | None) -> float:
        """Seconds to wait after `rounds` full rounds over every URL have failed."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(rounds - 1, 0)))
        # "Equal jitter": at least half the exponential delay, at most all of it.
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def httpx_timeout(self, remaining: float | None = None) -> httpx.Timeout:
        read = self.timeout if remaining is None else max(0.001, min(self.timeout, remaining))
        return httpx.Timeout(read, connect=min(self.connect_timeout, read))


@dataclass
class UrlPool:
    """Round-robin over base URLs; a URL that refused a connection cools down for a while."""

    urls: list[str]
    cooldown: float = 10.0
    _next: int = 0
    _down_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, tried: set[str]) -> str:
        """Next URL, preferring ones not tried by this call and not cooling down."""
        n = len(self.urls)
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % n
            down = dict(self._down_until)
        ordered = [self.urls[(start + i) % n] for i in range(n)]
        fresh = [u for u in ordered if u not in tried] or ordered
        now = time.monotonic()
        healthy = [u for u in fresh if down.get(u, 0.0) <= now]
        return (healthy or fresh)[0]

    def mark_down(self, url: str) -> None:
        if self.cooldown > 0 and len(self.urls) > 1:
            with self._lock:
                self._down_until[url] = time.monotonic() + self.cooldown

    def mark_up(self, url: str) -> None:
        if url in self._down_until:
            with self._lock:
                self._down_until.pop(url, None)


@dataclass(frozen=True)
class Send:
    """Action: make one HTTP attempt."""

    method: str
    url: str
    content: bytes | None
    headers: dict[str, str]
    timeout: httpx.Timeout


@dataclass(frozen=True)
class Sleep:
    """Action: wait before the next attempt."""

    seconds: float


Outcome = httpx.Response | httpx.TransportError
Exchange = Generator[Send | Sleep, Outcome | None, JSON]


def exchange(call: Call, pool: UrlPool, policy: RetryPolicy) -> Exchange:
    """One logical request with retries and failover; its return value is the decoded answer.

    A failed attempt is retried at once on a URL this call has not tried yet; only when every URL
    has failed does it back off. One `X-Request-ID` covers all attempts, so server logs tie them.
    """
    request_id = uuid.uuid4().hex
    content = dumps(call.body) if call.body is not None else None
    headers = {"X-Request-ID": request_id}
    if content is not None:
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    tried: set[str] = set()
    rounds = attempts = 0
    while True:
        remaining = (
            None if policy.deadline is None else policy.deadline - (time.monotonic() - started)
        )
        base = pool.pick(tried)
        url = base + call.path
        attempts += 1
        outcome = yield Send(call.method, url, content, headers, policy.httpx_timeout(remaining))
        if isinstance(outcome, httpx.Response):
            if outcome.is_success:
                pool.mark_up(base)
                return decode_success(outcome, url, request_id)
            failure = failure_from_response(outcome, url, request_id)
        elif isinstance(outcome, httpx.TransportError):
            failure = failure_from_exception(outcome, url, request_id)
            pool.mark_down(base)
        else:  # pragma: no cover - a transport bug, not a server answer
            raise TypeError(f"unexpected outcome {outcome!r}")
        error = failure.error
        error.attempts = attempts
        if not error.retryable or attempts > policy.max_retries:
            raise error
        tried.add(base)
        delay = 0.0
        if all(u in tried for u in pool.urls):
            rounds += 1
            tried.clear()
            delay = policy.backoff(rounds, failure.retry_after)
        if policy.deadline is not None and time.monotonic() - started + delay >= policy.deadline:
            raise PivotRewardError(
                f"gave up after {attempts} attempts: the {policy.deadline:g}s deadline would pass "
                f"before the next one (last error: {error})",
                status=error.status,
                type="deadline_exceeded",
                request_id=request_id,
                url=url,
                attempts=attempts,
                retryable=True,
            )
        if delay > 0:
            yield Sleep(delay)
