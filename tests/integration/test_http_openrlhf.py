"""OpenRLHF's /get_reward over HTTP on loopback (hash encoder, real labels/fidelity/answers).

Requests are sent with python-requests, the library OpenRLHF's remote reward code uses, so the URL
user-info, JSON encoding and headers are exactly what a trainer sends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

PROMPT = (
    "Frage: Janet hat 16 Eier, isst 3, backt mit 4 und verkauft den Rest zu 2 $. "
    "Wie viel verdient sie?\nAntwort:"
)
GERMAN = (
    "Janet verkauft 16 - 3 - 4 = 9 Eier zu je 2 $, also verdient sie 18 $. Die Antwort lautet 18."
)
GERMAN_WRONG = (
    "Janet verkauft 16 - 3 - 4 = 9 Eier zu je 2 $, also verdient sie 20 $. Die Antwort lautet 20."
)
REFERENCE = "Janet sells 16 - 3 - 4 = 9 eggs at $2 each, so she makes $18. The answer is 18."
OBJECT_LABEL = {"pivot_answer": "18", "lang": "de", "reference": REFERENCE}
KEY = "or-key-1"
REASON_FLAGS = {"language_unknown", "no_reference", "no_pivot_answer"}
BASE_KEYS = {
    "excluded",
    *REASON_FLAGS,
    "format_error",
    "truncated",
    "lang_guessed",
    "gate_passed",
}


def long_german(chars: int) -> str:
    """A German rollout of about `chars` characters that ends with its answer (no repetition loop:
    every step is different)."""
    steps: list[str] = []
    i = 0
    while sum(len(s) + 1 for s in steps) < chars:
        steps.append(f"Schritt {i}: {i} Eier plus {i} Eier ergibt {2 * i} Eier.")
        i += 1
    return " ".join(steps) + " Also verdient sie 18 $. Die Antwort lautet 18."


@pytest.fixture(scope="module")
def hybrid() -> Iterator[str]:
    app = create_app(
        fast_settings(max_wait_ms=20, max_body_bytes=1024 * 1024), encoder_factory=HashFactory()
    )
    with running_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def pasmr() -> Iterator[str]:
    app = create_app(fast_settings(reward_preset="pasmr"), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def keyed() -> Iterator[str]:
    app = create_app(fast_settings(api_keys=f"{KEY},other-key"), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


def post(base: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    return requests.post(f"{base}/get_reward", json=body, timeout=60, **kwargs)


def call(base: str, responses: list[str], labels: list[Any]) -> dict[str, Any]:
    body = {
        "query": [f"{PROMPT} {r}" for r in responses],
        "prompts": [PROMPT] * len(responses),
        "labels": labels,
    }
    answer = post(base, body)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    assert set(data) == {"rewards", "scores", "extra_logs"}
    assert data["rewards"] == data["scores"] and len(data["rewards"]) == len(responses)
    for key, values in data["extra_logs"].items():
        assert len(values) == len(responses) and all(isinstance(v, float) for v in values), key
    return data


def one(base: str, response: str, label: Any) -> dict[str, float]:
    """The reward and every extra_logs value of a single sample."""
    data = call(base, [response], [label])
    return {"reward": data["rewards"][0], **{k: v[0] for k, v in data["extra_logs"].items()}}


def direct(base: str, item: dict[str, Any], preset: str = "hybrid") -> dict[str, Any]:
    answer = httpx.post(f"{base}/v1/rewards", json={"items": [item], "preset": preset}, timeout=60)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def test_protocol_and_the_same_reward_as_v1_rewards(hybrid: str) -> None:
    data = call(hybrid, [GERMAN, GERMAN], [json.dumps(OBJECT_LABEL)] * 2)
    assert set(data["extra_logs"]) == BASE_KEYS | {"semantic", "answer"}
    assert data["rewards"][0] > 0 and data["extra_logs"]["excluded"] == [0.0, 0.0]
    # the response was query minus prompt: the same as scoring the German answer directly
    expected = direct(hybrid, {"response": GERMAN, **OBJECT_LABEL})["reward"]
    assert data["rewards"] == [expected, expected]


@pytest.mark.parametrize(
    "body",
    [
        {"query": [], "prompts": [], "labels": []},  # OpenRLHF <= 0.11's extra replicas
        {"query": []},
        {"query": [], "prompts": None, "labels": None, "metas": []},
    ],
)
def test_empty_query_gets_empty_lists_with_the_usual_keys(hybrid: str, body: dict) -> None:
    answer = post(hybrid, body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["rewards"] == [] and data["scores"] == []
    # the same keys as a non-empty answer: OpenRLHF merges responses by the first one's keys
    full = call(hybrid, [GERMAN], [OBJECT_LABEL])
    assert set(data["extra_logs"]) == set(full["extra_logs"])
    assert all(values == [] for values in data["extra_logs"].values())


@pytest.mark.parametrize(
    ("label", "scored"),
    [
        (REFERENCE, True),  # a full English response: reference and pivot answer
        ([REFERENCE], True),
        (OBJECT_LABEL, True),
        (json.dumps(OBJECT_LABEL), True),
        ({"reference": REFERENCE}, True),  # the reference's final answer is the pivot answer
        (18, False),  # a gold answer only: hybrid has no reference to compare with
        ("18", False),
        (None, False),
        ("", False),
        ([], False),
    ],
)
def test_label_types_under_hybrid(hybrid: str, label: Any, scored: bool) -> None:
    right = one(hybrid, GERMAN, label)
    if scored:
        wrong = one(hybrid, GERMAN_WRONG, label)
        assert right["excluded"] == 0.0 and right["reward"] > 0 and right["answer"] == 1.0
        assert wrong["answer"] == pytest.approx(0.1) and wrong["reward"] < right["reward"]
        assert right["semantic"] > 0
    else:
        assert right["reward"] == 0.0 and right["excluded"] == 1.0
        assert right["no_reference"] == 1.0 and right["language_unknown"] == 0.0


@pytest.mark.parametrize(
    ("label", "right_reward"),
    [
        (18, 1.0),
        (18.0, 1.0),
        ("18", 1.0),
        (" $18 ", 1.0),
        (["18"], 1.0),
        ({"answer": 18}, 1.0),
        ({"gold": "18", "lang": "de"}, 1.0),
        (REFERENCE, 1.0),  # its final answer, 18, is extracted
        ("Janet makes 9 * 2 = 18 dollars.\n#### 18", 1.0),
        (20, 0.1),  # a different gold answer: PASMR's mismatch
    ],
)
def test_label_types_under_pasmr(pasmr: str, label: Any, right_reward: float) -> None:
    result = one(pasmr, GERMAN, label)
    assert result["reward"] == pytest.approx(right_reward)
    assert result["excluded"] == 0.0 and result["answer"] == pytest.approx(right_reward)


def test_pasmr_without_an_answer_is_excluded_not_a_format_error(pasmr: str) -> None:
    data = call(pasmr, [GERMAN, "Ich weiß es nicht.", GERMAN], [None, 18, {"lang": "de"}])
    logs = data["extra_logs"]
    assert data["rewards"] == [0.0, 0.0, 0.0]  # OpenRLHF cannot take null
    # ...but the logs tell the excluded samples from the real format error
    assert logs["excluded"] == [1.0, 0.0, 1.0]
    assert logs["no_pivot_answer"] == [1.0, 0.0, 1.0]
    assert logs["format_error"] == [0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("label", "loc"),
    [
        (True, "labels[1]"),
        (["18", "20"], "labels[1]"),
        ({"colour": "red"}, "labels[1]"),
        ({"answer": [18]}, "labels[1].answer"),
        ({"lang": "xx"}, "labels[1].lang"),
        ('{"pivot_answer": 18', "labels[1]"),
    ],
)
def test_unusable_labels_are_422_naming_the_label(hybrid: str, label: Any, loc: str) -> None:
    body = {"query": [GERMAN, GERMAN], "labels": [OBJECT_LABEL, label]}
    answer = post(hybrid, body)
    assert answer.status_code == 422, answer.text
    assert [f["loc"] for f in answer.json()["error"]["fields"]] == [loc]


def test_list_lengths_must_match(hybrid: str) -> None:
    answer = post(hybrid, {"query": [GERMAN, GERMAN], "labels": [OBJECT_LABEL]})
    assert answer.status_code == 422 and answer.json()["error"]["fields"][0]["loc"] == "labels"


def test_language_from_the_label_the_response_or_nowhere(hybrid: str) -> None:
    data = call(
        hybrid,
        [GERMAN, GERMAN, "18"],
        [OBJECT_LABEL, REFERENCE, REFERENCE],
    )
    logs = data["extra_logs"]
    assert logs["lang_guessed"] == [0.0, 1.0, 1.0]
    assert data["rewards"][1] > 0  # German detected in the response
    # "18" has too few letters and no default is configured: the (German) prompt tells
    assert logs["excluded"][2] == 0.0 and logs["answer"][2] == 1.0
    bare = post(hybrid, {"query": ["18"], "prompts": [""], "labels": [REFERENCE]}).json()
    assert bare["rewards"] == [0.0] and bare["extra_logs"]["language_unknown"] == [1.0]
    assert bare["extra_logs"]["excluded"] == [1.0]


def test_default_language_setting() -> None:
    app = create_app(fast_settings(default_lang="sw"), encoder_factory=HashFactory())
    with running_server(app) as base:
        answer = post(base, {"query": ["1.250"], "labels": [{"answer": "1250", "reference": "r"}]})
        assert answer.status_code == 200, answer.text
        logs = answer.json()["extra_logs"]
        assert logs["excluded"] == [0.0] and logs["lang_guessed"] == [1.0]
        result = direct(base, {"response": "1.250", "pivot_answer": "1250", "reference": "r"})
        assert (result["lang"], result["lang_source"]) == ("sw", "default")


def test_long_rollouts_are_cut_and_flagged_the_others_scored_as_usual(hybrid: str) -> None:
    responses = [GERMAN, long_german(25_000), GERMAN_WRONG, long_german(150_000), GERMAN]
    data = call(hybrid, responses, [OBJECT_LABEL] * 5)
    logs = data["extra_logs"]
    assert logs["truncated"] == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert logs["excluded"] == [0.0] * 5
    assert logs["answer"] == [1.0, 1.0, 0.1, 1.0, 1.0]  # the cut kept the final answer
    alone = call(hybrid, [GERMAN, GERMAN_WRONG], [OBJECT_LABEL] * 2)["rewards"]
    assert [data["rewards"][i] for i in (0, 2, 4)] == [alone[0], alone[1], alone[0]]


def test_only_a_body_over_the_byte_limit_is_413(hybrid: str) -> None:
    # 1 MiB limit on this server: a 900,000-character rollout is scored, 1.1 MB is refused
    near = post(hybrid, {"query": [long_german(900_000)], "labels": [OBJECT_LABEL]})
    assert near.status_code == 200, near.text[:300]
    assert near.json()["extra_logs"]["truncated"] == [1.0]
    over = post(hybrid, {"query": [long_german(1_100_000)], "labels": [OBJECT_LABEL]})
    assert over.status_code == 413
    assert over.json()["error"]["type"] == "payload_too_large"


def test_nulls_and_cuts_are_counted_in_the_metrics(hybrid: str) -> None:
    call(hybrid, [GERMAN, long_german(30_000)], [18, OBJECT_LABEL])
    text = httpx.get(f"{hybrid}/metrics").text
    assert 'pivot_null_rewards_total{reason="no_reference",route="/get_reward"}' in text
    assert 'pivot_truncated_items_total{route="/get_reward"}' in text


@pytest.mark.parametrize("userinfo", [f"{KEY}:", f"trainer:{KEY}", "x:other-key"])
def test_key_in_the_url_with_python_requests(keyed: str, userinfo: str) -> None:
    """`--reward.remote_url http://KEY:@host:port/get_reward`: requests sends Basic auth."""
    url = keyed.replace("http://", f"http://{userinfo}@") + "/get_reward"
    answer = requests.post(url, json={"query": [GERMAN], "labels": [OBJECT_LABEL]}, timeout=60)
    assert answer.request.headers["Authorization"].startswith("Basic ")
    assert answer.status_code == 200, answer.text
    assert answer.json()["rewards"][0] > 0


@pytest.mark.parametrize(
    "userinfo",
    [f"{KEY}:junk", "trainer:wrong", f"{KEY[:-1]}:", "trainer:", f":{KEY}x"],
)
def test_wrong_keys_in_the_url_are_401(keyed: str, userinfo: str) -> None:
    url = keyed.replace("http://", f"http://{userinfo}@") + "/get_reward"
    answer = requests.post(url, json={"query": [GERMAN], "labels": [OBJECT_LABEL]}, timeout=60)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["message"] == "invalid API key"
    assert KEY not in answer.text


def test_key_without_the_colon(keyed: str) -> None:
    """python-requests sends no credentials for `http://KEY@host` (no colon): 401 'missing', with
    the form that works in the message. httpx does send them."""
    url = keyed.replace("http://", f"http://{KEY}@") + "/get_reward"
    body = {"query": [GERMAN], "labels": [OBJECT_LABEL]}
    answer = requests.post(url, json=body, timeout=60)
    assert "Authorization" not in answer.request.headers
    assert answer.status_code == 401 and "http://KEY:@" in answer.json()["error"]["message"]
    assert httpx.post(url, json=body, timeout=60).status_code == 200


def test_bearer_still_works_and_no_key_is_401(keyed: str) -> None:
    body = {"query": [GERMAN], "labels": [OBJECT_LABEL]}
    assert post(keyed, body, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert post(keyed, body).status_code == 401
    assert post(keyed, {"query": []}).status_code == 401  # even the empty call needs the key


def test_single_sample_requests_are_batched() -> None:
    """OpenRLHF sends one sample per request, many at once: they must share model batches."""
    factory = HashFactory()
    app = create_app(fast_settings(max_wait_ms=50, max_batch_size=512), encoder_factory=factory)
    with running_server(app) as base:
        factory.encoder.calls.clear()
        prompt = "Frage: Wie viel verdient sie?\nAntwort:"

        async def send_all() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            "/get_reward",
                            json={
                                "query": [f"{prompt} Sie verdient {i} $. Die Antwort lautet {i}."],
                                "prompts": [prompt],
                                "labels": [json.dumps(OBJECT_LABEL)],
                            },
                        )
                        for i in range(64)
                    )
                )

        responses = asyncio.run(send_all())
        assert all(r.status_code == 200 for r in responses)
        assert responses[18].json()["extra_logs"]["answer"] == [1.0]
        calls = factory.encoder.calls
        assert sum(calls) == 65 and len(calls) <= 8, calls  # 64 responses + the shared reference


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (b'{"query": "x"}', "query"),
        (b'{"query": [5]}', "query[0]"),
        (b'{"query": ["a \\ud800 b"]}', "query[0]"),  # legal JSON, not valid Unicode
        (b'{"query": ["a"], "prompts": ["\\udfff"]}', "prompts[0]"),
        (b'{"query": ["a"], "labels": ["The answer is \\ud800 18."]}', "labels[0]"),
        (b'{"query": ["a"], "labels": [{"reference": "\\ud800"}]}', "labels[0].reference"),
    ],
)
def test_bad_fields_are_422_naming_them(hybrid: str, raw: bytes, loc: str) -> None:
    answer = requests.post(
        f"{hybrid}/get_reward", data=raw, headers={"content-type": "application/json"}, timeout=60
    )
    assert answer.status_code == 422, answer.text
    assert [f["loc"] for f in answer.json()["error"]["fields"]] == [loc]


def test_gate_passed_says_what_the_gate_decided(hybrid: str) -> None:
    """`empty` passes the gate (like `undetermined`, PIVOT's default): the log says 1, not 0."""
    empty = one(hybrid, "", OBJECT_LABEL)
    assert direct(hybrid, {"response": "", **OBJECT_LABEL})["gate"] == "empty"
    assert empty["gate_passed"] == 1.0
    copied = one(hybrid, REFERENCE, OBJECT_LABEL)  # the English reference pasted as the answer
    assert direct(hybrid, {"response": REFERENCE, **OBJECT_LABEL})["gate"] != "ok"
    assert copied["gate_passed"] == 0.0 and copied["reward"] == 0.0
    assert one(hybrid, GERMAN, OBJECT_LABEL)["gate_passed"] == 1.0
