"""Poison isolation over HTTP: one input the model cannot handle, inside a batch of 64 concurrent
requests, fails only the request that holds it (500 with its request id); the other 63 get their
right answers, the failure is counted and logged with the input's size, never its text."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import numpy as np
import pytest

from service.api.app import create_app
from service.engine.testing import HashEncoder
from service.scoring.calibration import Calibration
from service.settings import Settings
from tests.conftest import fast_settings
from tests.reliability.helpers import assert_error_shape, expected_results, results_match
from tests.reliability.test_overload import metric
from tests.support.server import running_server

CONCURRENT = 64
POISON_AT = 41
MARK = "\u2620 poison"  # what makes the model fail; a real case: a text that crashes a tokenizer


class PoisonEncoder(HashEncoder):
    """The hash encoder, failing any batch that contains a marked text; records batch sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def predict_batch(self, items: list[str]) -> list[np.ndarray]:
        with self._lock:
            self.calls.append(len(items))
        if any(MARK in item for item in items):
            # The message quotes the input, as real tokenizer errors do: it must not reach logs.
            raise RuntimeError(f"cannot tokenize {items!r}")
        return super().predict_batch(items)


async def test_one_poison_input_fails_only_its_request(
    caplog: pytest.LogCaptureFixture, figures: dict[str, str]
) -> None:
    encoder = PoisonEncoder()

    def factory(settings: Settings) -> tuple[HashEncoder, Calibration, str | None]:
        return encoder, Calibration(0.0, 1.0, "test"), None

    # The 64 requests' 128 texts make one full batch: it closes when the last one arrives (the
    # long wait only matters on a loaded machine, where sending 64 requests takes a while).
    app = create_app(fast_settings(max_batch_size=128, max_wait_ms=1000), encoder_factory=factory)
    secret = f"{MARK}: the secret rollout text 4711"
    bodies = [
        {
            "pairs": [
                {
                    "candidate": secret if i == POISON_AT else f"Kandidat {i}: Janet hat {i} Eier.",
                    "reference": f"Reference {i}: Janet has {i} eggs.",
                }
            ]
        }
        for i in range(CONCURRENT)
    ]
    with caplog.at_level(logging.INFO), running_server(app) as base:
        encoder.calls.clear()
        limits = httpx.Limits(max_connections=CONCURRENT)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/v1/similarity", json=b, headers={"x-request-id": f"poison-{i}"})
                    for i, b in enumerate(bodies)
                )
            )
            metrics_text = (await client.get("/metrics")).text
            after = await client.post("/v1/similarity", json=bodies[0])  # still serving
    ok = failed = 0
    for i, (body, response) in enumerate(zip(bodies, responses, strict=True)):
        pair = body["pairs"][0]
        if i == POISON_AT:
            error = assert_error_shape(response, 500, allowed_types={"model_failure"})
            assert error["request_id"] == f"poison-{i}"
            assert "secret" not in response.text
            failed += 1
        else:
            assert response.status_code == 200, (i, response.text)
            want = expected_results([pair["candidate"]], [pair["reference"]])
            assert results_match(response.json()["results"], want), (i, response.text)
            ok += 1
    assert after.status_code == 200
    assert encoder.calls[0] >= 2 * CONCURRENT - 1, f"not one batch: {encoder.calls}"
    assert len(encoder.calls) <= 1 + 2 * 7 + 1, f"bisection should be logarithmic: {encoder.calls}"
    assert metric(metrics_text, "pivot_isolated_failures_total", model="test-hash-encoder") == 1
    assert metric(metrics_text, "pivot_batch_retries_total", model="test-hash-encoder") >= 2
    # Logged once, with the request id and the input's size; the text never.
    isolated = [r for r in caplog.records if "failed on its own" in r.getMessage()]
    assert len(isolated) == 1, [r.getMessage() for r in caplog.records]
    assert isolated[0].size == len(secret)  # type: ignore[attr-defined]
    everything = "\n".join(f"{r.getMessage()} {vars(r)} {r.exc_text}" for r in caplog.records)
    assert "secret rollout" not in everything, "an input's text reached the logs"
    summary = (
        f"{CONCURRENT} concurrent requests, 1 poison input: {ok} answered right, {failed} failed "
        f"(500 with its request id), {len(encoder.calls)} model calls {encoder.calls}"
    )
    figures["poison isolation"] = summary
    print(summary)
