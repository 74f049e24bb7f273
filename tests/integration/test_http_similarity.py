"""The real app under uvicorn on loopback, with the deterministic hash encoder, over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server


def test_pairs_in_order_with_scores(fast_server: str) -> None:
    body = {
        "pairs": [
            {"candidate": "the cat sat", "reference": "the cat sat"},
            {"candidate": "zebra quantum", "reference": "the cat sat"},
            {"candidate": "the cat sat down", "reference": "the cat sat"},
        ]
    }
    response = httpx.post(f"{fast_server}/v1/similarity", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["model"] == "test-hash-encoder"
    results = data["results"]
    assert len(results) == 3
    assert results[0]["cosine"] == pytest.approx(1.0)
    assert results[1]["cosine"] < results[2]["cosine"] < results[0]["cosine"]
    assert all(0.0 <= r["score"] <= 1.0 for r in results)
    assert response.headers["x-request-id"]


def test_grouped_form_equals_pairs_form(fast_server: str) -> None:
    reference = "Janet sells 9 eggs at $2 each"
    candidates = ["Janet verkauft 9 Eier", "Janet sells nine eggs", "x"]
    grouped = httpx.post(
        f"{fast_server}/v1/similarity", json={"reference": reference, "candidates": candidates}
    )
    paired = httpx.post(
        f"{fast_server}/v1/similarity",
        json={"pairs": [{"candidate": c, "reference": reference} for c in candidates]},
    )
    assert grouped.status_code == paired.status_code == 200
    assert grouped.json()["results"] == paired.json()["results"]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"pairs": []}, 422, "pairs"),
        ({"pairs": [{"candidate": "", "reference": "r"}]}, 422, "pairs[0].candidate"),
        ({"pairs": [{"candidate": 5, "reference": "r"}]}, 422, "pairs[0].candidate"),
        ({"pairs": [{"candidate": "c"}]}, 422, "pairs[0].reference"),
        ({"pairs": [{"candidate": "c", "reference": "r", "extra": 1}]}, 422, "pairs[0].extra"),
        ({"reference": "r"}, 422, "body"),
        (
            {
                "reference": "r",
                "candidates": ["a"],
                "pairs": [{"candidate": "c", "reference": "r"}],
            },
            422,
            "body",
        ),
        ({"reference": "r", "candidates": ["a"], "model": "nope"}, 422, "model"),
        ({"reference": "r", "candidates": ["a"] * 1025}, 422, "candidates"),
        ({"reference": "r", "candidates": ["a"] * 5000}, 422, "candidates"),
        ({"reference": "r" * 20_001, "candidates": ["a"]}, 422, "reference"),
        ([1, 2], 422, "body"),
    ],
)
def test_bad_input_gets_4xx_naming_the_field(
    fast_server: str, body: object, status: int, loc: str
) -> None:
    response = httpx.post(f"{fast_server}/v1/similarity", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert any(f["loc"].startswith(loc) for f in error["fields"]), error


def test_over_long_text_rejected_or_truncated_on_request(hash_factory: HashFactory) -> None:
    hash_factory.encoder.max_seq_length = 8
    app = create_app(fast_settings(), encoder_factory=hash_factory)
    long_text = " ".join(["word"] * 20)
    with running_server(app) as base:
        rejected = httpx.post(
            f"{base}/v1/similarity", json={"reference": "short", "candidates": ["ok", long_text]}
        )
        assert rejected.status_code == 422
        assert rejected.json()["error"]["fields"][0]["loc"] == "candidates[1]"
        assert "truncate" in rejected.json()["error"]["message"]
        allowed = httpx.post(
            f"{base}/v1/similarity",
            json={"reference": "short", "candidates": ["ok", long_text], "truncate": True},
        )
        assert allowed.status_code == 200
        assert [r["truncated"] for r in allowed.json()["results"]] == [False, True]


def test_malformed_json_wrong_type_and_content_type(fast_server: str) -> None:
    bad_json = httpx.post(
        f"{fast_server}/v1/similarity",
        content=b'{"pairs": [',
        headers={"content-type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "malformed_json"
    form = httpx.post(
        f"{fast_server}/v1/similarity", content=b"pairs=1", headers={"content-type": "text/plain"}
    )
    assert form.status_code == 415
    assert httpx.get(f"{fast_server}/v1/similarity").status_code == 405
    missing = httpx.get(f"{fast_server}/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
    # and the server still answers correctly afterwards
    ok = httpx.post(
        f"{fast_server}/v1/similarity", json={"reference": "a b", "candidates": ["a b"]}
    )
    assert ok.status_code == 200


def test_body_size_limit_gives_413(hash_factory: HashFactory) -> None:
    app = create_app(fast_settings(max_body_bytes=2048), encoder_factory=hash_factory)
    with running_server(app) as base:
        body = {"reference": "r", "candidates": ["x" * 100] * 30}
        response = httpx.post(f"{base}/v1/similarity", json=body)
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "payload_too_large"

        def chunks():  # no Content-Length: the limit must still hold
            for _ in range(10):
                yield b"x" * 1000

        streamed = httpx.post(
            f"{base}/v1/similarity", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


def test_health_ready_models_metrics_docs(fast_server: str) -> None:
    assert httpx.get(f"{fast_server}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{fast_server}/readyz").json()["status"] == "ready"
    models = httpx.get(f"{fast_server}/v1/models").json()
    assert models["models"][0]["name"] == "test-hash-encoder"
    assert models["models"][0]["device"] == "cpu"
    assert (models["models"][0]["backend"], models["models"][0]["precision"]) == ("hash", "fp32")
    assert models["limits"]["max_items_per_request"] == 1024
    httpx.post(
        f"{fast_server}/v1/similarity", json={"reference": "r", "candidates": ["r", "r", "s"]}
    )
    metrics = httpx.get(f"{fast_server}/metrics").text
    for name in (
        'pivot_requests_total{method="POST",route="/v1/similarity",status="200"}',
        "pivot_request_latency_seconds_bucket",
        "pivot_queue_time_seconds_bucket",
        "pivot_batch_size_bucket",
        "pivot_queue_depth",
        "pivot_embedding_cache_hits_total",
        "pivot_embedding_cache_misses_total",
    ):
        assert name in metrics, name
    docs = httpx.get(f"{fast_server}/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert httpx.get(f"{fast_server}/docs-static/swagger-ui-bundle.js").status_code == 200


def test_readyz_is_503_until_models_are_loaded(hash_factory: HashFactory) -> None:
    import threading

    release = threading.Event()

    def slow_factory(settings):  # type: ignore[no-untyped-def]
        release.wait(10)
        return hash_factory(settings)

    app = create_app(fast_settings(), encoder_factory=slow_factory)
    with running_server(app, wait_ready=False) as base:
        not_ready = httpx.get(f"{base}/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["status"] == "loading"
        early = httpx.post(f"{base}/v1/similarity", json={"reference": "r", "candidates": ["c"]})
        assert early.status_code == 503 and early.headers["retry-after"]
        assert httpx.get(f"{base}/healthz").status_code == 200
        release.set()
        for _ in range(100):
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
            asyncio.run(asyncio.sleep(0.05))
        assert (
            httpx.post(
                f"{base}/v1/similarity", json={"reference": "r", "candidates": ["c"]}
            ).status_code
            == 200
        )


def test_failed_load_reports_failed_not_half_working() -> None:
    def broken(settings):  # type: ignore[no-untyped-def]
        raise FileNotFoundError("model folder /nowhere has no modules.json")

    app = create_app(fast_settings(exit_on_load_failure=False), encoder_factory=broken)
    with running_server(app, wait_ready=False) as base:
        for _ in range(100):
            ready = httpx.get(f"{base}/readyz")
            if ready.json()["status"] != "loading":
                break
            asyncio.run(asyncio.sleep(0.05))
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert "modules.json" in ready.json()["detail"]
        scoring = httpx.post(f"{base}/v1/similarity", json={"reference": "r", "candidates": ["c"]})
        assert scoring.status_code == 503


async def test_concurrent_requests_are_batched_together(hash_factory: HashFactory) -> None:
    """64 one-pair requests at once must reach the model in far fewer, larger batches."""
    app = create_app(
        fast_settings(max_wait_ms=50, max_batch_size=256), encoder_factory=hash_factory
    )
    with running_server(app) as base:
        hash_factory.encoder.calls.clear()
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/v1/similarity",
                        json={"pairs": [{"candidate": f"rollout {i}", "reference": "ref"}]},
                    )
                    for i in range(64)
                )
            )
        assert all(r.status_code == 200 for r in responses)
        calls = hash_factory.encoder.calls
        assert sum(calls) == 65  # 64 candidates + the shared reference, each embedded once
        assert len(calls) <= 8 and max(calls) >= 16, calls
        # each answer is the one for its own request
        solo = httpx.post(
            f"{base}/v1/similarity",
            json={"pairs": [{"candidate": "rollout 7", "reference": "ref"}]},
        )
        assert responses[7].json()["results"] == solo.json()["results"]
