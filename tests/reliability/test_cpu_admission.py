"""CPU-bound work over HTTP (answer extraction in worker processes): the CPU queue is bounded like
a model queue (429 with Retry-After when full, 422 when a request could never fit), and a request
past its deadline (504) stops its queued chunks instead of computing them for nobody."""

from __future__ import annotations

import asyncio
import time

import httpx

from service.api.app import create_app
from service.scoring.answers import score_consistency
from tests.conftest import HashFactory, fast_settings
from tests.reliability.helpers import assert_error_shape
from tests.reliability.test_overload import metric
from tests.support.server import running_server

# ~16 k characters with many numbers: ~25 ms of answer extraction per item on this machine.
FILLER = "Die Antwort lautet 1.250,5 und so weiter mit 12 Eiern. " * 300


def items(n: int, tag: str) -> list[dict[str, str]]:
    return [
        {"target_response": f"{FILLER} {tag} {i}", "pivot_answer": str(i), "lang": "de"}
        for i in range(n)
    ]


def expected(batch: list[dict[str, str]]) -> list[tuple[str, float | None]]:
    out = []
    for item in batch:
        result = score_consistency(
            item["target_response"], item["lang"], pivot_answer=item["pivot_answer"]
        )
        out.append((result.status, result.reward))
    return out


async def wait_for_metric(client: httpx.AsyncClient, name: str, value: float) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if metric((await client.get("/metrics")).text, name) >= value:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never reached {value}")


async def test_cpu_queue_full_gives_429_and_oversized_request_422() -> None:
    settings = fast_settings(
        cpu_workers=1, cpu_chunk_items=4, cpu_max_queue_items=150, retry_after_s=2
    )
    app = create_app(settings, encoder_factory=HashFactory())
    with running_server(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            first_items = items(120, "first")
            first = asyncio.ensure_future(
                client.post("/v1/answer-consistency", json={"items": first_items})
            )
            await wait_for_metric(client, "pivot_cpu_pending_items", 120)
            full = await client.post("/v1/answer-consistency", json={"items": items(40, "b")})
            error = assert_error_shape(full, 429, allowed_types={"overloaded"})
            assert full.headers["retry-after"] == "2"
            assert "CPU queue is full" in error["message"]
            never = await client.post("/v1/answer-consistency", json={"items": items(151, "c")})
            error = assert_error_shape(never, 422, allowed_types={"invalid_input"})
            assert error["fields"][0]["loc"] == "items"
            assert "PIVOT_CPU_MAX_QUEUE_ITEMS" in error["message"]
            fits = await client.post("/v1/answer-consistency", json={"items": items(20, "d")})
            assert fits.status_code == 200, fits.text
            done = await first
            assert done.status_code == 200, done.text
            got = [(r["status"], r["reward"]) for r in done.json()["results"]]
            assert got == expected(first_items)
            text = (await client.get("/metrics")).text
    assert metric(text, "pivot_rejected_total", model="cpu", reason="queue_full") == 1
    assert metric(text, "pivot_cpu_pending_items") == 0


async def test_a_deadline_504_stops_the_queued_cpu_work() -> None:
    settings = fast_settings(cpu_workers=1, cpu_chunk_items=4, request_timeout_s=0.5)
    app = create_app(settings, encoder_factory=HashFactory())
    with running_server(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            started = time.monotonic()
            late = await client.post("/v1/answer-consistency", json={"items": items(200, "late")})
            elapsed = time.monotonic() - started
            assert_error_shape(late, 504, allowed_types={"deadline_exceeded"})
            assert elapsed < 3, elapsed
            # The CPU queue is free again: a small request is served once the one chunk that was
            # running when the deadline struck has finished (a few tries on a loaded machine).
            for _ in range(10):
                small = await client.post(
                    "/v1/answer-consistency", json={"items": items(2, "next")}
                )
                if small.status_code == 200:
                    break
            assert small.status_code == 200, small.text
            text = (await client.get("/metrics")).text
    # 200 items = 50 chunks of ~0.1 s: about 5 ran before the deadline, the rest never started.
    dropped = metric(text, "pivot_cpu_chunks_dropped_total")
    assert dropped >= 40, f"only {dropped} chunks dropped"
    assert metric(text, "pivot_cpu_pending_items") == 0


async def test_thread_pool_mode_serves_the_same_results() -> None:
    """PIVOT_CPU_POOL=thread: the rules in threads of the server, same answers and limits."""
    settings = fast_settings(cpu_pool="thread", cpu_max_queue_items=10)
    app = create_app(settings, encoder_factory=HashFactory())
    batch = items(4, "thread")
    with running_server(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            done = await client.post("/v1/answer-consistency", json={"items": batch})
            assert done.status_code == 200, done.text
            assert [(r["status"], r["reward"]) for r in done.json()["results"]] == expected(batch)
            rewards = await client.post(
                "/v1/rewards",
                json={
                    "preset": "pasmr",
                    "items": [
                        {"response": "Die Antwort lautet 18.", "lang": "de", "pivot_answer": "18"}
                    ],
                },
            )
            assert rewards.status_code == 200, rewards.text
            assert rewards.json()["results"][0]["reward"] == 1.0
            never = await client.post("/v1/answer-consistency", json={"items": items(11, "x")})
            assert_error_shape(never, 422, allowed_types={"invalid_input"})
