"""TRL's own GRPOTrainer trains a tiny policy on CPU with rewards from a live server over HTTP.

TRL version: tests/trainers/requirements.txt (1.16.0). The policy is a 2-layer Qwen2 with a
word-level tokenizer, both built here (no model hub). Two reward functions run in the same
trainer: the async one (`pb-rlsvr-embedding`) and the sync variant (`pasmr`, which leaves the
rows without a gold answer null, so TRL's None handling is exercised).
"""

import inspect
import math
import multiprocessing
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
from pivot_reward_client import stats
from pivot_reward_client.trl import AsyncRewardFunc, make_reward_func

from tests.trainers.helpers import installed_version
from tests.trainers.tiny_policy import tiny_qwen2, tiny_tokenizer

REFERENCE = "Janet sells 9 eggs at 2 dollars each, so she makes 18 dollars. The answer is 18."
PROMPTS = [
    "wie viele eier verkauft janet jeden tag ?",
    "wie viele dollar verdient sie ?",
]


def dataset() -> Any:
    from datasets import Dataset

    return Dataset.from_list(
        [
            {"prompt": PROMPTS[0], "lang": "de", "reference": REFERENCE, "pivot_answer": "18"},
            {"prompt": PROMPTS[1], "lang": "de", "reference": REFERENCE, "pivot_answer": None},
        ]
    )


def service_rewards(base: str, preset: str, rows: list[dict[str, Any]]) -> list[float | None]:
    """What the service answers for these completions, asked directly."""
    items = []
    for row in rows:
        item = {"response": row["completion"], "lang": "de", "prompt": row["prompt"]}
        item.update({k: row[k] for k in ("reference", "pivot_answer") if row[k] is not None})
        items.append(item)
    response = httpx.post(base + "/v1/rewards", json={"preset": preset, "items": items}, timeout=60)
    assert response.status_code == 200, response.text
    return [r["reward"] for r in response.json()["results"]]


def test_versions() -> None:
    assert installed_version("trl") == "1.16.0"
    assert installed_version("torch").startswith("2.13.0")


def test_grpo_trainer_two_steps_with_rewards_from_the_service(server: str, tmp_path: Path) -> None:
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    semantic = make_reward_func(server, preset="pb-rlsvr-embedding", lang_column="lang")
    pasmr = make_reward_func(server, preset="pasmr", sync=True)
    assert isinstance(semantic, AsyncRewardFunc)
    assert inspect.iscoroutinefunction(semantic) and not inspect.iscoroutinefunction(pasmr)
    # The same objects survive pickle (AsyncGRPOTrainer pickles reward functions into a process).
    for func in (semantic, pasmr):
        assert pickle.loads(pickle.dumps(func)).__name__ == func.__name__

    tokenizer = tiny_tokenizer()
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=12,
        learning_rate=1e-3,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=tiny_qwen2(tokenizer),
        reward_funcs=[semantic, pasmr],
        args=args,
        train_dataset=dataset(),
        processing_class=tokenizer,
    )

    seen: list[dict[str, Any]] = []

    class Capture(TrainerCallback):
        """What TRL logged for each step's completions (its own `_logs`, refilled every step)."""

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = trainer._logs
            seen.append(
                {
                    "prompt": list(logs["prompt"]),
                    "completion": list(logs["completion"]),
                    "rewards": {k: list(v) for k, v in logs["rewards"].items()},
                }
            )

    trainer.add_callback(Capture())
    before = [p.detach().clone() for p in trainer.model.parameters()]
    excluded_before = stats.snapshot()["excluded"].get("trl", 0)
    trainer.train()

    assert trainer.state.global_step == 2
    changed = any(
        not torch_equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True)
    )
    assert changed, "two optimisation steps left every weight unchanged"

    assert len(seen) == 2
    excluded_seen = 0
    rows_by_prompt = {row["prompt"]: row for row in dataset().to_list()}
    for step in seen:
        rows = [
            {**rows_by_prompt[p], "completion": c}
            for p, c in zip(step["prompt"], step["completion"], strict=True)
        ]
        assert len(rows) == 4
        for func, preset in ((semantic, "pb-rlsvr-embedding"), (pasmr, "pasmr")):
            expected = service_rewards(server, preset, rows)
            logged = step["rewards"][func.__name__]
            assert same_rewards(logged, expected), (func.__name__, logged, expected)
        # pasmr leaves a reward null only where there is no gold answer (None -> NaN in TRL).
        for row, reward in zip(rows, step["rewards"]["pivot_pasmr"], strict=True):
            if math.isnan(reward):
                assert row["pivot_answer"] is None
                excluded_seen += 1

    history = {k for entry in trainer.state.log_history for k in entry}
    for name, components in (
        ("pivot_pb_rlsvr_embedding", ["semantic"]),
        ("pivot_pasmr", ["answer"]),
    ):
        assert f"rewards/{name}/mean" in history
        for key in ("excluded", "truncated", *components):
            assert f"{name}/{key}" in history, (name, key, sorted(history))
    assert excluded_seen > 0, "no completion was excluded: the None path did not run"
    assert stats.snapshot()["excluded"].get("trl", 0) >= excluded_before + excluded_seen


def torch_equal(a: Any, b: Any) -> bool:
    import torch

    return bool(torch.equal(a, b))


def same_rewards(logged: list[float], expected: list[float | None]) -> bool:
    """TRL stores rewards as float32 (None as NaN); the service answers float64."""
    if len(logged) != len(expected):
        return False
    for got, want in zip(logged, expected, strict=True):
        if want is None:
            if not math.isnan(got):
                return False
        elif got != pytest.approx(want, abs=1e-6):
            return False
    return True


def _score_in_spawned_child(func: Any, queue: Any) -> None:
    import asyncio

    from trl.trainer.utils import is_async_callable

    kwargs = {"prompts": PROMPTS[:1], "completions": ["die antwort lautet 18 ."]}
    kwargs |= {"lang": ["de"], "reference": [REFERENCE], "pivot_answer": ["18"]}
    if is_async_callable(func):
        queue.put(asyncio.run(func(**kwargs)))
    else:
        queue.put(func(**kwargs))


def test_reward_funcs_work_as_async_grpo_passes_them(server: str) -> None:
    """AsyncGRPOTrainer pickles reward functions into a spawned process and awaits them there
    (`trl.experimental.async_grpo`); its own helpers classify and name them."""
    from trl.trainer.utils import get_callable_name, is_async_callable

    funcs = [
        make_reward_func(server, preset="pasmr"),
        make_reward_func(server, preset="pasmr", sync=True),
    ]
    assert [is_async_callable(f) for f in funcs] == [True, False]
    assert [get_callable_name(f) for f in funcs] == ["pivot_pasmr", "pivot_pasmr"]
    context = multiprocessing.get_context("spawn")
    for func in funcs:
        queue = context.Queue()
        child = context.Process(target=_score_in_spawned_child, args=(func, queue))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == 0
        assert queue.get(timeout=5) == [1.0]
