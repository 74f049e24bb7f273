"""Access control with PIVOT_API_KEYS, against the real app on loopback.

Scoring and admin routes need `Authorization: Bearer <key>` (401 with `WWW-Authenticate: Bearer`
otherwise), `/healthz` and `/readyz` stay open, `/metrics` is open unless
PIVOT_METRICS_REQUIRE_AUTH=true. No error body carries a stack trace, an internal path or the key.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from service.api.app import create_app
from tests.conftest import REPO_ROOT, HashFactory, fast_settings
from tests.reliability.helpers import (
    GOOD_BODY,
    assert_error_shape,
    assert_good_request_ok,
    assert_no_leak,
)
from tests.support.server import running_server

KEYS = " k1-secret-alpha , k2-secret-beta "  # whitespace around keys is ignored
K1, K2 = "k1-secret-alpha", "k2-secret-beta"


def basic(userinfo: str | bytes) -> str:
    """The Authorization header a client derives from a URL's `user:password@`."""
    raw = userinfo if isinstance(userinfo, bytes) else userinfo.encode()
    return "Basic " + base64.b64encode(raw).decode()


# Every route that needs a key: method, path, a valid request for it.
PROTECTED: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/similarity", {"json": GOOD_BODY}),
    ("GET", "/v1/models", {}),
    ("POST", "/get_reward", {"json": {"query": []}}),
]
OPEN = ["/healthz", "/readyz"]

WRONG_CREDENTIALS: list[tuple[str, dict[str, str | bytes]]] = [
    ("no header", {}),
    ("wrong key", {"authorization": "Bearer k3-not-a-key"}),
    ("prefix of a key", {"authorization": "Bearer k1-secret"}),
    ("key plus suffix", {"authorization": f"Bearer {K1}x"}),
    ("both keys joined", {"authorization": f"Bearer {K1},{K2}"}),
    ("case-changed key", {"authorization": f"Bearer {K1.upper()}"}),
    ("Basic scheme with the key", {"authorization": f"Basic {K1}"}),
    ("Token scheme", {"authorization": f"Token {K1}"}),
    ("key without a scheme", {"authorization": K1}),
    ("scheme without a key", {"authorization": "Bearer"}),
    ("non-ASCII token bytes", {"authorization": b"Bearer \xe9\xff\xfe"}),
    ("8 KiB token", {"authorization": "Bearer " + "k" * 8192}),
    ("key in X-API-Key", {"x-api-key": K1}),
    # Basic credentials (a key in the URL's user-info): the password, or the user when it is empty
    ("Basic, wrong key as user", {"authorization": basic("k3-not-a-key:")}),
    ("Basic, wrong key as password", {"authorization": basic(f"{K1}:k3-not-a-key")}),
    ("Basic, key as user but a password", {"authorization": basic(f"{K1}:x")}),
    ("Basic, key prefix", {"authorization": basic(f"u:{K1[:-1]}")}),
    ("Basic, empty credentials", {"authorization": basic(":")}),
    ("Basic, not base64", {"authorization": "Basic !!!notbase64!!!"}),
    ("Basic, bad padding", {"authorization": "Basic azE"}),
    ("Basic, non-ASCII bytes", {"authorization": b"Basic \xe9\xff"}),
    ("Basic, scheme only", {"authorization": "Basic"}),
    ("Basic, 8 KiB", {"authorization": basic("k" * 8192 + ":")}),
]


@pytest.fixture(scope="module")
def keyed() -> Iterator[httpx.Client]:
    app = create_app(fast_settings(api_keys=KEYS), encoder_factory=HashFactory())
    with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def keyed_metrics() -> Iterator[httpx.Client]:
    app = create_app(
        fast_settings(api_keys=KEYS, metrics_require_auth=True), encoder_factory=HashFactory()
    )
    with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def assert_unauthorized(response: httpx.Response) -> None:
    error = assert_error_shape(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), (
        response.headers
    )
    for secret in (K1, K2):
        assert secret not in response.text, "an error body must not echo a key"
    assert "Bearer" in error["message"] or "invalid" in error["message"]


@pytest.mark.parametrize(("method", "path", "kwargs"), PROTECTED, ids=[p for _, p, _ in PROTECTED])
@pytest.mark.parametrize(
    ("name", "headers"), WRONG_CREDENTIALS, ids=[n for n, _ in WRONG_CREDENTIALS]
)
def test_protected_routes_reject_missing_or_wrong_keys(
    keyed: httpx.Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    name: str,
    headers: dict[str, str],
) -> None:
    response = keyed.request(method, path, headers=headers, **kwargs)
    assert_unauthorized(response)


@pytest.mark.parametrize(("method", "path", "kwargs"), PROTECTED, ids=[p for _, p, _ in PROTECTED])
@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {K1}",
        f"Bearer {K2}",
        f"bearer {K2}",
        basic(f"{K1}:"),  # http://KEY:@host/
        basic(f"trainer:{K2}"),  # http://trainer:KEY@host/
        basic(f":{K1}"),
        basic(K2),  # no separator at all: the whole value is the key
        "basic " + basic(f"{K1}:").split()[1],
    ],
)
def test_both_keys_work(
    keyed: httpx.Client, method: str, path: str, kwargs: dict[str, Any], authorization: str
) -> None:
    response = keyed.request(method, path, headers={"authorization": authorization}, **kwargs)
    assert response.status_code == 200, response.text


def test_scoring_with_a_key_is_correct(keyed: httpx.Client) -> None:
    assert_good_request_ok(keyed, headers={"authorization": f"Bearer {K2}"})


def test_key_in_the_query_string_is_not_accepted(keyed: httpx.Client) -> None:
    assert_unauthorized(keyed.get("/v1/models", params={"api_key": K1}))
    assert_unauthorized(keyed.get("/v1/models", params={"access_token": K1}))


def test_unauthenticated_requests_learn_nothing_about_validation(keyed: httpx.Client) -> None:
    """Without a key, an invalid body or content type is a 401 too, not a 422 / 415."""
    assert_unauthorized(keyed.post("/v1/similarity", json={"pairs": []}))
    assert_unauthorized(keyed.post("/v1/similarity", json={"unknown": 1}))
    assert_unauthorized(
        keyed.post("/v1/similarity", content=b"x", headers={"content-type": "text/plain"})
    )


@pytest.mark.xfail(
    strict=True,
    reason="FastAPI parses the JSON body before running dependencies, so malformed JSON without "
    "a key gets 400 instead of 401 (low severity: nothing is disclosed but 'not JSON')",
)
def test_unauthenticated_malformed_json_is_401(keyed: httpx.Client) -> None:
    response = keyed.post(
        "/v1/similarity", content=b"{", headers={"content-type": "application/json"}
    )
    assert_unauthorized(response)


@pytest.mark.parametrize("path", OPEN)
def test_health_and_readiness_stay_open(keyed_metrics: httpx.Client, path: str) -> None:
    assert keyed_metrics.get(path).status_code == 200
    wrong = keyed_metrics.get(path, headers={"authorization": "Bearer wrong"})
    assert wrong.status_code == 200


def test_metrics_open_by_default_even_with_keys(keyed: httpx.Client) -> None:
    response = keyed.get("/metrics")
    assert response.status_code == 200 and "pivot_requests_total" in response.text


def test_metrics_need_a_key_when_configured(keyed_metrics: httpx.Client) -> None:
    assert_unauthorized(keyed_metrics.get("/metrics"))
    assert_unauthorized(keyed_metrics.get("/metrics", headers={"authorization": "Bearer nope"}))
    for key in (K1, K2):
        response = keyed_metrics.get("/metrics", headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 200 and "pivot_requests_total" in response.text
    # and the 401s were counted, without the keys in any label
    text = keyed_metrics.get("/metrics", headers={"authorization": f"Bearer {K1}"}).text
    assert 'route="/metrics",status="401"' in text
    assert K1 not in text and K2 not in text


def test_no_keys_configured_means_open() -> None:
    app = create_app(fast_settings(api_keys=" , "), encoder_factory=HashFactory())
    with running_server(app) as base:
        assert httpx.get(f"{base}/v1/models").status_code == 200
        assert httpx.post(f"{base}/v1/similarity", json=GOOD_BODY).status_code == 200


def test_error_bodies_never_leak_internals(keyed: httpx.Client) -> None:
    """Every kind of error this file and the app can produce, grepped for traces and paths."""
    auth = {"authorization": f"Bearer {K1}"}
    responses = [
        keyed.post("/v1/similarity", json={"pairs": []}),
        keyed.post("/v1/similarity", json={"pairs": []}, headers=auth),
        keyed.post(
            "/v1/similarity", content=b"{", headers={**auth, "content-type": "application/json"}
        ),
        keyed.post(
            "/v1/similarity", content=b"\xff", headers={**auth, "content-type": "application/json"}
        ),
        keyed.post("/v1/similarity", content=b"x", headers={**auth, "content-type": "text/plain"}),
        keyed.post("/v1/similarity", json={**GOOD_BODY, "model": "nope"}, headers=auth),
        keyed.post(
            "/v1/similarity", json={"reference": "r", "candidates": ["w " * 600]}, headers=auth
        ),
        keyed.get("/v1/similarity", headers=auth),
        keyed.get("/no/such/route", headers=auth),
        keyed.delete("/metrics"),
        keyed.get("/v1/models", headers={"authorization": "Bearer wrong"}),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        assert_error_shape(response)
        assert_no_leak(response.text, f"{response.request.method} {response.request.url.path}")


def test_openapi_declares_bearer_and_basic_as_alternatives() -> None:
    """Swagger UI's Authorize dialog offers both; each secured operation accepts either."""
    schema = yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    schemes = schema["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "description": "One of the keys in PIVOT_API_KEYS.",
        "scheme": "bearer",
    }
    assert schemes["HTTPBasic"]["type"] == "http" and schemes["HTTPBasic"]["scheme"] == "basic"
    secured = {
        f"{method.upper()} {path}": operation.get("security")
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    for name, security in secured.items():
        if name in ("GET /healthz", "GET /readyz", "GET /metrics", "GET /docs"):
            continue
        assert security == [{"HTTPBearer": []}, {"HTTPBasic": []}], name
    assert secured["POST /get_reward"] and secured["GET /healthz"] is None


def test_basic_credentials_work_on_metrics_too(keyed_metrics: httpx.Client) -> None:
    assert keyed_metrics.get("/metrics", auth=(K1, "")).status_code == 200
    assert keyed_metrics.get("/metrics", auth=("scraper", K2)).status_code == 200
    assert_unauthorized(keyed_metrics.get("/metrics", auth=("scraper", "nope")))
