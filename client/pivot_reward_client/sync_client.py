"""The synchronous client: `httpx.Client` carrying out `policy.exchange()`'s actions."""

import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Self, Unpack

import httpx

from pivot_reward_client import protocol
from pivot_reward_client.endpoints import ClientBase, ClientOptions
from pivot_reward_client.errors import PivotRewardError
from pivot_reward_client.policy import Exchange, Send, exchange
from pivot_reward_client.protocol import JSON, Call


class PivotRewardClient(ClientBase[JSON]):
    """Synchronous client; thread-safe, so one instance can serve many threads.

    Every method returns the decoded JSON body of the endpoint (a dict), as the server sends it,
    except that batches larger than the server's limit are split (chunks sent one after the other)
    and their result lists concatenated. Retries: connection errors, timeouts, 429, 503 and other
    5xx, with capped exponential backoff and jitter, honouring `Retry-After`; other 4xx are not
    retried. Failures raise `PivotRewardError`. See `ClientBase` for the arguments; `transport` is
    an httpx transport (tests: `httpx.MockTransport`).
    """

    # How the client waits between attempts; an attribute so a test can record the waits without
    # patching time.sleep for every thread of the process.
    _pause = staticmethod(time.sleep)

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_urls, **options)
        limits = httpx.Limits(
            max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight
        )
        self._http = httpx.Client(
            headers=self._headers,
            timeout=self.policy.httpx_timeout(),
            limits=limits,
            transport=transport,
        )
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._limits_lock = threading.Lock()

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

    def _attempt(self, send: Send) -> httpx.Response | httpx.TransportError:
        with self._slots:
            try:
                return self._http.request(
                    send.method,
                    send.url,
                    content=send.content,
                    headers=send.headers,
                    timeout=send.timeout,
                )
            except httpx.TransportError as exc:
                return exc

    def _drive(self, steps: Exchange) -> JSON:
        try:
            step = next(steps)
            while True:
                if isinstance(step, Send):
                    step = steps.send(self._attempt(step))
                else:
                    self._pause(step.seconds)
                    step = steps.send(None)
        except StopIteration as done:
            answer: JSON = done.value
            return answer

    def _send(self, call: Call) -> JSON:
        answer = self._drive(exchange(call, self._pool, self.policy))
        self._observe(call, answer)
        return answer

    def _ensure_limits(self) -> None:
        with self._limits_lock:
            if self._limits is not None:
                return
            try:
                self._send(protocol.models())
            except PivotRewardError as exc:
                if exc.status != 404:
                    raise
                self._limits = protocol.Limits(None)  # no /v1/models: send batches whole

    def _execute(self, call: Call) -> JSON:
        if protocol.needs_limits(call, self._limits):
            self._ensure_limits()
        chunks = protocol.plan(call, self._limits)
        return protocol.merge(call, [self._send(chunk) for chunk in chunks])


__all__ = ["PivotRewardClient"]
