"""A catalogue of bad inputs for every endpoint, sent to the real app on loopback.

Each bad input must get the right 4xx with the one JSON error shape (never a 5xx, never a stack trace),
and after each one the server must still answer a good scoring request correctly. Some inputs are
odd but legal (NUL bytes inside a JSON string, a body on a GET): they are listed with 200 and must be
answered normally.

The catalogue is data: `CATALOGUE[endpoint]` is a list of `(name, request kwargs, expected status)`.
`endpoint` is "METHOD /path"; the kwargs go to `httpx.Client.request` and may override `method` and
`url`; a callable value is called first (for one-shot bodies such as generators). Add an endpoint by
adding a key.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.api.app import create_app
from service.logs import JsonFormatter
from tests.conftest import HashFactory, fast_settings
from tests.reliability.helpers import (
    ERROR_TYPES,
    GENERATED_ID,
    GOOD_BODY,
    assert_error_shape,
    assert_good_request_ok,
    assert_no_leak,
)
from tests.support.server import running_server

MAX_BODY = 1024 * 1024  # the catalogue's server; the 413 cases go over it
JSON = {"content-type": "application/json"}

# FastAPI answers some unparseable bodies (invalid UTF-8, nesting past the recursion limit, integers
# over Python's 4300-digit limit) with its own HTTPException(400), which the app's handler types as
# "http_error" instead of "malformed_json". See test_parser_400s_are_typed_malformed_json.
KNOWN_400_TYPES: set[str] = set()


def raw(body: bytes, content_type: str | None = "application/json") -> dict[str, Any]:
    """A request with exactly these body bytes."""
    return {"content": body, "headers": {"content-type": content_type} if content_type else {}}


def body(value: Any) -> dict[str, Any]:
    """A JSON body (may be any JSON value, not only an object)."""
    return {"json": value}


def grouped(**overrides: Any) -> dict[str, Any]:
    """A valid grouped request with some fields replaced (a value of `...` removes the field)."""
    value: dict[str, Any] = {"reference": "the reference", "candidates": ["one", "two"]}
    for key, new in overrides.items():
        if new is ...:
            value.pop(key, None)
        else:
            value[key] = new
    return {"json": value}


def nested(depth: int) -> bytes:
    return b'{"reference": "r", "candidates": ["a"], "model": ' + b"[" * depth + b"]" * depth + b"}"


def streamed_over_limit() -> Iterator[bytes]:
    """A chunked body (no Content-Length) that grows past the limit."""
    for _ in range(MAX_BODY // 65536 + 4):
        yield b" " * 65536


LONG_WORDS = " ".join(["word"] * 600)  # > 512 hash-encoder tokens, well under the char limit

GET_ENDPOINT_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("POST instead of GET", {"method": "POST", "json": {}}, 405),
    ("PUT", {"method": "PUT", "content": b"x"}, 405),
    ("DELETE", {"method": "DELETE"}, 405),
    ("PATCH", {"method": "PATCH", "json": []}, 405),
    ("OPTIONS", {"method": "OPTIONS"}, 405),
    ("junk JSON body on GET (ignored)", raw(b"{{{\x00\xff"), 200),
    ("binary query string (ignored)", {"url": "?x=%00%ff%fe&y=\u202e"}, 200),
    ("4 KiB query string (ignored)", {"params": {"q": "a" * 4096}}, 200),
    ("Accept: application/xml (JSON anyway)", {"headers": {"accept": "application/xml"}}, 200),
]

CATALOGUE: dict[str, list[tuple[str, dict[str, Any], int]]] = {
    "POST /v1/similarity": [
        # --- malformed JSON ---
        ("truncated JSON", raw(b'{"pairs": ['), 400),
        ("trailing garbage", raw(b'{"reference": "r", "candidates": ["a"]} xx'), 400),
        ("single-quoted JSON", raw(b"{'reference': 'r', 'candidates': ['a']}"), 400),
        ("JS comment", raw(b'{"reference": "r", /* c */ "candidates": ["a"]}'), 400),
        ("bare word", raw(b"hello"), 400),
        ("invalid UTF-8 in a string", raw(b'{"reference": "\xff\xfe", "candidates": ["a"]}'), 400),
        (
            "latin-1 encoded body",
            raw('{"reference": "caf\xe9", "candidates": ["a"]}'.encode("latin-1")),
            400,
        ),
        ("empty body", raw(b""), 422),
        ("JSON null", raw(b"null"), 422),
        ("JSON array", body([1, 2]), 422),
        ("JSON string", body("reference"), 422),
        ("JSON number", body(42), 422),
        ("JSON true", body(True), 422),
        ("empty object", body({}), 422),
        # --- NaN / inf where numbers might appear ---
        ("NaN as truncate", raw(b'{"reference": "r", "candidates": ["a"], "truncate": NaN}'), 422),
        ("Infinity as a candidate", raw(b'{"reference": "r", "candidates": [Infinity]}'), 422),
        ("-Infinity as reference", raw(b'{"reference": -Infinity, "candidates": ["a"]}'), 422),
        ("NaN as model", raw(b'{"reference": "r", "candidates": ["a"], "model": NaN}'), 422),
        (
            "1e999 as truncate",
            raw(b'{"reference": "r", "candidates": ["a"], "truncate": 1e999}'),
            422,
        ),
        (
            "5000-digit integer",
            raw(b'{"reference": "r", "candidates": ["a"], "truncate": ' + b"9" * 5000 + b"}"),
            400,
        ),
        # --- wrong types ---
        ("pairs is a string", body({"pairs": "a,b"}), 422),
        ("pairs is an object", body({"pairs": {"candidate": "c", "reference": "r"}}), 422),
        ("pair is a list", body({"pairs": [["c", "r"]]}), 422),
        ("pair is null", body({"pairs": [None]}), 422),
        ("candidate is a number", body({"pairs": [{"candidate": 5, "reference": "r"}]}), 422),
        ("reference is a list", body({"pairs": [{"candidate": "c", "reference": ["r"]}]}), 422),
        ("candidates is a string", grouped(candidates="one two"), 422),
        ("candidate is null", grouped(candidates=["one", None]), 422),
        ("candidate is a nested list", grouped(candidates=[["one"]]), 422),
        ("candidate is an object", grouped(candidates=[{"text": "one"}]), 422),
        ("reference is a number", grouped(reference=3.5), 422),
        ("reference is a bool", grouped(reference=True), 422),
        ("truncate is null", grouped(truncate=None), 422),
        ("truncate is a word", grouped(truncate="maybe"), 422),
        ("truncate is a list", grouped(truncate=[True]), 422),
        ("model is a number", grouped(model=7), 422),
        ("model is an object", grouped(model={"name": "x"}), 422),
        # --- empty and huge lists ---
        ("empty pairs", body({"pairs": []}), 422),
        ("empty candidates", grouped(candidates=[]), 422),
        ("1025 candidates (configured limit 1024)", grouped(candidates=["c"] * 1025), 422),
        ("1025 pairs", body({"pairs": [{"candidate": "c", "reference": "r"}] * 1025}), 422),
        ("4097 candidates (schema ceiling 4096)", grouped(candidates=["c"] * 4097), 422),
        ("empty candidate string", grouped(candidates=["ok", ""]), 422),
        ("empty reference string", grouped(reference=""), 422),
        # --- huge and binary-looking strings ---
        ("reference over PIVOT_MAX_TEXT_CHARS", grouped(reference="r" * 20_001), 422),
        ("candidate over PIVOT_MAX_TEXT_CHARS", grouped(candidates=["ok", "c" * 20_001]), 422),
        ("candidate over the schema ceiling", grouped(candidates=["c" * 100_001]), 422),
        ("text over the token limit", grouped(candidates=[LONG_WORDS]), 422),
        (
            "body over PIVOT_MAX_BODY_BYTES",
            grouped(candidates=["x" * 1000] * (MAX_BODY // 1000 + 8)),
            413,
        ),
        ("chunked body over the limit", {"content": streamed_over_limit, "headers": JSON}, 413),
        (
            "lone high surrogate (escape)",
            raw(b'{"reference": "\\ud800", "candidates": ["a"]}'),
            422,
        ),
        (
            "lone low surrogate (escape)",
            raw(b'{"reference": "r", "candidates": ["a\\udfff b"]}'),
            422,
        ),
        (
            "surrogate as raw UTF-8 bytes",
            raw(b'{"reference": "\xed\xa0\x80", "candidates": ["a"]}'),
            422,
        ),
        ("overlong UTF-8 encoding", raw(b'{"reference": "\xc0\xaf", "candidates": ["a"]}'), 400),
        (
            "NUL bytes in texts (legal JSON)",
            grouped(reference="r\x00x", candidates=["\x00", "a\x00b"]),
            200,
        ),
        ("control characters (legal JSON)", grouped(candidates=["\x01\x02\x1b[31m", "\x7f"]), 200),
        ("noncharacters U+FFFE/U+FFFF (legal)", grouped(candidates=["\ufffe\uffff"]), 200),
        ("right-to-left override (legal)", grouped(candidates=["\u202eabc"]), 200),
        ("whitespace-only texts (legal)", grouped(reference="   ", candidates=["\n\t"]), 200),
        (
            "UTF-8 BOM before the body (tolerated)",
            raw(b"\xef\xbb\xbf" + json.dumps(GOOD_BODY).encode()),
            200,
        ),
        (
            "duplicate keys (last wins)",
            raw(b'{"reference": "x", "reference": "r", "candidates": ["a"]}'),
            200,
        ),
        # --- unknown fields, forms, models ---
        ("unknown top-level field", grouped(temperature=0.7), 422),
        (
            "unknown pair field",
            body({"pairs": [{"candidate": "c", "reference": "r", "lang": "de"}]}),
            422,
        ),
        ("field name typo (Reference)", body({"Reference": "r", "candidates": ["a"]}), 422),
        ("both forms at once", grouped(pairs=[{"candidate": "c", "reference": "r"}]), 422),
        ("grouped form without candidates", grouped(candidates=...), 422),
        ("grouped form without reference", grouped(reference=...), 422),
        ("unknown model", grouped(model="labse-xxl"), 422),
        ("empty model name", grouped(model=""), 422),
        ("10k-character model name", grouped(model="m" * 10_000), 422),
        ("model name with NUL and newline", grouped(model="a\x00\nb"), 422),
        # --- nesting ---
        ("nested 200 deep (parses, wrong type)", raw(nested(200)), 422),
        ("nested 100000 deep", raw(nested(100_000)), 400),
        ("top-level nested 100000 deep", raw(b"[" * 100_000 + b"]" * 100_000), 400),
        # --- wrong content type ---
        ("no content type", raw(json.dumps(GOOD_BODY).encode(), None), 415),
        ("text/plain", raw(json.dumps(GOOD_BODY).encode(), "text/plain"), 415),
        ("form-urlencoded", {"data": {"reference": "r", "candidates": "a"}}, 415),
        ("multipart upload", {"files": {"file": ("body.json", json.dumps(GOOD_BODY))}}, 415),
        ("application/xml", raw(b"<reference>r</reference>", "application/xml"), 415),
        ("application/octet-stream", raw(b"\x00\x01\x02\xff", "application/octet-stream"), 415),
        # --- wrong method ---
        ("GET", {"method": "GET"}, 405),
        ("PUT", {"method": "PUT", **grouped()}, 405),
        ("DELETE", {"method": "DELETE"}, 405),
        ("PATCH", {"method": "PATCH", **grouped()}, 405),
    ],
    "GET /v1/models": GET_ENDPOINT_CASES,
    "GET /healthz": GET_ENDPOINT_CASES,
    "GET /readyz": GET_ENDPOINT_CASES,
    "GET /metrics": GET_ENDPOINT_CASES,
    "GET /no-such-route": [
        ("unknown path", {}, 404),
        ("near-miss path", {"url": "/v1/similarityy"}, 404),
        ("wrong case", {"url": "/HEALTHZ"}, 404),
        ("invalid percent-encoded UTF-8", {"url": "/v1/%ff%fe"}, 404),
        (
            "path traversal into the package",
            {"url": "/docs-static/..%2f..%2fservice%2fapp.py"},
            404,
        ),
        ("dot-dot segments", {"url": "/docs-static/%2e%2e/%2e%2e/etc/passwd"}, 404),
        ("POST to an unknown path", {"method": "POST", **grouped()}, 404),
    ],
}


def json_endpoint_cases(
    valid: dict[str, Any],
    list_field: str,
    item: Any,
    *,
    lang_path: tuple[str, ...] | None,
    ok: int = 200,
) -> list[tuple[str, dict[str, Any], int]]:
    """The same families of bad input for every JSON-body endpoint, built from one valid body."""

    def with_field(key: str, value: Any) -> dict[str, Any]:
        return {"json": {**valid, key: value}}

    cases: list[tuple[str, dict[str, Any], int]] = [
        ("the valid body itself", {"json": valid}, ok),
        ("truncated JSON", raw(json.dumps(valid).encode()[:-3]), 400),
        ("JSON array", body([valid]), 422),
        ("empty object", body({}), 422),
        ("JSON null", raw(b"null"), 422),
        ("NaN in the list", raw(json.dumps(valid).replace("[", "[NaN, ", 1).encode()), 422),
        ("unknown top-level field", with_field("temperature", 0.7), 422),
        (f"{list_field} is a string", with_field(list_field, "x"), 422),
        (f"{list_field} is empty", with_field(list_field, []), 422),
        (f"{list_field} item is null", with_field(list_field, [None]), 422),
        (f"{list_field} item is a number", with_field(list_field, [5]), 422),
        (f"1025 {list_field} (configured limit 1024)", with_field(list_field, [item] * 1025), 422),
        (f"4097 {list_field} (schema ceiling)", with_field(list_field, [item] * 4097), 422),
        (
            "body over PIVOT_MAX_BODY_BYTES",
            with_field(list_field, [item] * 3000 + ["x" * 1000] * 1100),
            413,
        ),
        ("no content type", raw(json.dumps(valid).encode(), None), 415),
        ("text/plain", raw(json.dumps(valid).encode(), "text/plain"), 415),
        ("application/jsonx", raw(json.dumps(valid).encode(), "application/jsonx"), 415),
        ("nested 100000 deep", raw(b"[" * 100_000 + b"]" * 100_000), 400),
        ("GET", {"method": "GET"}, 405),
        ("PUT", {"method": "PUT", "json": valid}, 405),
    ]
    if lang_path is not None:
        bad = json.loads(json.dumps(valid))
        target: Any = bad
        for key in lang_path[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        for code, name in (
            ("xx", "unknown language"),
            ("", "empty language"),
            ("de" * 10, "20-char language"),
        ):
            copy = json.loads(json.dumps(bad))
            t: Any = copy
            for key in lang_path[:-1]:
                t = t[int(key)] if isinstance(t, list) else t[key]
            t[lang_path[-1]] = code
            cases.append((name, {"json": copy}, 422))
        wrong_type = json.loads(json.dumps(bad))
        t = wrong_type
        for key in lang_path[:-1]:
            t = t[int(key)] if isinstance(t, list) else t[key]
        t[lang_path[-1]] = 49
        cases.append(("language is a number", {"json": wrong_type}, 422))
    return cases


REFERENCE = "She sells 9 eggs at $2 each. The answer is 18."
REWARD_ITEM = {
    "response": "Sie verkauft 9 Eier. Die Antwort lautet 18.",
    "lang": "de",
    "reference": REFERENCE,
    "pivot_answer": "18",
}
CONSISTENCY_ITEM = {"target_response": "Die Antwort lautet 18.", "pivot_answer": "18", "lang": "de"}
CATALOGUE.update(
    {
        "POST /v1/answer-consistency": [
            *json_endpoint_cases(
                {"items": [CONSISTENCY_ITEM]},
                "items",
                CONSISTENCY_ITEM,
                lang_path=("items", "0", "lang"),
            ),
            (
                "reward override is a bool",
                {"json": {"items": [CONSISTENCY_ITEM], "rewards": {"match": True}}},
                422,
            ),
            (
                "reward override is Infinity",
                raw(
                    b'{"items": [{"target_response": "x", "pivot_answer": "1", "lang": "de"}], "rewards": {"match": Infinity}}'
                ),
                422,
            ),
            (
                "neither pivot field",
                {"json": {"items": [{"target_response": "x", "lang": "de"}]}},
                422,
            ),
            (
                "pivot answer over 200 chars",
                {"json": {"items": [{**CONSISTENCY_ITEM, "pivot_answer": "1" * 201}]}},
                422,
            ),
        ],
        "POST /v1/pivot/extract": [
            *json_endpoint_cases(
                {"rollouts": ["<pivot>How many?</pivot> Die Antwort lautet 3."]},
                "rollouts",
                "x",
                lang_path=None,
            ),
            ("empty delimiter", {"json": {"rollouts": ["x"], "start": ""}}, 422),
            ("require_start is 0", {"json": {"rollouts": ["x"], "require_start": 0}}, 422),
        ],
        "POST /v1/rewards": [
            *json_endpoint_cases(
                {"items": [REWARD_ITEM]}, "items", REWARD_ITEM, lang_path=("items", "0", "lang")
            ),
            ("unknown preset", {"json": {"items": [REWARD_ITEM], "preset": "best"}}, 422),
            (
                "spec with no weight",
                {"json": {"items": [REWARD_ITEM], "spec": {"semantic": 0}}},
                422,
            ),
            (
                "spec weight NaN",
                raw(
                    b'{"items": [{"response": "x", "lang": "de", "reference": "r"}], "spec": {"semantic": NaN}}'
                ),
                422,
            ),
            (
                "spec weight negative",
                {"json": {"items": [REWARD_ITEM], "spec": {"semantic": -1}}},
                422,
            ),
            # per-item problems are per-item results (reward null + reason), not a failed batch
            (
                "semantic recipe without reference (reason no_reference)",
                {"json": {"items": [{"response": "x", "lang": "de"}], "preset": "hybrid"}},
                200,
            ),
            (
                "lone surrogate in a response",
                raw(b'{"items": [{"response": "\\ud800", "lang": "de", "reference": "r"}]}'),
                422,
            ),
            (
                "no language anywhere (reason language_unknown)",
                {"json": {"items": [{"response": "18", "reference": "r"}]}},
                200,
            ),
            (
                "response over PIVOT_MAX_TEXT_CHARS and the old ceiling (cut, flagged)",
                {"json": {"items": [{"response": "w " * 60_000, "lang": "de", "reference": "r"}]}},
                200,
            ),
        ],
        "POST /v1/rank": [
            *json_endpoint_cases(
                {"candidates": [{"response": "Die Antwort lautet 18.", "lang": "de"}]},
                "candidates",
                {"response": "x", "lang": "de"},
                lang_path=("candidates", "0", "lang"),
            )[:11],
            (
                "257 candidates (limit 256)",
                {"json": {"candidates": [{"response": "x", "lang": "de"}] * 257}},
                422,
            ),
            (
                "unknown scorer",
                {"json": {"candidates": [{"response": "x", "lang": "de"}], "scorer": "gpt"}},
                422,
            ),
        ],
        "POST /get_reward": [
            (
                "valid OpenRLHF call",
                {
                    "json": {
                        "query": ["Q: x A: Die Antwort lautet 18."],
                        "prompts": ["Q: x A:"],
                        "labels": ['{"lang": "de", "reference": "r", "pivot_answer": "18"}'],
                    }
                },
                200,
            ),
            ("query is a string", {"json": {"query": "x"}}, 422),
            ("empty query (OpenRLHF <= 0.11's extra replicas)", {"json": {"query": []}}, 200),
            ("labels shorter than query", {"json": {"query": ["a", "b"], "labels": ["1"]}}, 422),
            ("label is broken JSON", {"json": {"query": ["a"], "labels": ['{"lang": ']}}, 422),
            (
                "label has unknown keys",
                {"json": {"query": ["a"], "labels": [{"colour": "red"}]}},
                422,
            ),
            (
                "label without language or prompt (excluded, reason in extra_logs)",
                {"json": {"query": ["a"], "labels": ["18"]}},
                200,
            ),
            ("label is a boolean", {"json": {"query": ["a"], "labels": [True]}}, 422),
            ("label is a list of two", {"json": {"query": ["a"], "labels": [["1", "2"]]}}, 422),
            ("label language unknown", {"json": {"query": ["a"], "labels": [{"lang": "xx"}]}}, 422),
            (
                "label answers conflict",
                {"json": {"query": ["a"], "labels": [{"answer": 1, "gold": 2}]}},
                422,
            ),
            ("labels is a string", {"json": {"query": ["a"], "labels": "18"}}, 422),
            ("prompts shorter than query", {"json": {"query": ["a", "b"], "prompts": ["a"]}}, 422),
            ("query item is a number", {"json": {"query": [5]}}, 422),
            ("lone surrogate in a query", raw(b'{"query": ["a \\ud800"]}'), 422),
            ("lone surrogate in a label", raw(b'{"query": ["a"], "labels": ["\\udfff"]}'), 422),
            (
                "query over PIVOT_MAX_TEXT_CHARS (cut, flagged)",
                {"json": {"query": ["w " * 60_000], "labels": [{"lang": "de", "reference": "r"}]}},
                200,
            ),
            ("truncated JSON", raw(b'{"query": ["a"'), 400),
            ("text/plain", raw(b'{"query": ["a"]}', "text/plain"), 415),
            ("GET", {"method": "GET"}, 405),
        ],
        "POST /v1/translate": [
            ("no source language", {"json": {"texts": ["x"]}}, 422),
            (
                "both source forms",
                {"json": {"texts": ["x"], "source_lang": "de", "source_langs": ["de"]}},
                422,
            ),
            (
                "source_langs length mismatch",
                {"json": {"texts": ["x", "y"], "source_langs": ["de"]}},
                422,
            ),
            ("beam_size 0", {"json": {"texts": ["x"], "source_lang": "de", "beam_size": 0}}, 422),
            (
                "beam_size over the cap",
                {"json": {"texts": ["x"], "source_lang": "de", "beam_size": 9}},
                422,
            ),
            (
                "max_length 5000",
                {"json": {"texts": ["x"], "source_lang": "de", "max_length": 5000}},
                422,
            ),
            ("beam_size NaN", raw(b'{"texts": ["x"], "source_lang": "de", "beam_size": NaN}'), 422),
            (
                "beam_size is a string",
                {"json": {"texts": ["x"], "source_lang": "de", "beam_size": "4"}},
                422,
            ),
            ("empty texts", {"json": {"texts": [], "source_lang": "de"}}, 422),
            ("empty text", {"json": {"texts": [""], "source_lang": "de"}}, 422),
        ],
        "POST /v1/translation-similarity": [
            (
                "grouped form without source_lang",
                {"json": {"reference": "r", "candidates": ["x"]}},
                422,
            ),
            (
                "chrf is a string",
                {
                    "json": {
                        "reference": "r",
                        "candidates": ["x"],
                        "source_lang": "de",
                        "chrf": "yes",
                    }
                },
                422,
            ),
            (
                "pair without source_lang",
                {"json": {"pairs": [{"candidate": "x", "reference": "r"}]}},
                422,
            ),
        ],
    }
)

CASES = [
    pytest.param(endpoint, name, kwargs, status, id=f"{endpoint} | {name}")
    for endpoint, entries in CATALOGUE.items()
    for name, kwargs, status in entries
]

TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    app = create_app(fast_settings(max_body_bytes=MAX_BODY), encoder_factory=HashFactory())
    with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def _send(client: httpx.Client, endpoint: str, kwargs: dict[str, Any]) -> httpx.Response:
    method, path = endpoint.split(" ", 1)
    request: dict[str, Any] = {"method": method, "url": path}
    for key, value in kwargs.items():
        request[key] = value() if callable(value) else value
    if str(request["url"]).startswith("?"):
        request["url"] = path + request["url"]
    return client.request(**request)


@pytest.mark.parametrize(("endpoint", "name", "kwargs", "status"), CASES)
def test_bad_input_gets_the_right_answer(
    client: httpx.Client,
    figures: dict[str, str],
    endpoint: str,
    name: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    response = _send(client, endpoint, kwargs)
    TALLY["tried"] += 1
    TALLY["rejected (4xx)" if 400 <= response.status_code < 500 else f"{response.status_code}"] += 1
    figures["bad inputs tried"] = (
        f"{TALLY['tried']} over {len(CATALOGUE)} endpoints "
        f"({TALLY['rejected (4xx)']} rejected with 4xx, {TALLY['200']} legal oddities answered 200)"
    )
    print(f"bad input #{TALLY['tried']}: {endpoint} | {name} -> {response.status_code}")
    assert response.status_code < 500, f"{name}: 5xx {response.text[:300]}"
    assert response.status_code == status, f"{name}: {response.status_code} {response.text[:300]}"
    assert response.headers.get("x-request-id")
    if status >= 400:
        allowed = ERROR_TYPES[status] | (KNOWN_400_TYPES if status == 400 else set())
        error = assert_error_shape(response, status, allowed_types=allowed)
        if status == 422:
            assert error["fields"], f"{name}: 422 must name the offending field: {error}"
        if status == 405:
            assert response.headers.get("allow"), "405 must say which methods are allowed"
    elif endpoint == "POST /v1/similarity":
        assert_no_leak(response.text, name)
        results = response.json()["results"]
        assert results, response.text
        for result in results:
            assert 0.0 <= result["score"] <= 1.0 and math.isfinite(result["cosine"]), result
    assert_good_request_ok(client)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"reference": "\xff\xfe", "candidates": ["a"]}',
        nested(100_000),
        b'{"reference": "r", "candidates": ["a"], "truncate": ' + b"9" * 5000 + b"}",
    ],
    ids=["invalid UTF-8", "too deep", "5000-digit integer"],
)
def test_parser_400s_are_typed_malformed_json(client: httpx.Client, payload: bytes) -> None:
    response = client.post("/v1/similarity", content=payload, headers=JSON)
    assert_error_shape(response, 400, allowed_types={"malformed_json"})


@pytest.mark.parametrize("content_type", ["text/json", "application/jsonx"])
def test_json_lookalike_content_types_get_415(client: httpx.Client, content_type: str) -> None:
    response = client.post(
        "/v1/similarity",
        content=json.dumps(GOOD_BODY).encode(),
        headers={"content-type": content_type},
    )
    assert_error_shape(response, 415)


@pytest.mark.parametrize("value", ["yes", "off", 1, 0.0], ids=repr)
def test_truncate_is_strictly_boolean(client: httpx.Client, value: object) -> None:
    response = client.post("/v1/similarity", json={**GOOD_BODY, "truncate": value})
    assert_error_shape(response, 422)


# --- request ids ---


def test_incoming_request_id_is_echoed_in_header_and_error_body(client: httpx.Client) -> None:
    rid = "trainer-7f3a/step-12/rank-3"
    ok = client.get("/healthz", headers={"x-request-id": rid})
    assert ok.headers["x-request-id"] == rid
    bad = client.post("/v1/similarity", json={"pairs": []}, headers={"x-request-id": rid})
    error = assert_error_shape(bad, 422)
    assert error["request_id"] == rid == bad.headers["x-request-id"]


def test_request_id_is_generated_when_absent_or_unusable(client: httpx.Client) -> None:
    seen = set()
    for headers in ({}, {"x-request-id": ""}, {"x-request-id": "x" * 129}):
        response = client.post("/v1/similarity", content=b"{", headers={**JSON, **headers})
        error = assert_error_shape(response, 400)
        assert GENERATED_ID.match(error["request_id"]), error
        seen.add(error["request_id"])
    assert len(seen) == 3, "each request gets its own id"


def test_non_ascii_request_id_is_never_mangled(client: httpx.Client) -> None:
    """Echo the id byte for byte, or replace it; never re-encode it (latin-1 in, UTF-8 out)."""
    incoming = "caf\xe9-42".encode("latin-1")
    response = client.get("/v1/models", headers={"x-request-id": incoming})
    echoed = dict(response.headers.raw)[b"x-request-id"]
    assert echoed == incoming or GENERATED_ID.match(echoed.decode("ascii", "replace")), echoed


def test_request_id_appears_in_the_access_log(client: httpx.Client) -> None:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # formatted in the request's context
            lines.append(JsonFormatter().format(record))

    handler = Capture()
    access = logging.getLogger("service.access")
    old_level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        response = client.post(
            "/v1/similarity", json={"pairs": []}, headers={"x-request-id": "log-me-123"}
        )
        deadline = time.monotonic() + 5  # the line is written just after the response is sent
        while not any("log-me-123" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    assert response.status_code == 422
    entries = [json.loads(line) for line in lines]
    assert any(
        e.get("request_id") == "log-me-123" and e.get("status") == 422 and e.get("route")
        for e in entries
    ), entries
