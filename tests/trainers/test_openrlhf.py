"""OpenRLHF's own remote-reward code (`SingleTurnAgentExecutor`, its single-turn rollout path)
against live servers: `--reward.remote_url` as one URL, two URLs, a key in the URL, and our reward
file; labels as text, number and object.

OpenRLHF version: tests/trainers/requirements-nodeps.txt (0.11.2, installed --no-deps). Its code
runs from the generated tokens on: decoding prompt + response with the tokenizer, building the
request, sending it with aiohttp (5 tries, 180 s), reading `rewards` / `scores` / `extra_logs` into
the sample. Only the vLLM engine is a test double (`FakeEngine`: vLLM needs a GPU); it "generates"
the tokens of a fixed response.
"""

import asyncio
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pivot_reward_client import stats

from tests.trainers.helpers import installed_version, post_json
from tests.trainers.tiny_policy import tiny_tokenizer

REFERENCE = "Janet sells 9 eggs at 2 dollars each, so she makes 18 dollars. The answer is 18."
PROMPT = "wie viele dollar verdient janet ?"
RIGHT = "sie verkauft 9 eier für je 2 dollar also 18 dollar . die antwort lautet 18"
WRONG = "sie verkauft 9 eier für je 2 dollar also 20 dollar . die antwort lautet 20"
LABELS: dict[str, Any] = {
    "text": REFERENCE,  # the English reference response
    "number": 18,  # the gold answer
    "object": {"reference": REFERENCE, "pivot_answer": "18", "lang": "de"},
    "object as JSON": json.dumps({"pivot_answer": "18", "lang": "de"}),
}


@dataclass
class SamplingParams:
    """The two fields of vLLM's SamplingParams that OpenRLHF's executor reads."""

    max_tokens: int | None = 32
    logprobs: int | None = None


@dataclass
class _Completion:
    token_ids: list[int]
    finish_reason: str = "stop"
    logprobs: None = None


@dataclass
class _Output:
    outputs: list[_Completion]


@dataclass
class FakeEngine:
    """Test double of OpenRLHF's vLLM engine: returns the token ids of `response`."""

    tokenizer: Any
    response: str
    calls: list[list[int]] = field(default_factory=list)

    async def generate(self, prompt_token_ids: list[int], params: Any, **kwargs: Any) -> _Output:
        self.calls.append(prompt_token_ids)
        ids = self.tokenizer(self.response, add_special_tokens=False)["input_ids"]
        return _Output([_Completion(ids)])


def rollout(remote_url: str | list[str], label: Any, response: str = RIGHT) -> dict[str, Any]:
    """One sample through OpenRLHF's SingleTurnAgentExecutor.execute, as its rollout workers run it."""
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    tokenizer = tiny_tokenizer()
    executor = SingleTurnAgentExecutor(remote_rm_url=remote_url)
    engine = FakeEngine(tokenizer, response)
    output: dict[str, Any] = asyncio.run(
        executor.execute(PROMPT, label, SamplingParams(), 256, tokenizer, engine)
    )
    assert engine.calls, "the engine was never asked to generate"
    return output


def query_of(response: str) -> str:
    """What OpenRLHF sends as `query`: prompt + response tokens decoded."""
    tokenizer = tiny_tokenizer()
    ids = tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    ids += tokenizer(response, add_special_tokens=False)["input_ids"]
    text: str = tokenizer.decode(ids, skip_special_tokens=False)
    return text


def direct(base: str, label: Any, response: str = RIGHT) -> dict[str, Any]:
    body = {"query": [query_of(response)], "prompts": [PROMPT], "labels": [label]}
    return post_json(base, "/get_reward", body)


def items_scored(base: str) -> float:
    text = httpx.get(base + "/metrics", timeout=10).text
    match = re.search(r'pivot_items_scored_total\{route="/get_reward"\} ([0-9.e+]+)', text)
    return float(match.group(1)) if match else 0.0


def test_versions() -> None:
    assert installed_version("openrlhf") == "0.11.2"


@pytest.mark.parametrize(
    ("recipe", "kind"),
    [("hybrid", "text"), ("hybrid", "object")] + [("pasmr", kind) for kind in LABELS],
)
def test_one_url_labels_of_every_type(
    server: str, pasmr_server: str, recipe: str, kind: str
) -> None:
    base = server if recipe == "hybrid" else pasmr_server
    label = LABELS[kind]
    for response in (RIGHT, WRONG):
        output = rollout(base + "/get_reward", label, response)
        want = direct(base, label, response)
        assert output["reward"] == want["rewards"], output
        assert output["scores"] == want["scores"]
        assert output["extra_logs"] == want["extra_logs"]
        assert output["extra_logs"]["excluded"] == [0.0]
    right, wrong = (rollout(base + "/get_reward", label, r)["reward"][0] for r in (RIGHT, WRONG))
    assert right > wrong, (kind, right, wrong)


def test_gold_answer_only_under_hybrid_is_excluded_not_failed(server: str) -> None:
    """hybrid compares with a reference a bare gold answer lacks: 0.0, flagged, not an error."""
    output = rollout(server + "/get_reward", LABELS["number"])
    assert output["reward"] == [0.0]
    assert output["extra_logs"]["excluded"] == [1.0]
    assert output["extra_logs"]["no_reference"] == [1.0]


def test_two_urls_share_the_samples(server: str, second_server: str) -> None:
    urls = [server + "/get_reward", second_server + "/get_reward"]
    before = [items_scored(server), items_scored(second_server)]
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    tokenizer = tiny_tokenizer()
    executor = SingleTurnAgentExecutor(remote_rm_url=urls)  # one executor, as in a rollout worker

    async def four() -> list[dict[str, Any]]:
        return [
            await executor.execute(
                PROMPT,
                LABELS["text"],
                SamplingParams(),
                256,
                tokenizer,
                FakeEngine(tokenizer, RIGHT),
            )
            for _ in range(4)
        ]

    outputs = asyncio.run(four())
    after = [items_scored(server), items_scored(second_server)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2.0, 2.0]  # rotated
    want = direct(server, LABELS["text"])["rewards"]
    assert all(o["reward"] == want for o in outputs) and want[0] > 0, (outputs, want)


def test_api_key_in_the_url(keyed_server: str) -> None:
    host = keyed_server.removeprefix("http://")
    # OpenRLHF sends no auth header: without the key the request is refused (OpenRLHF logs the
    # failure and leaves the reward unset) ...
    assert rollout(keyed_server + "/get_reward", LABELS["number"])["reward"] is None
    # ... with the key in the URL's user-info, aiohttp sends it as Basic auth.
    output = rollout(f"http://trainer-key@{host}/get_reward", LABELS["number"])
    headers = {"Authorization": "Bearer trainer-key"}
    body = {"query": [query_of(RIGHT)], "prompts": [PROMPT], "labels": [18]}
    want = httpx.post(keyed_server + "/get_reward", json=body, headers=headers, timeout=30).json()
    assert output["reward"] == want["rewards"]
    assert output["extra_logs"] == want["extra_logs"]


def reward_file() -> str:
    out = subprocess.run(
        [sys.executable, "-m", "pivot_reward_client", "path", "openrlhf"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def test_reward_file_instead_of_a_url(
    server: str, second_server: str, keyed_server: str, clean_env: Any
) -> None:
    path = reward_file()
    assert path.endswith("pivot_reward_client/openrlhf.py")
    clean_env(PIVOT_REWARD_URL=f"{server},{second_server}", PIVOT_REWARD_MAX_RETRIES="2")
    before = stats.snapshot()["excluded"].get("openrlhf", 0)
    for kind, label in LABELS.items():
        output = rollout(path, label)  # OpenRLHF loads the file and calls reward_func
        want = direct(server, label)
        assert output["reward"] == want["rewards"], kind
        assert output["extra_logs"] == want["extra_logs"]
    # Excluded samples are counted (under hybrid: the number and the reference-less object).
    assert stats.snapshot()["excluded"]["openrlhf"] == before + 2
    # The bearer key comes from PIVOT_API_KEY (no key in the URL needed).
    clean_env(PIVOT_REWARD_URL=keyed_server, PIVOT_API_KEY="trainer-key")
    assert rollout(path, LABELS["text"])["reward"] == direct(server, LABELS["text"])["rewards"]
