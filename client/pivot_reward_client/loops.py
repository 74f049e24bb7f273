"""One async client per event loop (an httpx.AsyncClient belongs to the loop that first used it)."""

import asyncio
import threading
import weakref
from collections.abc import Callable

from pivot_reward_client.async_client import AsyncPivotRewardClient


class LoopLocalClients:
    """One `AsyncPivotRewardClient` per event loop, created on first use in that loop.

    TRL runs async reward functions in one long-lived loop, but other callers (scripts calling
    `asyncio.run` per batch, verl's reward workers) may use several; each gets its own client and
    connection pool, dropped with its loop.
    """

    def __init__(self, factory: Callable[[], AsyncPivotRewardClient]) -> None:
        self._factory = factory
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncPivotRewardClient]
        self._clients = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self) -> AsyncPivotRewardClient:
        """The client of the running loop (call from inside a coroutine)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                client = self._factory()
                self._clients[loop] = client
            return client

    async def aclose(self) -> None:
        """Close the running loop's client, if any."""
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()
