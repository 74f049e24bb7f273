"""Shared checks for the reliability suite: the error contract, leaks, a scoring oracle."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import numpy as np

from service.engine.testing import HashEncoder

# Things that must never appear in an error body: stack traces and internal paths.
LEAK_MARKERS = ("Traceback", 'File "', "/work", "site-packages", ".py")

# The error kinds each status may carry (see service/errors.py and the handlers in service/api/app.py).
ERROR_TYPES: dict[int, set[str]] = {
    400: {"malformed_json"},
    401: {"unauthorized"},
    404: {"not_found"},
    405: {"method_not_allowed"},
    413: {"payload_too_large"},
    415: {"unsupported_media_type"},
    422: {"validation_error", "invalid_input"},
    429: {"overloaded"},
    503: {"not_ready"},
    504: {"deadline_exceeded"},
}

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def assert_no_leak(text: str, where: str = "") -> None:
    """No stack trace or internal path in a body sent to clients."""
    for marker in LEAK_MARKERS:
        assert marker not in text, f"{where}: body leaks {marker!r}: {text[:300]}"


def assert_error_shape(
    response: httpx.Response,
    status: int | None = None,
    *,
    allowed_types: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The one error contract: JSON `{"error": {type, message, fields, request_id}}`, no leaks."""
    where = f"{response.request.method} {response.request.url.path}"
    if status is not None:
        assert response.status_code == status, f"{where}: {response.status_code} {response.text}"
    assert response.headers.get("content-type", "").startswith("application/json"), (
        f"{where}: error is not JSON: {response.headers.get('content-type')} {response.text[:200]}"
    )
    assert_no_leak(response.text, where)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"type", "message", "fields", "request_id"}, error
    assert isinstance(error["type"], str) and error["type"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], list), error
    for item in error["fields"]:
        assert set(item) == {"loc", "msg"} and all(isinstance(v, str) for v in item.values()), item
    assert error["request_id"], error
    assert error["request_id"] == response.headers.get("x-request-id"), (
        error["request_id"],
        response.headers.get("x-request-id"),
    )
    types = set(allowed_types) if allowed_types is not None else ERROR_TYPES.get(status or -1)
    if types:
        assert error["type"] in types, f"{where}: type {error['type']!r} not in {types}: {error}"
    return error


_ORACLE = HashEncoder()


def expected_results(candidates: Sequence[str], references: Sequence[str]) -> list[dict[str, Any]]:
    """What the service must answer for these pairs, computed here without the service.

    The test apps use the hash encoder with calibration (0, 1): score = cosine clipped to [0, 1].
    """
    results = []
    for candidate, reference in zip(candidates, references, strict=True):
        a, b = _ORACLE.predict_batch([candidate, reference])
        cosine = float(np.clip(np.dot(a.astype(np.float64), b.astype(np.float64)), -1.0, 1.0))
        score = float(np.clip(cosine, 0.0, 1.0))
        results.append({"score": round(score, 6), "cosine": round(cosine, 6), "truncated": False})
    return results


GOOD_CANDIDATES = ["Janet verkauft 9 Eier für je 2 $", "zebra quantum flux"]
GOOD_REFERENCE = "Janet sells 9 eggs at $2 each"
GOOD_BODY = {"reference": GOOD_REFERENCE, "candidates": GOOD_CANDIDATES}


def assert_good_request_ok(client: httpx.Client, headers: dict[str, str] | None = None) -> None:
    """The server still answers a good scoring request, and answers it correctly."""
    response = client.post("/v1/similarity", json=GOOD_BODY, headers=headers)
    assert response.status_code == 200, response.text
    want = expected_results(GOOD_CANDIDATES, [GOOD_REFERENCE] * len(GOOD_CANDIDATES))
    assert results_match(response.json()["results"], want), response.text


def results_match(got: Sequence[dict[str, Any]], want: Sequence[dict[str, Any]]) -> bool:
    """Same length, same truncation flags, scores and cosines equal up to rounding."""
    if len(got) != len(want):
        return False
    return all(
        g["truncated"] == w["truncated"]
        and abs(g["score"] - w["score"]) <= 2e-6
        and abs(g["cosine"] - w["cosine"]) <= 2e-6
        for g, w in zip(got, want)
    )
