"""Trainer adapters for pivot-reward: TRL (`service.integrations.trl`) and verl
(`service.integrations.verl`). Neither imports its trainer: they only follow its calling convention.

This module holds what both share: reading text out of plain or conversational samples, one async
client per event loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from service.client import AsyncPivotRewardClient

__all__ = [
    "LoopLocalClients",
    "completion_text",
    "prompt_text",
    "resolve_base_urls",
    "sendable_response",
]

URL_ENV = "PIVOT_REWARD_URL"


def _content_text(content: Any) -> str:
    """Message content as text: a string, or a list of parts (`{"type": "text", "text": ...}`)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return str(content)


def _messages_text(messages: Sequence[Any], role: str) -> str:
    """Content of the last message with `role`, else of the last message."""
    dicts = [m for m in messages if isinstance(m, Mapping)]
    for message in reversed(dicts):
        if message.get("role") == role:
            return _content_text(message.get("content"))
    return _content_text(dicts[-1].get("content")) if dicts else ""


def completion_text(completion: Any) -> str:
    """The response text of a completion: a string, one message, or a conversation (the last
    assistant message's content, as TRL passes conversational completions)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence):
        return _messages_text(completion, "assistant")
    return "" if completion is None else str(completion)


def prompt_text(prompt: Any) -> str:
    """The question of a prompt: a string, or a conversation (the last user message's content)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Mapping):
        return _content_text(prompt.get("content"))
    if isinstance(prompt, Sequence):
        return _messages_text(prompt, "user")
    return "" if prompt is None else str(prompt)


def resolve_base_urls(base_urls: str | Sequence[str] | None) -> str | Sequence[str]:
    """The given base URLs, else the `PIVOT_REWARD_URL` environment variable (comma-separated)."""
    if base_urls:
        return base_urls
    env = os.environ.get(URL_ENV, "").strip()
    if not env:
        raise ValueError(
            f"no pivot-reward URL: pass base_urls or set {URL_ENV} (e.g. http://127.0.0.1:8000)"
        )
    return env


class LoopLocalClients:
    """One `AsyncPivotRewardClient` per event loop, created on first use in that loop.

    An httpx.AsyncClient belongs to the loop that first used it. TRL runs async reward functions
    in one long-lived loop, but other callers (scripts calling `asyncio.run` per batch, verl's
    reward workers) may use several; each gets its own client and connection pool.
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


def sendable_response(text: str) -> str:
    """The response as sent: the server requires at least one character, so an empty completion
    goes as a single space, which the server scores as empty (gate `empty`, format error)."""
    return text if text else " "
