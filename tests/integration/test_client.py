"""pivot_reward_client (the client distribution) against the real app on loopback (hash encoder), plus a scripted flaky proxy.

The proxy is a second uvicorn app in front of the real server: it records every request and can
answer the next POSTs with scripted failures (429 / 503 / 500 / a non-JSON 502 / a delay) before
forwarding. A few unit-level tests use httpx.MockTransport where a real socket cannot show the
behaviour (backoff delays, which URL was tried).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pivot_reward_client import (
    AsyncPivotRewardClient,
    PivotRewardClient,
    PivotRewardError,
    parse_base_urls,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import free_port, running_server

REFERENCE = "Janet sells 9 eggs at $2 each, so she makes $18."
FAST: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05}  # fast retries for tests


# ------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=2), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def small_server() -> Iterator[str]:
    """A server that takes at most 5 items per request (PIVOT_MAX_ITEMS_PER_REQUEST=5)."""
    app = create_app(
        fast_settings(max_wait_ms=2, max_items_per_request=5), encoder_factory=HashFactory()
    )
    with running_server(app) as base:
        yield base


@dataclass
class Step:
    """One scripted answer of the proxy: an error status (None = forward), after a delay."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None  # default: the service's JSON error shape


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Proxy:
    """Records requests; answers scoring POSTs from `script` first, then forwards to `target`."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.script: list[Step] = []
        self.seen: list[Seen] = []
        self.app = Starlette(
            routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])],
        )

    def posts(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and (path is None or s.path == path)]

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        self.seen.append(Seen(request.method, path, dict(request.headers), body))
        if request.method == "POST" and path.startswith("/v1/") and self.script:
            step = self.script.pop(0)
            if step.delay:
                await asyncio.sleep(step.delay)
            if step.status is not None:
                content = step.body
                if content is None:
                    content = json.dumps(
                        {
                            "error": {
                                "type": "scripted",
                                "message": f"scripted {step.status}",
                                "fields": [],
                                "request_id": request.headers.get("x-request-id"),
                            }
                        }
                    ).encode()
                return Response(content, step.status, headers=step.headers)
        forward = {
            k: v
            for k, v in request.headers.items()
            if k in ("content-type", "authorization", "x-request-id")
        }
        async with httpx.AsyncClient(timeout=30) as http:
            upstream = await http.request(
                request.method, self.target + path, content=body, headers=forward
            )
        keep = {
            k: v
            for k, v in upstream.headers.items()
            if k in ("content-type", "x-request-id", "retry-after", "www-authenticate")
        }
        return Response(upstream.content, upstream.status_code, headers=keep)


@contextmanager
def proxy_for(target: str) -> Iterator[tuple[Proxy, str]]:
    proxy = Proxy(target)
    with running_server(proxy.app) as base:  # type: ignore[arg-type]
        proxy.seen.clear()  # drop the readiness probes
        yield proxy, base


@pytest.fixture
def proxy(server: str) -> Iterator[tuple[Proxy, str]]:
    with proxy_for(server) as pair:
        yield pair


@pytest.fixture
def small_proxy(small_server: str) -> Iterator[tuple[Proxy, str]]:
    with proxy_for(small_server) as pair:
        yield pair


def direct(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(base + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def consistency_items(n: int) -> list[dict[str, Any]]:
    """Items whose statuses spell out their position: every third one mismatches."""
    return [
        {
            "target_response": f"Die Antwort lautet {i if i % 3 else i + 1}.",
            "pivot_answer": str(i),
            "lang": "de",
        }
        for i in range(n)
    ]


# ------------------------------------------------------------------------------------------
# results equal direct HTTP calls
# ------------------------------------------------------------------------------------------


def test_models_and_lazy_limits(server: str) -> None:
    with PivotRewardClient(server) as client:
        assert client.max_items_per_request is None
        models = client.models()
        assert models == httpx.get(server + "/v1/models").json()
        assert client.max_items_per_request == models["limits"]["max_items_per_request"] == 1024


def test_results_equal_direct_http(server: str) -> None:
    pairs = [
        {"candidate": "Janet verkauft 9 Eier für je 2 $.", "reference": REFERENCE},
        {"candidate": "El vestido necesita 3 rollos.", "reference": REFERENCE},
    ]
    candidates = [p["candidate"] for p in pairs]
    items = consistency_items(4)
    rollouts = ["<pivot>How many eggs?</pivot>Neun Eier.", "no pivot here"]
    rank_candidates = [
        {"response": "Sie verkauft 9 Eier. Die Antwort lautet 18.", "lang": "de"},
        {"response": "Elle vend 9 œufs. La réponse est 18.", "lang": "fr"},
        {"response": "她卖 10 个鸡蛋。答案是 20。", "lang": "zh"},
    ]
    with PivotRewardClient(server) as client:
        assert client.similarity(pairs) == direct(server, "/v1/similarity", {"pairs": pairs})
        assert client.similarity([(p["candidate"], p["reference"]) for p in pairs]) == direct(
            server, "/v1/similarity", {"pairs": pairs}
        )
        assert client.similarity(reference=REFERENCE, candidates=candidates) == direct(
            server, "/v1/similarity", {"reference": REFERENCE, "candidates": candidates}
        )
        assert client.answer_consistency(items) == direct(
            server, "/v1/answer-consistency", {"items": items}
        )
        rewards = {"match": 2.0, "mismatch": -1.0, "format_error": -2.0}
        assert client.answer_consistency(items, rewards=rewards) == direct(
            server, "/v1/answer-consistency", {"items": items, "rewards": rewards}
        )
        assert client.pivot_extract(rollouts) == direct(
            server, "/v1/pivot/extract", {"rollouts": rollouts}
        )
        assert client.rank(rank_candidates) == direct(
            server, "/v1/rank", {"candidates": rank_candidates}
        )
        ranked = client.rank(
            [(c["response"], c["lang"]) for c in rank_candidates], reference=REFERENCE
        )
        assert ranked == direct(
            server, "/v1/rank", {"candidates": rank_candidates, "reference": REFERENCE}
        )
        assert client.post("/v1/similarity", {"pairs": pairs}) == direct(
            server, "/v1/similarity", {"pairs": pairs}
        )


async def test_async_results_equal_direct_http(server: str) -> None:
    pairs = [{"candidate": "Janet verkauft 9 Eier.", "reference": REFERENCE}]
    items = consistency_items(3)
    async with AsyncPivotRewardClient(server) as client:
        models, similarity, consistency = await asyncio.gather(
            client.models(),
            client.similarity(pairs),
            client.answer_consistency(items),
        )
    assert models == httpx.get(server + "/v1/models").json()
    assert similarity == direct(server, "/v1/similarity", {"pairs": pairs})
    assert consistency == direct(server, "/v1/answer-consistency", {"items": items})


def _rewards_available(base: str) -> None:
    probe = httpx.post(
        base + "/v1/rewards",
        json={"preset": "pasmr", "items": [{"response": "Antwort: 1", "lang": "de"}]},
        timeout=30,
    )
    if probe.status_code == 404:
        pytest.skip("rewards endpoint not yet available")


def test_rewards_equal_direct_http(server: str) -> None:
    _rewards_available(server)
    items = [
        {"response": "Die Antwort lautet 18.", "lang": "de", "pivot_answer": "18"},
        {"response": "Die Antwort lautet 17.", "lang": "de", "pivot_answer": "18"},
        {"response": "The answer is 18.", "lang": "de", "pivot_answer": "18"},
    ]
    with PivotRewardClient(server, max_retries=1, **FAST) as client:
        out = client.rewards(items, preset="pasmr")
    assert out == direct(server, "/v1/rewards", {"preset": "pasmr", "items": items})
    assert out["preset"] == "pasmr"
    assert len(out["results"]) == 3


# ------------------------------------------------------------------------------------------
# batch splitting
# ------------------------------------------------------------------------------------------


def test_23_pairs_go_in_5_requests_in_order(
    small_server: str, small_proxy: tuple[Proxy, str]
) -> None:
    proxy, base = small_proxy
    pairs = [
        {"candidate": f"candidate number {i} " * (i % 4 + 1), "reference": REFERENCE}
        for i in range(23)
    ]
    with PivotRewardClient(base) as client:
        out = client.similarity(pairs)
        assert client.max_items_per_request == 5
    sent = proxy.posts("/v1/similarity")
    assert [len(s.json()["pairs"]) for s in sent] == [5, 5, 5, 5, 3]
    assert [p for s in sent for p in s.json()["pairs"]] == pairs
    # The limit was read once, before the first chunk.
    assert [s.path for s in proxy.seen if s.method == "GET"] == ["/v1/models"]
    expected = [
        r
        for start in range(0, 23, 5)
        for r in direct(small_server, "/v1/similarity", {"pairs": pairs[start : start + 5]})[
            "results"
        ]
    ]
    assert out["results"] == expected
    assert out["model"] == "test-hash-encoder"
    # Each pair's score equals the pair scored alone.
    alone = direct(small_server, "/v1/similarity", {"pairs": [pairs[17]]})["results"][0]
    assert out["results"][17] == alone


def test_grouped_form_splits_candidates_keeping_reference(
    small_server: str, small_proxy: tuple[Proxy, str]
) -> None:
    proxy, base = small_proxy
    candidates = [f"Kandidat {i}: Janet verkauft {i} Eier." for i in range(12)]
    with PivotRewardClient(base) as client:
        out = client.similarity(reference=REFERENCE, candidates=candidates)
    sent = [s.json() for s in proxy.posts("/v1/similarity")]
    assert [len(b["candidates"]) for b in sent] == [5, 5, 2]
    assert all(b["reference"] == REFERENCE and "pairs" not in b for b in sent)
    pairs = [{"candidate": c, "reference": REFERENCE} for c in candidates]
    for i in (0, 6, 11):
        assert (
            out["results"][i]
            == direct(small_server, "/v1/similarity", {"pairs": [pairs[i]]})["results"][0]
        )


def test_23_consistency_items_in_order(small_proxy: tuple[Proxy, str]) -> None:
    proxy, base = small_proxy
    items = consistency_items(23)
    with PivotRewardClient(base) as client:
        out = client.answer_consistency(items)
    assert len(proxy.posts("/v1/answer-consistency")) == 5
    statuses = [r["status"] for r in out["results"]]
    assert statuses == ["mismatch" if i % 3 == 0 else "match" for i in range(23)]
    assert [r["target_answer"] for r in out["results"]] == [
        str(i + 1 if i % 3 == 0 else i) for i in range(23)
    ]


def test_pivot_extract_is_split(small_proxy: tuple[Proxy, str]) -> None:
    proxy, base = small_proxy
    rollouts = [f"<pivot>Question {i}?</pivot>Antwort {i}." for i in range(7)]
    with PivotRewardClient(base) as client:
        out = client.pivot_extract(rollouts)
    assert len(proxy.posts("/v1/pivot/extract")) == 2
    assert [r["pivot_question"] for r in out["results"]] == [f"Question {i}?" for i in range(7)]


def test_given_limit_skips_models_call(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    with PivotRewardClient(base, max_items_per_request=4) as client:
        out = client.answer_consistency(consistency_items(10))
    assert [len(s.json()["items"]) for s in p.posts()] == [4, 4, 2]
    assert not [s for s in p.seen if s.method == "GET"]
    assert len(out["results"]) == 10


def test_single_item_needs_no_limit(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    with PivotRewardClient(base) as client:
        client.answer_consistency(consistency_items(1))
    assert [s.path for s in p.seen] == ["/v1/answer-consistency"]


def test_chunks_stay_under_body_limit() -> None:
    app = create_app(
        fast_settings(max_wait_ms=2, max_body_bytes=4096), encoder_factory=HashFactory()
    )
    with running_server(app) as target, proxy_for(target) as (p, base):
        # 12 pairs of ~900 bytes each: 1 request by count, but over 4 KiB.
        pairs = [{"candidate": f"{i} " + "ü" * 400, "reference": REFERENCE} for i in range(12)]
        with PivotRewardClient(base) as client:
            out = client.similarity(pairs)
        sent = p.posts("/v1/similarity")
        assert len(sent) > 1
        assert all(len(s.body) <= 4096 for s in sent)
        assert sum(len(s.json()["pairs"]) for s in sent) == 12
        assert len(out["results"]) == 12


async def test_async_splits_concurrently_in_order(
    small_server: str, small_proxy: tuple[Proxy, str]
) -> None:
    proxy, base = small_proxy
    items = consistency_items(23)
    async with AsyncPivotRewardClient(base, max_in_flight=3) as client:
        out = await client.answer_consistency(items)
    assert len(proxy.posts("/v1/answer-consistency")) == 5
    expected = [
        r
        for start in range(0, 23, 5)
        for r in direct(
            small_server, "/v1/answer-consistency", {"items": items[start : start + 5]}
        )["results"]
    ]
    assert out["results"] == expected


# ------------------------------------------------------------------------------------------
# retries against a real (flaky) loopback server
# ------------------------------------------------------------------------------------------


def test_429_then_503_then_success(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    p.script = [
        Step(429, {"Retry-After": "0"}),
        Step(503, {"Retry-After": "0"}),
    ]
    pairs = [{"candidate": "Janet verkauft 9 Eier.", "reference": REFERENCE}]
    with PivotRewardClient(base, backoff_base=5.0) as client:  # Retry-After: 0 wins over backoff
        started = time.monotonic()
        out = client.similarity(pairs)
        elapsed = time.monotonic() - started
    assert len(out["results"]) == 1
    attempts = p.posts("/v1/similarity")
    assert len(attempts) == 3
    ids = {s.headers["x-request-id"] for s in attempts}
    assert len(ids) == 1  # one request id for all attempts of one request
    assert elapsed < 3


def test_retry_after_is_honoured_and_capped(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    pairs = [{"candidate": "x y z", "reference": REFERENCE}]
    p.script = [Step(429, {"Retry-After": "1"})]
    with PivotRewardClient(base, **FAST) as client:
        started = time.monotonic()
        client.similarity(pairs)
        assert time.monotonic() - started >= 0.9
    p.script = [Step(429, {"Retry-After": "3600"})]
    with PivotRewardClient(base, max_retry_after=0.2, **FAST) as client:
        started = time.monotonic()
        client.similarity(pairs)
        assert time.monotonic() - started < 2


def test_5xx_retries_exhausted_raise(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    p.script = [Step(500)] * 10
    with (
        PivotRewardClient(base, max_retries=2, **FAST) as client,
        pytest.raises(PivotRewardError) as caught,
    ):
        client.similarity([{"candidate": "a", "reference": "b"}])
    error = caught.value
    assert error.status == 500
    assert error.type == "scripted"
    assert error.attempts == 3
    assert error.retryable
    assert error.request_id == p.posts()[0].headers["x-request-id"]
    assert len(p.posts()) == 3


def test_non_json_502_from_a_proxy_is_retried(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    p.script = [Step(502, {"content-type": "text/html"}, body=b"<html>Bad Gateway</html>")]
    with PivotRewardClient(base, **FAST) as client:
        out = client.similarity([{"candidate": "a", "reference": "b"}])
    assert len(out["results"]) == 1
    assert len(p.posts()) == 2


def test_read_timeout_is_retried(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    p.script = [Step(None, delay=2.0)]  # the first attempt hangs, then would be forwarded
    with PivotRewardClient(base, timeout=0.5, **FAST) as client:
        out = client.similarity([{"candidate": "a", "reference": "b"}])
    assert len(out["results"]) == 1
    assert len(p.posts()) == 2


def test_422_is_not_retried_and_names_the_field(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    with PivotRewardClient(base, **FAST) as client, pytest.raises(PivotRewardError) as caught:
        client.similarity([{"candidate": "", "reference": "r"}])
    error = caught.value
    assert error.status == 422
    assert error.type == "validation_error"
    assert error.fields and error.fields[0]["loc"] == "pairs[0].candidate"
    assert error.fields[0]["msg"]
    assert error.request_id == p.posts()[0].headers["x-request-id"]
    assert error.attempts == 1 and not error.retryable
    assert "pairs[0].candidate" in str(error)
    assert len(p.posts()) == 1


def test_unconfigured_translation_is_not_retried(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    with PivotRewardClient(base, **FAST) as client, pytest.raises(PivotRewardError) as caught:
        client.translate(["Hallo Welt"], source_lang="de")
    assert caught.value.status == 503
    assert caught.value.type == "unavailable"
    assert len(p.posts("/v1/translate")) == 1


def test_connection_refused_fails_over_to_the_second_url(server: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    pairs = [{"candidate": "Janet verkauft 9 Eier.", "reference": REFERENCE}]
    # A long backoff proves failover to an untried URL does not wait.
    with PivotRewardClient([dead, server], backoff_base=30.0) as client:
        started = time.monotonic()
        results = [client.similarity(pairs) for _ in range(4)]
        assert time.monotonic() - started < 5
    assert all(r == direct(server, "/v1/similarity", {"pairs": pairs}) for r in results)


def test_all_urls_dead_raises_connection_error() -> None:
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    with (
        PivotRewardClient(dead, max_retries=3, **FAST) as client,
        pytest.raises(PivotRewardError) as caught,
    ):
        client.models()
    assert caught.value.type == "connection_error"
    assert caught.value.status is None
    assert caught.value.attempts == 4


def test_round_robin_over_urls(server: str) -> None:
    with proxy_for(server) as (p1, b1), proxy_for(server) as (p2, b2):
        with PivotRewardClient(f"{b1}, {b2}/") as client:
            for _ in range(6):
                client.similarity([{"candidate": "a", "reference": "b"}])
        assert len(p1.posts()) == len(p2.posts()) == 3


def test_failing_url_is_retried_elsewhere(server: str) -> None:
    with proxy_for(server) as (p1, b1), proxy_for(server) as (p2, b2):
        p1.script = [Step(503, {"Retry-After": "5"})]
        with PivotRewardClient([b1, b2], backoff_base=30.0) as client:
            started = time.monotonic()
            client.similarity([{"candidate": "a", "reference": "b"}])
            assert time.monotonic() - started < 3  # went to b2 at once, no waiting
        assert len(p1.posts()) == len(p2.posts()) == 1


# ------------------------------------------------------------------------------------------
# API key
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[str]:
    app = create_app(fast_settings(api_keys="k1-secret"), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


def test_api_key_header(keyed_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = [{"candidate": "a", "reference": "b"}]
    monkeypatch.delenv("PIVOT_API_KEY", raising=False)
    with PivotRewardClient(keyed_server, **FAST) as client, pytest.raises(PivotRewardError) as e:
        client.similarity(pairs)
    assert e.value.status == 401 and e.value.attempts == 1
    with PivotRewardClient(keyed_server, api_key="k1-secret") as client:
        assert len(client.similarity(pairs)["results"]) == 1
    monkeypatch.setenv("PIVOT_API_KEY", "k1-secret")
    with PivotRewardClient(keyed_server) as client:
        assert client.api_key == "k1-secret"
        assert client.models()["limits"]
    with proxy_for(keyed_server) as (p, base), PivotRewardClient(base) as client:
        client.similarity(pairs)
        assert p.posts()[0].headers["authorization"] == "Bearer k1-secret"
        assert p.posts()[0].headers["user-agent"].startswith("pivot-reward-client/")


async def test_async_api_key(keyed_server: str) -> None:
    async with AsyncPivotRewardClient(keyed_server, api_key="k1-secret") as client:
        out = await client.similarity(reference="b", candidates=["a", "c"])
    assert len(out["results"]) == 2
    async with AsyncPivotRewardClient(keyed_server, api_key="wrong", **FAST) as client:
        with pytest.raises(PivotRewardError) as caught:
            await client.models()
    assert caught.value.status == 401


# ------------------------------------------------------------------------------------------
# async retries and failover (real servers)
# ------------------------------------------------------------------------------------------


async def test_async_retries_then_succeeds(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    p.script = [Step(429, {"Retry-After": "0"}), Step(503, {"Retry-After": "0"}), Step(500)]
    async with AsyncPivotRewardClient(base, **FAST) as client:
        out = await client.similarity([{"candidate": "a", "reference": "b"}])
    assert len(out["results"]) == 1
    assert len(p.posts()) == 4


async def test_async_failover_and_422(server: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with AsyncPivotRewardClient(f"{dead},{server}", backoff_base=30.0) as client:
        out = await asyncio.gather(
            *(client.similarity([{"candidate": f"a{i}", "reference": "b"}]) for i in range(4))
        )
        assert all(len(o["results"]) == 1 for o in out)
        with pytest.raises(PivotRewardError) as caught:
            await client.answer_consistency([{"target_response": "x", "lang": "d"}])
    assert caught.value.status == 422
    assert caught.value.fields[0]["loc"] == "items[0].lang"


async def test_async_exhausted(proxy: tuple[Proxy, str]) -> None:
    p, base = proxy
    p.script = [Step(503)] * 5
    async with AsyncPivotRewardClient(base, max_retries=1, **FAST) as client:
        with pytest.raises(PivotRewardError) as caught:
            await client.similarity([{"candidate": "a", "reference": "b"}])
    assert caught.value.status == 503 and caught.value.attempts == 2


# ------------------------------------------------------------------------------------------
# unit level (MockTransport): backoff schedule, cooldown, parsing
# ------------------------------------------------------------------------------------------


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"results": [{"score": 1.0}]})


def test_backoff_is_exponential_capped_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(PivotRewardClient, "_pause", staticmethod(sleeps.append))
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))
    client = PivotRewardClient(
        "http://rm", transport=transport, max_retries=6, backoff_base=1.0, backoff_max=8.0
    )
    with client, pytest.raises(PivotRewardError) as caught:
        client.post("/v1/similarity", {"pairs": []})
    assert caught.value.attempts == 7
    assert caught.value.type == "http_error" and "boom" in caught.value.message
    ceilings = [1, 2, 4, 8, 8, 8]
    assert len(sleeps) == 6
    for delay, ceiling in zip(sleeps, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_dead_url_cools_down(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "dead":
            raise httpx.ConnectError("refused", request=request)
        return _ok(request)

    monkeypatch.setattr(PivotRewardClient, "_pause", staticmethod(lambda s: pytest.fail("slept")))
    with PivotRewardClient(
        "http://dead,http://live", transport=httpx.MockTransport(handler)
    ) as client:
        for _ in range(6):
            client.post("/v1/x", {})
    # The dead URL is tried once; during its cool-down every request goes to the live one.
    assert hosts == ["dead", "live"] + ["live"] * 5


async def test_async_backoff_with_mock_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    monkeypatch.setattr(AsyncPivotRewardClient, "_pause", staticmethod(fake_sleep))
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {}})
        return _ok(request)

    async with AsyncPivotRewardClient(
        "http://rm", transport=httpx.MockTransport(handler), max_retry_after=5.0
    ) as client:
        out = await client.post("/v1/x", {})
    assert out == {"results": [{"score": 1.0}]}
    assert sleeps == [5.0, 5.0]  # Retry-After honoured, capped


def test_invalid_success_body_raises() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="not json"))
    with (
        PivotRewardClient("http://rm", transport=transport) as client,
        pytest.raises(PivotRewardError) as caught,
    ):
        client.models()
    assert caught.value.type == "invalid_response"


def test_parse_base_urls() -> None:
    assert parse_base_urls("http://a:1, http://b:2/ ,") == ["http://a:1", "http://b:2"]
    assert parse_base_urls(["127.0.0.1:8000"]) == ["http://127.0.0.1:8000"]
    with pytest.raises(ValueError):
        parse_base_urls(" , ")
    with pytest.raises(ValueError):
        PivotRewardClient("http://a", max_items_per_request=0)


def test_bad_arguments() -> None:
    with PivotRewardClient("http://a") as client:
        with pytest.raises(ValueError):
            client.similarity()
        with pytest.raises(ValueError):
            client.similarity([("a", "b")], reference="r", candidates=["c"])
        with pytest.raises(TypeError):
            client.similarity(["ab"])


def _fake_translator(seen: list[dict[str, Any]]) -> httpx.MockTransport:
    """/v1/models with small limits, and a /v1/translate that upper-cases each text."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(
                200,
                json={"models": [], "limits": {"max_items_per_request": 3, "max_body_bytes": 1024}},
            )
        body = json.loads(request.content)
        seen.append(body)
        langs = body.get("source_langs") or [body.get("source_lang")] * len(body["texts"])
        return httpx.Response(
            200,
            json={
                "model": "fake",
                "target_lang": "eng_Latn",
                "translations": [
                    {"text": t.upper(), "source_lang": lang}
                    for t, lang in zip(body["texts"], langs)
                ],
            },
        )

    return httpx.MockTransport(handler)


def test_translate_splits_texts_with_their_languages() -> None:
    seen: list[dict[str, Any]] = []
    texts = [f"text {i}" for i in range(7)]
    langs = ["de", "fr", "bn", "zh", "ja", "ru", "sw"]
    with PivotRewardClient("http://rm", transport=_fake_translator(seen)) as client:
        out = client.translate(texts, source_langs=langs)
        assert [len(b["texts"]) for b in seen] == [3, 3, 1]
        assert [b["source_langs"] for b in seen] == [langs[:3], langs[3:6], langs[6:]]
        assert [t["text"] for t in out["translations"]] == [t.upper() for t in texts]
        assert [t["source_lang"] for t in out["translations"]] == langs
        seen.clear()
        out = client.translate(["x" * 300] * 5, source_lang="de")  # bytes, not count, decide
        assert [len(b["texts"]) for b in seen] == [2, 2, 1]
        assert all(b["source_lang"] == "de" and "source_langs" not in b for b in seen)
        assert len(out["translations"]) == 5


# ------------------------------------------------------------------------------------------
# in-flight bound, deadline, /get_reward splitting, pickling
# ------------------------------------------------------------------------------------------


class _Concurrency:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1


async def test_async_in_flight_bound_holds_across_calls() -> None:
    seen = _Concurrency()

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.enter()
        await asyncio.sleep(0.05)
        seen.leave()
        return _ok(request)

    async with AsyncPivotRewardClient(
        "http://rm", transport=httpx.MockTransport(handler), max_in_flight=2
    ) as client:
        await asyncio.gather(*(client.post("/v1/x", {}) for _ in range(8)))
    assert seen.peak == 2


def test_sync_in_flight_bound_holds_across_threads() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    seen = _Concurrency()
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.enter()
        time.sleep(0.05)
        with lock:
            seen.leave()
        return _ok(request)

    with (
        PivotRewardClient(
            "http://rm", transport=httpx.MockTransport(handler), max_in_flight=3
        ) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        list(pool.map(lambda _: client.post("/v1/x", {}), range(12)))
    assert seen.peak == 3


def test_deadline_stops_retrying() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(503, headers={"Retry-After": "2"}, json={"error": {}})
    )
    with PivotRewardClient("http://rm", transport=transport, deadline=0.5) as client:
        started = time.monotonic()
        with pytest.raises(PivotRewardError) as caught:
            client.post("/v1/x", {})
        assert time.monotonic() - started < 1.0  # did not sleep the 2 s Retry-After
    assert caught.value.type == "deadline_exceeded"
    assert caught.value.attempts == 1 and caught.value.status == 503


def test_get_reward_is_split_keeping_lists_aligned(
    server: str, small_proxy: tuple[Proxy, str]
) -> None:
    proxy, base = small_proxy
    queries = [f"Frage {i}? Die Antwort lautet {i}." for i in range(7)]
    prompts = [f"Frage {i}?" for i in range(7)]
    labels: list[Any] = [
        {"pivot_answer": str(i if i % 2 else i + 1), "lang": "de"} for i in range(7)
    ]
    with PivotRewardClient(base) as client:
        out = client.get_reward(queries, prompts, labels)
    sent = [s.json() for s in proxy.posts("/get_reward")]
    assert [len(b["query"]) for b in sent] == [5, 2]
    assert [b["labels"] for b in sent] == [labels[:5], labels[5:]]
    whole = direct(server, "/get_reward", {"query": queries, "prompts": prompts, "labels": labels})
    assert out == whole  # rewards, scores and every extra_logs column concatenated in order


def test_errors_pickle() -> None:
    import pickle

    error = PivotRewardError(
        "bad", status=422, type="validation_error", fields=[{"loc": "items[0].lang", "msg": "x"}]
    )
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.status, clone.type, clone.fields, str(clone)) == (
        422,
        "validation_error",
        error.fields,
        str(error),
    )
