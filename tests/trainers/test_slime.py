"""slime's custom reward hook and request shape against a live server.

slime (THUDM/slime) is not on PyPI, so its code cannot be installed here; these tests follow its
source instead: `slime/rollout/rm_hub/__init__.py` posts `{"prompt": sample.prompt, "response":
sample.response, "label": sample.label}` for `--rm-type remote_rm`, and with `--custom-rm-path
module.function` it imports the function (`slime.utils.misc.load_function`: `rpartition(".")` +
`importlib.import_module`) and awaits `function(args, sample)` for one sample or
`function(args, samples)` for a group (`--group-rm`). `SlimeSample` is a test double with the
fields of slime's `Sample` that reward code reads.
"""

import asyncio
import importlib
from argparse import Namespace
from dataclasses import dataclass, field
from typing import Any

from pivot_reward_client import slime

from tests.trainers.helpers import post_json

REFERENCE = "Janet sells 9 eggs at 2 dollars each, so she makes 18 dollars. The answer is 18."
PROMPT = "Wie viele Dollar verdient Janet jeden Tag?"
RESPONSES = [
    "Sie verkauft 9 Eier für je 2 Dollar, also 18 Dollar. Die Antwort lautet 18.",
    "Sie verkauft 10 Eier für je 2 Dollar, also 20 Dollar. Die Antwort lautet 20.",
    "She sells 9 eggs, so she makes 18 dollars. The answer is 18.",
]


@dataclass
class SlimeSample:
    """The fields of slime's `Sample` (slime.utils.types) that reward functions read."""

    prompt: str | list[dict[str, str]]
    response: str
    label: Any
    index: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    reward: Any = None


def load_function(path: str) -> Any:
    """How slime resolves `--custom-rm-path` (slime.utils.misc.load_function)."""
    module_path, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_path), attr)


def args_for(server: str) -> Namespace:
    return Namespace(
        custom_rm_path="pivot_reward_client.slime.reward_func",
        rm_url=server + "/get_reward",
        rm_type=None,
    )


def direct(server: str, samples: list[SlimeSample]) -> list[float]:
    body = {
        "query": [PROMPT + s.response for s in samples],
        "prompts": [PROMPT] * len(samples),
        "labels": [s.label for s in samples],
    }
    rewards: list[float] = post_json(server, "/get_reward", body)["rewards"]  # type: ignore[assignment]
    return rewards


def test_request_shape_is_slimes() -> None:
    sample = SlimeSample(PROMPT, RESPONSES[0], "18")
    assert slime.payload(sample) == {"prompt": PROMPT, "response": RESPONSES[0], "label": "18"}


def test_one_sample_and_a_group(server: str, clean_env: Any) -> None:
    reward_func = load_function(args_for(server).custom_rm_path)
    assert reward_func is slime.reward_func
    labels: list[Any] = [REFERENCE, {"reference": REFERENCE, "pivot_answer": 18, "lang": "de"}, 18]
    for label in labels:
        samples = [SlimeSample(PROMPT, r, label, index=i) for i, r in enumerate(RESPONSES)]
        want = direct(server, samples)
        one = asyncio.run(reward_func(args_for(server), samples[0]))
        assert isinstance(one, float) and one == want[0]
        group = asyncio.run(reward_func(args_for(server), samples))
        assert group == want
        for sample in samples:
            details = sample.metadata["pivot_reward"]
            assert isinstance(details["excluded"], bool)
            assert set(details) >= {"excluded", "gate_passed", "truncated"}
    # A bare gold answer under the server's hybrid recipe has no reference: 0.0, flagged.
    assert samples[0].metadata["pivot_reward"]["excluded"] is True


def test_chat_prompt_and_env_url(server: str, clean_env: Any) -> None:
    clean_env(PIVOT_REWARD_URL=server)
    chat = [
        {"role": "system", "content": "Antworte auf Deutsch."},
        {"role": "user", "content": PROMPT},
    ]
    sample = SlimeSample(chat, RESPONSES[0], REFERENCE)
    reward = asyncio.run(slime.reward_func(Namespace(rm_url=None), sample))
    assert reward == direct(server, [SlimeSample(PROMPT, RESPONSES[0], REFERENCE)])[0]
    assert reward > 0
