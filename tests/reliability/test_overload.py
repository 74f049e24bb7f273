"""Overload, disconnects and deadlines, against the real app under uvicorn on loopback.

The encoder is the deterministic hash encoder with a sleep in `predict_batch` (plugged in through
`create_app(encoder_factory=...)`), and it logs every text it embeds, so the tests can prove what was
and was not computed.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pytest

from service.api.app import create_app
from service.engine.testing import HashEncoder
from service.scoring.calibration import Calibration
from service.settings import Settings
from tests.conftest import fast_settings
from tests.reliability.helpers import (
    assert_error_shape,
    expected_results,
    results_match,
)
from tests.support.server import running_server

MODEL = "test-hash-encoder"


class SlowEncoder(HashEncoder):
    """The hash encoder, slowed down, logging every text it embeds."""

    def __init__(self, delay_s: float, slow_if: Callable[[list[str]], bool] | None = None) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.slow_if = slow_if
        self.embedded: list[str] = []
        self.slow_batch_started = threading.Event()
        self._lock = threading.Lock()

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        if self.slow_if is None or self.slow_if(items):
            self.slow_batch_started.set()
            time.sleep(self.delay_s)
        with self._lock:
            self.embedded.extend(items)
        return super().predict_batch(items)


@contextmanager
def slow_server(encoder: SlowEncoder, **settings: object) -> Iterator[str]:
    def factory(s: Settings) -> tuple[HashEncoder, Calibration, str | None]:
        return encoder, Calibration(0.0, 1.0, "test"), None

    app = create_app(fast_settings(**settings), encoder_factory=factory)
    with running_server(app) as base:
        yield base


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def request_body(i: int) -> dict[str, object]:
    """Three distinct texts per request, distinct across requests (no cache or sharing)."""
    return {
        "reference": f"reference number {i} about eggs",
        "candidates": [f"candidate {i} alpha", f"candidate {i} beta gamma"],
    }


def expected_for(body: dict[str, object]) -> list[dict[str, object]]:
    candidates = list(body["candidates"])  # type: ignore[call-overload]
    return expected_results(candidates, [str(body["reference"])] * len(candidates))


SENT = 150
WAVE = 25


def _similarity_counts(text: str) -> tuple[float, float]:
    """/v1/similarity answers counted so far: (200s, 429s)."""
    return (
        metric(text, "pivot_requests_total", route="/v1/similarity", status="200"),
        metric(text, "pivot_requests_total", route="/v1/similarity", status="429"),
    )


async def test_overload_gives_429s_never_5xx_and_every_accepted_answer_is_right(
    figures: dict[str, str],
) -> None:
    encoder = SlowEncoder(delay_s=0.03)
    with slow_server(
        encoder, max_queue_size=9, max_batch_size=6, max_wait_ms=2, retry_after_s=2
    ) as base:
        encoder.embedded.clear()
        limits = httpx.Limits(max_connections=SENT, max_keepalive_connections=SENT)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            bodies = [request_body(i) for i in range(SENT)]

            async def send(i: int) -> httpx.Response:
                await asyncio.sleep((i // WAVE) * 0.1)  # waves of WAVE requests, 0.1 s apart
                return await client.post(
                    "/v1/similarity", json=bodies[i], headers={"x-request-id": f"req-{i}"}
                )

            outcomes = await asyncio.gather(*(send(i) for i in range(SENT)), return_exceptions=True)
            # The access middleware counts a request after its response is sent, so a client can
            # see the last answer a moment before /metrics does: wait until the counts settle.
            metrics_text = (await client.get("/metrics")).text
            for _ in range(50):
                await asyncio.sleep(0.05)
                again = (await client.get("/metrics")).text
                settled = _similarity_counts(again) == _similarity_counts(metrics_text)
                metrics_text = again
                if settled:
                    break
        accepted = rejected = 0
        lost: list[str] = []
        for i, (b, outcome) in enumerate(zip(bodies, outcomes, strict=True)):
            if isinstance(outcome, BaseException):
                lost.append(f"req-{i}: {outcome!r}")
                continue
            assert outcome.headers["x-request-id"] == f"req-{i}"
            if outcome.status_code == 200:
                if results_match(outcome.json()["results"], expected_for(b)):
                    accepted += 1
                else:
                    lost.append(f"req-{i}: wrong answer {outcome.text[:200]}")
            elif outcome.status_code == 429:
                rejected += 1
                assert_error_shape(outcome, 429)
                assert outcome.headers["retry-after"] == "2"
            else:
                lost.append(f"req-{i}: {outcome.status_code} {outcome.text[:200]}")
        summary = f"sent {SENT} / accepted {accepted} / rejected {rejected} / lost {len(lost)}"
        figures["overload"] = summary
        print("overload:", summary)
        assert not lost, lost
        assert rejected > 0, "the queue never filled: the test did not overload the server"
        assert accepted > 0
        # Nothing computed twice, nothing of a rejected request computed at all.
        counts = Counter(encoder.embedded)
        accepted_texts = Counter(
            text
            for b, o in zip(bodies, outcomes, strict=True)
            if isinstance(o, httpx.Response) and o.status_code == 200
            for text in [b["reference"], *b["candidates"]]  # type: ignore[list-item]
        )
        assert counts == accepted_texts
        # The 429s are counted.
        assert metric(metrics_text, "pivot_rejected_total", model=MODEL) == rejected
        assert (
            metric(
                metrics_text,
                "pivot_requests_total",
                route="/v1/similarity",
                method="POST",
                status="429",
            )
            == rejected
        )
        answered = metric(
            metrics_text, "pivot_requests_total", route="/v1/similarity", status="200"
        )
        assert answered == accepted, "every accepted request answered exactly once"
        assert not re.search(r'route="/v1/similarity",status="5', metrics_text)


def test_disconnected_client_is_not_computed() -> None:
    """A client that gives up (timeout, connection closed) must not cost model time."""
    encoder = SlowEncoder(delay_s=0.6, slow_if=lambda items: any("BLOCK" in t for t in items))
    with slow_server(encoder, max_wait_ms=1, max_batch_size=64) as base:
        encoder.embedded.clear()
        blocker_result: dict[str, httpx.Response] = {}

        def blocker() -> None:  # keeps the model thread busy for 0.6 s
            blocker_result["r"] = httpx.post(
                f"{base}/v1/similarity",
                json={"reference": "BLOCK the model", "candidates": ["BLOCK a"]},
                timeout=10,
            )

        thread = threading.Thread(target=blocker)
        thread.start()
        assert encoder.slow_batch_started.wait(10), "the blocker never reached the model"
        gone = {"reference": "impatient reference", "candidates": ["impatient a", "impatient b"]}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{base}/v1/similarity", json=gone, timeout=0.2)
        thread.join(10)
        assert blocker_result["r"].status_code == 200
        # A later request goes through the same FIFO queue: once it is answered, the abandoned
        # items have been either skipped or computed.
        after = {"reference": "patient reference", "candidates": ["patient a"]}
        response = httpx.post(f"{base}/v1/similarity", json=after, timeout=10)
        assert response.status_code == 200
        assert results_match(response.json()["results"], expected_for(after))
        computed = set(encoder.embedded)
        abandoned = {gone["reference"], *gone["candidates"]}
        assert not computed & abandoned, f"computed for a client that was gone: {computed}"
        assert {"patient reference", "patient a"} <= computed
        # Recorded as "client closed request" (499, nginx's convention), not as a server error.
        metrics_text = httpx.get(f"{base}/metrics").text
        assert (
            metric(metrics_text, "pivot_requests_total", route="/v1/similarity", status="499") == 1
        )
        assert not re.search(r'route="/v1/similarity",status="5', metrics_text)


def test_deadline_gives_504_and_does_not_hang_the_worker() -> None:
    encoder = SlowEncoder(delay_s=1.0, slow_if=lambda items: any("SLOW" in t for t in items))
    with slow_server(encoder, request_timeout_s=0.3, max_wait_ms=1) as base:
        encoder.embedded.clear()
        with httpx.Client(base_url=base, timeout=10) as client:
            started = time.monotonic()
            late = client.post(
                "/v1/similarity", json={"reference": "SLOW ref", "candidates": ["SLOW c"]}
            )
            elapsed = time.monotonic() - started
            error = assert_error_shape(late, 504)
            assert "PIVOT_REQUEST_TIMEOUT_S" in error["message"] and "0.3 s" in error["message"]
            assert elapsed < 0.9, f"the deadline did not cut the request short: {elapsed:.2f} s"
            # The model thread is still busy with the slow batch: a request queued behind it
            # also misses its deadline, and its queued items are dropped, not computed later.
            queued = {"reference": "queued behind", "candidates": ["queued c"]}
            assert client.post("/v1/similarity", json=queued).status_code == 504
            # Once the slow batch is done, the worker serves normally again.
            deadline, retries = time.monotonic() + 5, 0
            while True:
                ok = client.post("/v1/similarity", json={"reference": "r ok", "candidates": ["c"]})
                if ok.status_code != 504 or time.monotonic() > deadline:
                    break
                retries += 1
                time.sleep(0.1)
            assert ok.status_code == 200, ok.text
            assert results_match(ok.json()["results"], expected_results(["c"], ["r ok"]))
            assert not {"queued behind", "queued c"} & set(encoder.embedded)
            metrics_text = client.get("/metrics").text
            assert metric(metrics_text, "pivot_queue_depth", model=MODEL) == 0
            timed_out = metric(
                metrics_text, "pivot_requests_total", route="/v1/similarity", status="504"
            )
            assert timed_out == 2 + retries
