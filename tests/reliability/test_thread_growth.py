"""A burst of concurrent requests must not grow the server's threads: FastAPI runs plain `def`
dependencies in a 40-thread pool, and each new thread got its own malloc arena (the soak's RSS
stepped up after each latency spike). The dependencies are `async def`; this keeps them so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bench.proctree import thread_count
from tests.support.processes import ServerProcess
from tests.support.server import free_port

BURST = 64


async def test_a_burst_of_requests_adds_no_request_threads(tmp_path: Path) -> None:
    server = ServerProcess(free_port(), tmp_path).start()
    try:
        assert server.process is not None
        before = thread_count(server.process.pid)
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
            for round_ in range(2):
                responses = await asyncio.gather(
                    *(
                        client.post(
                            "/v1/similarity",
                            json={"reference": f"r {round_} {i}", "candidates": [f"c {i}"]},
                        )
                        for i in range(BURST)
                    ),
                    *(
                        client.post(
                            "/v1/answer-consistency",
                            json={
                                "items": [
                                    {
                                        "target_response": f"Antwort {i}",
                                        "pivot_answer": "1",
                                        "lang": "de",
                                    }
                                ]
                            },
                        )
                        for i in range(BURST)
                    ),
                )
                assert all(r.status_code == 200 for r in responses)
        after = thread_count(server.process.pid)
    finally:
        server.stop()
    # The default executor (token counting) may start its few threads; not one per request.
    assert after - before <= 8, f"threads {before} -> {after} after {2 * BURST} concurrent requests"
