"""The client's TRL, verl, OpenRLHF and slime adapters against the real app on loopback (hash encoder).

These pin the adapters' mapping with hand-built trainer arguments; tests/trainers/ runs the
trainers' own code against a live server.

Each adapter result is compared with a direct `POST /v1/rewards` of the items it should have built,
so these tests pin the mapping from trainer inputs to the service's contract.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import pickle
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pivot_reward_client import PivotRewardError, stats
from pivot_reward_client import openrlhf as openrlhf_adapter
from pivot_reward_client import slime as slime_adapter
from pivot_reward_client import verl as verl_adapter
from pivot_reward_client.labels import label_fields
from pivot_reward_client.texts import completion_text, prompt_text
from pivot_reward_client.trl import build_items, make_reward_func

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

REFERENCE = "Janet sells 9 eggs at $2 each, so she makes $18. The answer is 18."
QUESTION = "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4. How much does she make?"
RIGHT_DE = "Janet verkauft jeden Tag 9 Eier für je 2 Dollar, also 18 Dollar. Die Antwort lautet 18."
WRONG_DE = (
    "Janet verkauft jeden Tag 10 Eier für je 2 Dollar, also 20 Dollar. Die Antwort lautet 20."
)
ENGLISH = "Janet sells 9 eggs, so she makes 18 dollars. The answer is 18."
RIGHT_FR = "Janet vend 9 œufs chaque jour à 2 dollars, donc 18 dollars. La réponse est 18."


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=2), encoder_factory=HashFactory())
    with running_server(app) as base:
        probe = httpx.post(
            base + "/v1/rewards",
            json={"preset": "pasmr", "items": [{"response": "Antwort: 1", "lang": "de"}]},
            timeout=30,
        )
        if probe.status_code == 404:
            pytest.skip("rewards endpoint not yet available")
        yield base


@pytest.fixture(scope="module")
def small_server(server: str) -> Iterator[str]:
    app = create_app(
        fast_settings(max_wait_ms=2, max_items_per_request=3), encoder_factory=HashFactory()
    )
    with running_server(app) as base:
        yield base


def rewards_direct(base: str, items: list[dict[str, Any]], preset: str | None) -> list[Any]:
    body: dict[str, Any] = {"items": items}
    if preset is not None:
        body["preset"] = preset
    response = httpx.post(base + "/v1/rewards", json=body, timeout=30)
    assert response.status_code == 200, response.text
    results: list[Any] = response.json()["results"]
    return results


def grpo_batch() -> dict[str, Any]:
    """A GRPO-like batch: one prompt, G=5 completions, dataset columns repeated per completion."""
    completions = [RIGHT_DE, WRONG_DE, ENGLISH, REFERENCE, RIGHT_DE + " Also 18."]
    n = len(completions)
    return {
        "prompts": [QUESTION] * n,
        "completions": completions,
        "lang": ["de"] * n,
        "reference": [REFERENCE] * n,
        "pivot_answer": [18] * n,  # numbers are sent as text
    }


# ------------------------------------------------------------------------------------------
# TRL
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["hybrid", "pasmr", "pb-rlsvr-embedding", None])
async def test_trl_reward_func_equals_direct_call(server: str, preset: str | None) -> None:
    batch = grpo_batch()
    reward_func = make_reward_func(server, preset=preset)
    assert inspect.iscoroutinefunction(reward_func.__call__)  # TRL >= 1.14 awaits it concurrently
    assert inspect.iscoroutinefunction(reward_func)  # the check of TRL 0.27-1.13
    assert (
        reward_func.__name__
        == {
            "hybrid": "pivot_hybrid",
            "pasmr": "pivot_pasmr",
            "pb-rlsvr-embedding": "pivot_pb_rlsvr_embedding",
            None: "pivot_reward",
        }[preset]
    )
    rewards = await reward_func(
        prompts=batch["prompts"],
        completions=batch["completions"],
        lang=batch["lang"],
        reference=batch["reference"],
        pivot_answer=batch["pivot_answer"],
        completion_ids=[[1, 2, 3]] * 5,  # other TRL kwargs are ignored
        trainer_state=object(),
    )
    items = [
        {
            "response": c,
            "lang": "de",
            "reference": REFERENCE,
            "pivot_answer": "18",
            "prompt": QUESTION,
        }
        for c in batch["completions"]
    ]
    expected = [r["reward"] for r in rewards_direct(server, items, preset)]
    assert rewards == expected
    assert all(r is None or isinstance(r, float) for r in rewards)
    if preset in ("hybrid", "pasmr"):
        # right answer in German beats the wrong one; English and the pasted reference get nothing
        assert rewards[0] is not None and rewards[1] is not None
        assert rewards[0] > rewards[1]
        assert rewards[2] == rewards[3] == 0.0


async def test_trl_conversational_completions(server: str) -> None:
    batch = grpo_batch()
    prompts = [
        [
            {"role": "system", "content": "Answer in German."},
            {"role": "user", "content": QUESTION},
        ]
    ] * 5
    completions = [[{"role": "assistant", "content": c}] for c in batch["completions"]]
    # multimodal-style content parts are read too
    completions[4] = [
        {"role": "assistant", "content": [{"type": "text", "text": batch["completions"][4]}]}
    ]
    reward_func = make_reward_func(server, preset="hybrid")
    kwargs = {k: batch[k] for k in ("lang", "reference", "pivot_answer")}
    conversational = await reward_func(prompts=prompts, completions=completions, **kwargs)
    plain = await reward_func(prompts=batch["prompts"], completions=batch["completions"], **kwargs)
    assert conversational == plain


async def test_trl_none_passes_through_and_lang_constant(server: str) -> None:
    reward_func = make_reward_func(server, preset="pasmr", lang="fr", name="pasmr_fr")
    assert reward_func.__name__ == "pasmr_fr"
    rewards = await reward_func(
        prompts=["q"] * 3,
        completions=[RIGHT_FR, RIGHT_FR, RIGHT_FR.replace("18", "7")],
        pivot_answer=["18", None, "18"],  # no pivot answer: the sample is excluded
    )
    assert rewards[0] == 1.0
    assert rewards[1] is None
    assert rewards[2] == pytest.approx(0.1)


async def test_trl_columns_are_configurable(server: str) -> None:
    reward_func = make_reward_func(
        server,
        preset="pasmr",
        lang_column="language",
        pivot_answer_column=None,
        pivot_response_column="english_solution",
        include_prompt=False,
    )
    rewards = await reward_func(
        prompts=["q", "q"],
        completions=[RIGHT_DE, WRONG_DE],
        language=["de", "de"],
        pivot_answer=["999", "999"],  # ignored: the column is switched off
        english_solution=[REFERENCE, REFERENCE],
    )
    assert rewards == [1.0, pytest.approx(0.1)]


async def test_trl_logs_components(server: str) -> None:
    metrics: dict[str, float] = {}
    extras: dict[str, list[Any]] = {}
    batch = grpo_batch()
    reward_func = make_reward_func(server, preset="hybrid")
    rewards = await reward_func(
        prompts=batch["prompts"],
        completions=batch["completions"],
        lang=batch["lang"],
        reference=batch["reference"],
        pivot_answer=batch["pivot_answer"],
        log_metric=metrics.__setitem__,
        log_extra=extras.__setitem__,
    )
    assert set(metrics) == {
        "pivot_hybrid/excluded",
        "pivot_hybrid/truncated",
        "pivot_hybrid/semantic",
        "pivot_hybrid/answer",
    }
    assert metrics["pivot_hybrid/excluded"] == 0.0
    assert metrics["pivot_hybrid/truncated"] == 0.0
    assert set(extras) == {
        f"pivot_hybrid/{k}" for k in ("reason", "answer_status", "detected_lang", "gate")
    }
    assert 0.0 <= metrics["pivot_hybrid/semantic"] <= 1.0
    assert extras["pivot_hybrid/gate"][2:4] == ["wrong_language", "copied_reference"]
    assert extras["pivot_hybrid/answer_status"][:2] == ["match", "mismatch"]
    assert len(extras["pivot_hybrid/detected_lang"]) == len(rewards)


async def test_trl_empty_completion_is_scored_as_empty(server: str) -> None:
    reward_func = make_reward_func(server, preset="pasmr", lang="de")
    rewards = await reward_func(
        prompts=["q", "q"],
        completions=["", [{"role": "assistant", "content": ""}]],
        pivot_answer=["18", "18"],
    )
    assert rewards == [0.0, 0.0]


def test_trl_reward_func_in_several_event_loops(server: str) -> None:
    """TRL runs async reward functions in a daemon-thread loop; scripts may use asyncio.run."""
    reward_func = make_reward_func(server, preset="pasmr", lang="de")
    kwargs = {"prompts": ["q"], "completions": [RIGHT_DE], "pivot_answer": ["18"]}
    assert asyncio.run(reward_func(**kwargs)) == [1.0]
    assert asyncio.run(reward_func(**kwargs)) == [1.0]  # a new loop gets its own client

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        futures = [asyncio.run_coroutine_threadsafe(reward_func(**kwargs), loop) for _ in range(8)]
        assert [f.result(timeout=30) for f in futures] == [[1.0]] * 8
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


async def test_trl_large_batch_is_split(small_server: str) -> None:
    reward_func = make_reward_func(small_server, preset="pasmr", lang="de")
    n = 10
    answers = [str(i) for i in range(n)]
    completions = [f"Die Antwort lautet {i if i % 2 else i + 1}." for i in range(n)]
    rewards = await reward_func(prompts=["q"] * n, completions=completions, pivot_answer=answers)
    assert rewards == [pytest.approx(0.1) if i % 2 == 0 else 1.0 for i in range(n)]


def test_trl_errors() -> None:
    # no language column: sent without one (the service detects it)
    assert build_items(["q"], ["a"], {"reference": ["r"]}) == [
        {"response": "a", "reference": "r", "prompt": "q"}
    ]
    with pytest.raises(ValueError, match="one value per completion"):
        build_items(["q"], ["a"], {"lang": ["de", "fr"]})
    assert build_items(None, ["a"], {"lang": ["de"], "reference": [float("nan")]}) == [
        {"response": "a", "lang": "de"}
    ]


async def test_trl_server_error_is_raised(server: str) -> None:
    reward_func = make_reward_func(server, preset="pasmr", lang="not a language", max_retries=0)
    with pytest.raises(PivotRewardError) as caught:
        await reward_func(prompts=["q"], completions=[RIGHT_DE], pivot_answer=["18"])
    assert caught.value.status == 422
    assert caught.value.fields[0]["loc"] == "items[0].lang"


async def test_trl_reward_func_pickles_and_sync_variant_agrees(server: str) -> None:
    kwargs = {"prompts": ["q"] * 2, "completions": [RIGHT_DE, WRONG_DE], "pivot_answer": ["18"] * 2}
    reward_func = make_reward_func(server, preset="pasmr", lang="de", timeout=30.0)
    first = await reward_func(**kwargs)
    clone = pickle.loads(pickle.dumps(reward_func))  # after use: open clients are not pickled
    assert inspect.iscoroutinefunction(clone)
    assert clone.__name__ == reward_func.__name__ == "pivot_pasmr"
    assert await clone(**kwargs) == first == [1.0, pytest.approx(0.1)]
    sync_func = make_reward_func(server, preset="pasmr", lang="de", sync=True)
    assert not inspect.iscoroutinefunction(sync_func.__call__)
    assert sync_func(**kwargs) == first
    assert pickle.loads(pickle.dumps(sync_func))(**kwargs) == first
    with pytest.raises(TypeError, match="unknown pivot-reward option"):
        make_reward_func(server, timeuot=3)


async def test_trl_null_reward_option(server: str) -> None:
    reward_func = make_reward_func(server, preset="pasmr", lang="fr", null_reward=0.0)
    before = stats.snapshot()["excluded"].get("trl", 0)
    rewards = await reward_func(prompts=["q"], completions=[RIGHT_FR], pivot_answer=[None])
    assert rewards == [0.0]
    assert stats.snapshot()["excluded"]["trl"] == before + 1


def test_text_helpers() -> None:
    conversation = [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "again"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "sec"}, {"type": "text", "text": "ond"}],
        },
    ]
    assert completion_text(conversation) == "second"
    assert completion_text({"role": "assistant", "content": "x"}) == "x"
    assert completion_text("plain") == "plain"
    assert prompt_text(conversation) == "again"
    assert prompt_text("plain") == "plain"


# ------------------------------------------------------------------------------------------
# verl
# ------------------------------------------------------------------------------------------


@pytest.fixture
def verl_env(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PIVOT_REWARD_URL", server)
    for name in ("PIVOT_API_KEY", "PIVOT_REWARD_PRESET", "PIVOT_REWARD_LANG"):
        monkeypatch.delenv(name, raising=False)
    yield server
    verl_adapter.close()


def test_verl_plain_string_ground_truth(verl_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "pasmr")
    right = verl_adapter.compute_score("mgsm_de", RIGHT_DE, "18", {"lang": "de", "index": 3})
    assert right == {
        "score": 1.0,
        "excluded": False,
        "truncated": False,
        "answer": 1.0,
        "reason": "",
        "answer_status": "match",
        "detected_lang": "de",
        "gate": "ok",
    }
    wrong = verl_adapter.compute_score("mgsm_de", WRONG_DE, "18", {"lang": "de"})
    assert wrong["score"] == pytest.approx(0.1) and wrong["answer_status"] == "mismatch"
    english = verl_adapter.compute_score("mgsm_de", ENGLISH, 18, {"lang": "de"})
    assert english["score"] == 0.0 and english["gate"] == "wrong_language"


def test_verl_json_ground_truth_equals_direct_call(
    verl_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "hybrid")
    truth = {"reference": REFERENCE, "pivot_answer": "18", "lang": "de"}
    as_string = verl_adapter.compute_score("mgsm", RIGHT_DE, json.dumps(truth))
    as_dict = verl_adapter.compute_score("mgsm", RIGHT_DE, truth, None)
    assert as_string == as_dict
    (direct,) = rewards_direct(
        verl_env,
        [{"response": RIGHT_DE, "lang": "de", "reference": REFERENCE, "pivot_answer": "18"}],
        "hybrid",
    )
    assert as_string["score"] == direct["reward"]
    assert as_string["semantic"] == direct["components"]["semantic"]
    assert as_string["answer"] == direct["components"]["answer"] == 1.0
    # extra_info supplies the language and the question; ground truth wins on conflicts
    mixed = verl_adapter.compute_score(
        "mgsm",
        RIGHT_DE,
        json.dumps({"reference": REFERENCE, "pivot_answer": "18"}),
        {"lang": "de", "question": QUESTION, "pivot_answer": "20"},
    )
    assert mixed == as_dict


def test_verl_reward_kwargs_win_over_env(verl_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "hybrid")  # overridden below
    monkeypatch.setenv("PIVOT_REWARD_URL", "http://127.0.0.1:9")  # nothing listens there
    out = verl_adapter.compute_score(
        "mgsm", RIGHT_DE, "18", None, url=verl_env, preset="pasmr", lang="de", timeout=30
    )
    assert out["score"] == 1.0 and set(out) >= {"answer", "excluded", "reason"}


def test_verl_none_reward_is_excluded_zero(verl_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "pasmr")
    before = stats.snapshot()["excluded"].get("verl", 0)
    out = verl_adapter.compute_score("mgsm", RIGHT_DE, '{"lang": "de"}')
    assert out["score"] == 0.0
    assert out["excluded"] is True
    assert math.isnan(out["answer"])
    assert out["answer_status"] == "no_pivot_answer"
    assert stats.snapshot()["excluded"]["verl"] == before + 1


def test_labels() -> None:
    solution = "She has 16 - 3 - 4 = 9 eggs.\nShe sells them at $2: 9 * 2 = 18.\n#### 18"
    assert label_fields(solution) == {"reference": solution, "pivot_response": solution}
    assert label_fields(" 18 ") == {"pivot_answer": "18"}
    assert label_fields(18) == {"pivot_answer": "18"}
    assert label_fields(["18"]) == {"pivot_answer": "18"}
    assert label_fields(2.5) == {"pivot_answer": "2.5"}
    assert label_fields("\\frac{3}{4}") == {"pivot_answer": "\\frac{3}{4}"}
    assert label_fields("The answer is 18.") == {
        "reference": "The answer is 18.",
        "pivot_response": "The answer is 18.",
    }
    assert label_fields({"gold": 7, "lang": "de", "other": 1}) == {
        "pivot_answer": "7",
        "lang": "de",
    }
    assert label_fields(None) == label_fields(True) == label_fields("  ") == {}


async def test_verl_async_equals_sync(verl_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "pasmr")
    single = await verl_adapter.compute_score_async("mgsm", RIGHT_DE, "18", {"lang": "de"})
    assert single == verl_adapter.compute_score("mgsm", RIGHT_DE, "18", {"lang": "de"})
    many = await asyncio.gather(
        *(
            verl_adapter.compute_score_async("m", s, "18", {"lang": "de"})
            for s in [RIGHT_DE, WRONG_DE]
        )
    )
    assert [d["score"] for d in many] == [1.0, pytest.approx(0.1)]


def test_verl_configuration_errors(verl_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "pasmr")
    # no language anywhere: the service detects it from the response
    detected = verl_adapter.compute_score("mgsm", RIGHT_DE, "18")
    assert detected["score"] == 1.0 and detected["detected_lang"] == "de"
    monkeypatch.delenv("PIVOT_REWARD_URL")
    with pytest.raises(ValueError, match="PIVOT_REWARD_URL"):
        verl_adapter.compute_score("mgsm", RIGHT_DE, "18", {"lang": "de"})


def test_verl_follows_env_changes(verl_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_REWARD_PRESET", "pasmr")
    assert verl_adapter.compute_score("m", RIGHT_DE, "18", {"lang": "de"})["score"] == 1.0
    keyed = create_app(fast_settings(api_keys="secret"), encoder_factory=HashFactory())
    with running_server(keyed) as other:
        monkeypatch.setenv("PIVOT_REWARD_URL", other)
        with pytest.raises(PivotRewardError) as caught:
            verl_adapter.compute_score("m", RIGHT_DE, "18", {"lang": "de"})
        assert caught.value.status == 401
        monkeypatch.setenv("PIVOT_API_KEY", "secret")
        assert verl_adapter.compute_score("m", RIGHT_DE, "18", {"lang": "de"})["score"] == 1.0


# ------------------------------------------------------------------------------------------
# OpenRLHF reward file and slime custom reward function (both through /get_reward)
# ------------------------------------------------------------------------------------------


def get_reward_direct(base: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(base + "/get_reward", json=body, timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_openrlhf_reward_func_equals_get_reward(
    verl_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    label = json.dumps({"reference": REFERENCE, "pivot_answer": "18", "lang": "de"})
    for response_text in (RIGHT_DE, WRONG_DE):
        body = {"query": [QUESTION + response_text], "prompts": [QUESTION], "labels": [label]}
        out = openrlhf_adapter.reward_func(body["query"], body["prompts"], body["labels"])
        assert out == get_reward_direct(verl_env, body)
    assert openrlhf_adapter.reward_func([], [], []) == {
        "rewards": [],
        "scores": [],
        "extra_logs": {},
    }


async def test_slime_one_sample_and_group(verl_env: str) -> None:
    label = {"reference": REFERENCE, "pivot_answer": "18", "lang": "de"}
    samples = [
        SimpleNamespace(prompt=QUESTION, response=r, label=label, metadata={})
        for r in (RIGHT_DE, WRONG_DE, ENGLISH)
    ]
    args = SimpleNamespace(rm_url=verl_env + "/get_reward")
    one = await slime_adapter.reward_func(args, samples[0])
    group = await slime_adapter.reward_func(args, samples)
    direct = get_reward_direct(
        verl_env,
        {
            "query": [QUESTION + s.response for s in samples],
            "prompts": [QUESTION] * 3,
            "labels": [label] * 3,
        },
    )
    assert isinstance(one, float) and one == direct["rewards"][0]
    assert group == direct["rewards"]
    assert samples[2].metadata["pivot_reward"]["excluded"] is False
    assert slime_adapter.payload(samples[0]) == {
        "prompt": QUESTION,
        "response": RIGHT_DE,
        "label": label,
    }
