"""slime's built-in remote reward (`--rm-type remote_rm --rm-url URL`) against /slime/reward.

slime is not on PyPI (see tests/trainers/test_slime.py), so its request code cannot be imported;
`slime_remote_rm` below does what `slime/rollout/rm_hub/__init__.py::remote_rm` does: one shared
aiohttp session, `session.post(rm_url, json={"prompt", "response", "label"})`,
`raise_for_status()`, and `await resp.json()` taken as the reward itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

PROMPT = (
    "Janet hat 16 Eier, isst 3, backt mit 4 und verkauft den Rest zu 2 $. Wie viel verdient sie?"
)
GERMAN = "16 - 3 - 4 = 9 Eier, 9 x 2 $ = 18 $. Die Antwort lautet 18."
WRONG = "16 - 3 - 4 = 9 Eier, 9 x 2 $ = 20 $. Die Antwort lautet 20."
REFERENCE = "Janet sells 16 - 3 - 4 = 9 eggs at $2 each, so she makes $18. The answer is 18."
LABEL = {"pivot_answer": "18", "lang": "de", "reference": REFERENCE}
NO_LANG = {"pivot_answer": "18", "reference": REFERENCE}
KEY = "slime-key"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_app(fast_settings(), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def keyed() -> Iterator[str]:
    app = create_app(fast_settings(api_keys=KEY), encoder_factory=HashFactory())
    with running_server(app) as base:
        yield base


async def slime_remote_rm(rm_url: str, samples: list[dict[str, Any]]) -> list[Any]:
    """slime's remote_rm for each sample, concurrently as its batched_async_rm gathers them."""
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:

        async def one(sample: dict[str, Any]) -> Any:
            payload = {
                "prompt": sample["prompt"],
                "response": sample["response"],
                "label": sample["label"],
            }
            async with session.post(rm_url, json=payload) as resp:
                resp.raise_for_status()
                return await resp.json()

        return list(await asyncio.gather(*(one(s) for s in samples)))


def reward_of(base: str, item: dict[str, Any]) -> float | None:
    answer = httpx.post(f"{base}/v1/rewards", json={"items": [item]}, timeout=60)
    assert answer.status_code == 200, answer.text
    reward: float | None = answer.json()["results"][0]["reward"]
    return reward


def test_the_answer_is_the_reward_as_a_bare_number(server: str) -> None:
    samples = [
        {"prompt": PROMPT, "response": GERMAN, "label": LABEL},
        {"prompt": PROMPT, "response": WRONG, "label": LABEL},
        {"prompt": PROMPT, "response": GERMAN, "label": json.dumps(LABEL)},  # as a JSON string
        {"prompt": [{"role": "user", "content": PROMPT}], "response": GERMAN, "label": NO_LANG},
    ]
    rewards = asyncio.run(slime_remote_rm(f"{server}/slime/reward", samples))
    assert all(isinstance(r, float) for r in rewards), rewards
    assert rewards[0] == reward_of(server, {"response": GERMAN, **LABEL})
    assert rewards[1] == reward_of(server, {"response": WRONG, **LABEL})
    assert rewards[0] > rewards[1]
    assert rewards[2] == rewards[0]
    # no language in the label, chat messages as the prompt: the language comes from the response
    assert rewards[3] == reward_of(server, {"response": GERMAN, **NO_LANG}) == rewards[0]


def test_a_null_reward_is_sent_as_zero_and_counted(server: str) -> None:
    before = _null_count(server)
    # no label at all: nothing to compare with (`no_reference`), which slime cannot take as null
    (reward,) = asyncio.run(
        slime_remote_rm(
            f"{server}/slime/reward", [{"prompt": PROMPT, "response": GERMAN, "label": None}]
        )
    )
    assert reward == 0.0
    assert reward_of(server, {"response": GERMAN}) is None
    assert _null_count(server) == before + 1


def _null_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=30).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("pivot_null_rewards_total{") and 'route="/slime/reward"' in line
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": PROMPT, "response": GERMAN, "label": True}, "label"),
        ({"prompt": PROMPT, "label": LABEL}, "response"),
        ({"prompt": PROMPT, "response": 5, "label": LABEL}, "response"),
    ],
)
def test_bad_samples_are_a_422_naming_the_field(server: str, body: dict, field: str) -> None:
    answer = httpx.post(f"{server}/slime/reward", json=body, timeout=30)
    assert answer.status_code == 422, answer.text
    assert field in answer.text


def test_the_key_in_the_url_or_a_header(keyed: str) -> None:
    body = {"prompt": PROMPT, "response": GERMAN, "label": LABEL}
    assert httpx.post(f"{keyed}/slime/reward", json=body, timeout=30).status_code == 401
    with_key = keyed.replace("http://", f"http://{KEY}:@")
    (reward,) = asyncio.run(slime_remote_rm(f"{with_key}/slime/reward", [body]))
    assert isinstance(reward, float) and reward > 0
