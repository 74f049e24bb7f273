"""The async client's aiohttp transport on loopback: the default when aiohttp is installed, and
what it turns network faults into (the retry policy reads httpx's error types)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pivot_reward_client import AsyncPivotRewardClient, PivotRewardError
from pivot_reward_client.aiohttp_transport import AiohttpTransport

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import free_port, running_server

KEY = "aio-key"


@pytest.fixture(scope="module")
def keyed() -> Iterator[str]:
    app = create_app(fast_settings(api_keys=KEY), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


async def test_aiohttp_is_the_default_transport_and_httpx_can_be_forced() -> None:
    async with AsyncPivotRewardClient("http://127.0.0.1:9") as client:
        assert isinstance(client._http._transport, AiohttpTransport)
    forced = AsyncPivotRewardClient("http://127.0.0.1:9", transport=httpx.AsyncHTTPTransport())
    assert not isinstance(forced._http._transport, AiohttpTransport)
    await forced.aclose()


async def test_scores_match_the_httpx_transport_and_the_key_in_the_url_works(keyed: str) -> None:
    pairs = [
        {"candidate": f"Die Antwort lautet {i}.", "reference": "The answer is 18."}
        for i in range(6)
    ]
    with_key = keyed.replace("http://", f"http://{KEY}:@")
    async with AsyncPivotRewardClient(with_key) as fast:
        ours = await fast.similarity(pairs)
    async with AsyncPivotRewardClient(
        keyed, api_key=KEY, transport=httpx.AsyncHTTPTransport()
    ) as slow:
        theirs = await slow.similarity(pairs)
    assert ours["results"] == theirs["results"]
    async with AsyncPivotRewardClient(keyed, max_retries=0) as no_key:
        with pytest.raises(PivotRewardError) as caught:
            await no_key.similarity(pairs)
    assert caught.value.status == 401


@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[str, list[str]]]:
    """Reads a request, then either never answers ("hang") or closes the socket ("close")."""
    behaviour: list[str] = ["hang"]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if behaviour[0] == "close":
            writer.close()
            return
        await asyncio.sleep(30)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", behaviour
        server.close()


async def test_a_server_that_never_answers_is_a_timeout(
    silent_server: tuple[str, list[str]],
) -> None:
    base, _ = silent_server
    async with AsyncPivotRewardClient(base, timeout=0.3, max_retries=0) as client:
        with pytest.raises(PivotRewardError) as caught:
            await client.post("/v1/similarity", {"pairs": []})
    assert caught.value.type == "timeout" and caught.value.retryable


async def test_a_connection_closed_before_the_answer_is_retryable(
    silent_server: tuple[str, list[str]],
) -> None:
    base, behaviour = silent_server
    behaviour[0] = "close"
    async with AsyncPivotRewardClient(base, max_retries=0) as client:
        with pytest.raises(PivotRewardError) as caught:
            await client.post("/v1/similarity", {"pairs": []})
    assert caught.value.type == "transport_error" and caught.value.retryable


async def test_a_refused_connection_is_a_connection_error() -> None:
    async with AsyncPivotRewardClient(f"http://127.0.0.1:{free_port()}", max_retries=0) as client:
        with pytest.raises(PivotRewardError) as caught:
            await client.post("/v1/similarity", {"pairs": []})
    assert caught.value.type == "connection_error"


def test_a_client_dropped_with_its_loop_closes_quietly(keyed: str) -> None:
    """The adapters keep one client per event loop and drop it with the loop (no aclose)."""
    import gc
    import warnings

    reported: list[dict] = []

    async def use_and_drop() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reported.append(ctx))
        client = AsyncPivotRewardClient(keyed, api_key=KEY)
        await client.similarity([{"candidate": "a", "reference": "b"}])
        del client
        gc.collect()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            asyncio.run(use_and_drop())
        gc.collect()
    assert not [c for c in reported if "Unclosed" in str(c.get("message"))]
    assert not [w for w in caught if "Unclosed" in str(w.message)]
