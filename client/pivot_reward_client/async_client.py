"""The asynchronous client: `httpx.AsyncClient` carrying out `policy.exchange()`'s actions."""

import asyncio
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, Self, Unpack

import httpx

from pivot_reward_client import protocol
from pivot_reward_client.aiohttp_transport import AiohttpTransport, aiohttp_available
from pivot_reward_client.endpoints import ClientBase, ClientOptions
from pivot_reward_client.errors import PivotRewardError
from pivot_reward_client.policy import Exchange, Send, exchange
from pivot_reward_client.protocol import JSON, Call

Answer = Coroutine[Any, Any, JSON]


class AsyncPivotRewardClient(ClientBase[Answer]):
    """Asynchronous client, same methods and behaviour as `PivotRewardClient` (awaitable).

    Chunks of a split batch are sent concurrently; at most `max_in_flight` requests of this client
    are outstanding at once, across all calls. Requests go through aiohttp when it is installed
    (`aiohttp_transport.py`: far less CPU per request than httpx's own pool), else through httpx;
    `transport=httpx.AsyncHTTPTransport()` forces httpx. Use one instance per event loop (an
    httpx.AsyncClient belongs to the loop that first uses it); `loops.LoopLocalClients` does that.
    """

    # How the client waits between attempts; an attribute so a test can record the waits without
    # patching asyncio.sleep for the whole event loop.
    _pause = staticmethod(asyncio.sleep)

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_urls, **options)
        if transport is None and aiohttp_available():
            # httpx's own pool costs ~4 ms of CPU per request at 32 connections; aiohttp < 1 ms.
            transport = AiohttpTransport(self.max_in_flight)
        limits = httpx.Limits(
            max_connections=self.max_in_flight, max_keepalive_connections=self.max_in_flight
        )
        self._http = httpx.AsyncClient(
            headers=self._headers,
            timeout=self.policy.httpx_timeout(),
            limits=limits,
            transport=transport,
        )
        # Created on first use, inside the loop that uses them.
        self._slots: asyncio.Semaphore | None = None
        self._limits_lock: asyncio.Lock | None = None

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

    async def _attempt(self, send: Send) -> httpx.Response | httpx.TransportError:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        async with self._slots:
            try:
                return await self._http.request(
                    send.method,
                    send.url,
                    content=send.content,
                    headers=send.headers,
                    timeout=send.timeout,
                )
            except httpx.TransportError as exc:
                return exc

    async def _drive(self, steps: Exchange) -> JSON:
        try:
            step = next(steps)
            while True:
                if isinstance(step, Send):
                    step = steps.send(await self._attempt(step))
                else:
                    await self._pause(step.seconds)
                    step = steps.send(None)
        except StopIteration as done:
            answer: JSON = done.value
            return answer

    async def _send(self, call: Call) -> JSON:
        answer = await self._drive(exchange(call, self._pool, self.policy))
        self._observe(call, answer)
        return answer

    async def _ensure_limits(self) -> None:
        if self._limits_lock is None:
            self._limits_lock = asyncio.Lock()
        async with self._limits_lock:
            if self._limits is not None:
                return
            try:
                await self._send(protocol.models())
            except PivotRewardError as exc:
                if exc.status != 404:
                    raise
                self._limits = protocol.Limits(None)  # no /v1/models: send batches whole

    async def _execute(self, call: Call) -> JSON:
        if protocol.needs_limits(call, self._limits):
            await self._ensure_limits()
        chunks = protocol.plan(call, self._limits)
        answers = await asyncio.gather(*(self._send(chunk) for chunk in chunks))
        return protocol.merge(call, list(answers))
