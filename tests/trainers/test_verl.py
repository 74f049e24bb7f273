"""verl's own code loads the adapter and calls it the way its reward loop does, against a live server.

verl version: tests/trainers/requirements-nodeps.txt (0.9.1, installed --no-deps with the modules
its reward loop imports). The config is composed from verl's own `ppo_trainer.yaml` with the
documented overrides (`reward.custom_reward_function.{path,name,reward_kwargs}`), migrated as
`main_ppo` does, and handed to verl's `RewardLoopWorker` (the class its `RewardLoopManager` wraps
in a Ray actor), which loads the function with verl's `load_extern_object`, wraps `reward_kwargs`
and runs every sample through its naive reward manager: token ids decoded by the tokenizer verl
loads, `ground_truth` and `extra_info` from the batch.
"""

import asyncio
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.trainers.helpers import installed_version, post_json
from tests.trainers.tiny_policy import save_tiny_tokenizer, tiny_tokenizer

REFERENCE = "Janet sells 9 eggs at 2 dollars each, so she makes 18 dollars. The answer is 18."
RESPONSES = [
    "sie verkauft 9 eier für je 2 dollar also 18 dollar . die antwort lautet 18",
    "sie verkauft 9 eier für je 2 dollar also 20 dollar . die antwort lautet 20",
    "she sells 9 eggs so 18 . the answer is 18",
    "die antwort lautet 18",
]
GROUND_TRUTHS: list[Any] = [
    "18",
    18,
    json.dumps({"reference": REFERENCE, "pivot_answer": "18"}),
    {"lang": "de"},  # no gold answer: the service leaves the reward null
]


def adapter_path() -> str:
    """The installed adapter file, as `python -m pivot_reward_client path verl` prints it."""
    out = subprocess.run(
        [sys.executable, "-m", "pivot_reward_client", "path", "verl"],
        check=True,
        capture_output=True,
        text=True,
    )
    path = out.stdout.strip()
    assert path.endswith("pivot_reward_client/verl.py") and Path(path).is_file()
    return path


def verl_config(tokenizer_dir: Path, overrides: list[str]) -> Any:
    import verl
    from hydra import compose, initialize_config_dir
    from verl.experimental.reward_loop.reward_loop import migrate_legacy_reward_impl

    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose(
            "ppo_trainer",
            # the tokenizer verl loads: the tiny local one, whatever the overrides say
            overrides=[*overrides, f"actor_rollout_ref.model.path={tokenizer_dir}"],
        )
    return migrate_legacy_reward_impl(config)


def batch(tokenizer: Any) -> Any:
    """A DataProto as verl's rollout hands it to the reward loop (right-padded responses)."""
    import numpy as np
    import torch
    from verl import DataProto

    prompt_ids = tokenizer("wie viele dollar verdient janet ?", add_special_tokens=False)[
        "input_ids"
    ]
    encoded = [tokenizer(r, add_special_tokens=False)["input_ids"] for r in RESPONSES]
    width = max(len(e) for e in encoded) + 2
    pad = tokenizer.pad_token_id
    responses = torch.tensor([e + [pad] * (width - len(e)) for e in encoded])
    prompts = torch.tensor([prompt_ids] * len(RESPONSES))
    mask = torch.cat(
        [
            torch.ones_like(prompts),
            torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in encoded]),
        ],
        dim=1,
    )

    def objects(values: list[Any]) -> Any:
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array

    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask},
        non_tensors={
            "data_source": objects(["mgsm_de"] * len(RESPONSES)),
            "reward_model": objects([{"ground_truth": g} for g in GROUND_TRUTHS]),
            "extra_info": objects([{"lang": "de", "index": i} for i in range(len(RESPONSES))]),
        },
    )


def run_reward_loop(config: Any, tokenizer: Any) -> list[dict[str, Any]]:
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    async def main() -> list[dict[str, Any]]:
        worker = RewardLoopWorker(config)  # inside the loop, as in verl's async Ray actor
        outputs: list[dict[str, Any]] = await worker.compute_score_batch(batch(tokenizer))
        return outputs

    return asyncio.run(main())


def expected(server: str, preset: str) -> list[dict[str, Any]]:
    items = []
    for response, truth in zip(RESPONSES, GROUND_TRUTHS, strict=True):
        item: dict[str, Any] = {"response": response, "lang": "de"}
        if truth in ("18", 18):
            item["pivot_answer"] = "18"
        elif isinstance(truth, str):
            item.update(reference=REFERENCE, pivot_answer="18")
        items.append(item)
    answer = post_json(server, "/v1/rewards", {"preset": preset, "items": items})
    results: list[dict[str, Any]] = answer["results"]  # type: ignore[assignment]
    return results


def test_versions() -> None:
    assert installed_version("verl") == "0.9.1"


@pytest.mark.parametrize(
    ("how", "name"),
    [("file path", "compute_score"), ("pkg://", "compute_score_async")],
)
def test_verl_loader_loads_the_adapter(how: str, name: str) -> None:
    from verl.utils.import_utils import load_extern_object

    path = adapter_path() if how == "file path" else "pkg://pivot_reward_client.verl"
    # verl >= 0.7 executes a file without registering it in sys.modules; that must not crash.
    function = load_extern_object(module_path=path, object_name=name)
    assert callable(function) and function.__name__ == name


@pytest.mark.parametrize(
    ("path_kind", "name", "configure"),
    [
        ("file path", "compute_score", "reward_kwargs"),
        ("pkg://", "compute_score_async", "environment"),
    ],
)
def test_reward_loop_scores_through_the_service(
    server: str,
    tmp_path: Path,
    clean_env: Any,
    path_kind: str,
    name: str,
    configure: str,
) -> None:
    tokenizer_dir = save_tiny_tokenizer(tmp_path / "tokenizer")
    path = adapter_path() if path_kind == "file path" else "pkg://pivot_reward_client.verl"
    overrides = [
        f"reward.custom_reward_function.path={path}",
        f"reward.custom_reward_function.name={name}",
    ]
    if configure == "reward_kwargs":
        overrides += [
            f"+reward.custom_reward_function.reward_kwargs.url={server}",
            "+reward.custom_reward_function.reward_kwargs.preset=pasmr",
            "+reward.custom_reward_function.reward_kwargs.max_in_flight=4",
        ]
        clean_env(PIVOT_REWARD_URL="http://127.0.0.1:9")  # reward_kwargs win over the environment
    else:
        clean_env(PIVOT_REWARD_URL=server, PIVOT_REWARD_PRESET="pasmr")
    outputs = run_reward_loop(verl_config(tokenizer_dir, overrides), tiny_tokenizer())

    want = expected(server, "pasmr")
    assert [o["reward_score"] for o in outputs] == [r["reward"] or 0.0 for r in want]
    infos = [o["reward_extra_info"] for o in outputs]
    assert len({tuple(sorted(i)) for i in infos}) == 1  # same keys for every sample, as verl needs
    assert [i["excluded"] for i in infos] == [r["reward"] is None for r in want]
    assert infos[3]["excluded"] is True and infos[3]["reason"]
    assert math.isnan(infos[3]["answer"])
    assert [i["answer_status"] for i in infos] == [r["answer_status"] for r in want]
    assert infos[0]["score"] == 1.0 and infos[2]["gate"] == "wrong_language"
