"""Every file in examples/ is checked with the trainer's own code against a live server.

- trl_grpo.py runs as a script (`--tiny`: 2 GRPO steps on CPU with a tiny local policy).
- verl_grpo.sh prints its overrides; verl's own config is composed with them and its reward loop
  scores a batch (as in test_verl.py).
- openrlhf_remote_rm.sh prints its arguments; OpenRLHF's own argument parser (the block of
  `openrlhf/cli/train_ppo_ray.py` that builds it, run as is: the module itself imports vLLM and
  DeepSpeed) parses them, and its rollout executor scores a sample with the resulting URL.
- slime_custom_rm.sh prints its reward arguments; slime's way of loading `--custom-rm-path`
  scores a group.
"""

import argparse
import ast
import asyncio
import json
import os
import subprocess
import sys
import textwrap
from argparse import Namespace
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.trainers.helpers import REPO_ROOT, post_json
from tests.trainers.test_openrlhf import LABELS, PROMPT, RIGHT, direct, rollout
from tests.trainers.test_slime import RESPONSES, SlimeSample, load_function
from tests.trainers.test_slime import direct as slime_direct
from tests.trainers.test_verl import expected, run_reward_loop, verl_config
from tests.trainers.tiny_policy import save_tiny_tokenizer, tiny_tokenizer

EXAMPLES = REPO_ROOT / "examples"


def printed(script: str, **env: str) -> list[str]:
    """The arguments an example script prints with PRINT_ONLY=1."""
    out = subprocess.run(
        ["bash", str(EXAMPLES / script)],
        # `python` in the scripts is the trainer environment's: this venv's
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            **env,
            "PRINT_ONLY": "1",
        },
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.splitlines()


def test_trl_script_runs_two_steps(server: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "trl_grpo.py"), "--tiny", "--url", server],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    prefix = "pivot-reward log: "
    logged = [
        json.loads(line.removeprefix(prefix))
        for line in out.stdout.splitlines()
        if line.startswith(prefix)
    ]
    assert [entry["step"] for entry in logged] == [1, 2]
    for entry in logged:
        assert 0.0 <= entry["rewards/pivot_hybrid/mean"] <= 1.0
        assert {"pivot_hybrid/excluded", "pivot_hybrid/semantic", "pivot_hybrid/answer"} <= set(
            entry
        )


def test_verl_overrides_drive_verls_reward_loop(
    server: str, tmp_path: Path, clean_env: Any
) -> None:
    overrides = printed("verl_grpo.sh", PIVOT_URL=server, PIVOT_PRESET="pasmr")
    assert "reward.custom_reward_function.path=pkg://pivot_reward_client.verl" in overrides
    tokenizer_dir = save_tiny_tokenizer(tmp_path / "tokenizer")
    config = verl_config(tokenizer_dir, overrides)  # the model path is replaced by the tiny one
    outputs = run_reward_loop(config, tiny_tokenizer())
    assert [o["reward_score"] for o in outputs] == [
        r["reward"] or 0.0 for r in expected(server, "pasmr")
    ]


def openrlhf_parser() -> argparse.ArgumentParser:
    """OpenRLHF's own parser, built by the code of its CLI's `__main__` block."""
    import openrlhf

    source = (Path(openrlhf.__file__).parent / "cli" / "train_ppo_ray.py").read_text()
    main = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
    )
    lines = source.splitlines()
    start = main.body[0].lineno - 1
    end = next(n.lineno for n in main.body if "parse_args" in ast.unparse(n)) - 1
    # the names the CLI module imports at its top, which the block uses
    namespace: dict[str, Any] = {"argparse": argparse, "os": os, "datetime": datetime}
    exec(textwrap.dedent("\n".join(lines[start:end])), namespace)
    parser: argparse.ArgumentParser = namespace["parser"]
    return parser


def test_openrlhf_command_line(server: str, keyed_server: str, clean_env: Any) -> None:
    parser = openrlhf_parser()
    # Key in the URL (Basic auth) for a protected service.
    argv = printed(
        "openrlhf_remote_rm.sh", PIVOT_URLS=keyed_server + "/get_reward", PIVOT_KEY="trainer-key"
    )
    args = vars(parser.parse_args(argv))
    assert args["data.label_key"] == "label"
    urls = args["reward.remote_url"].split(",")  # as train_ppo_ray does
    assert urls == [keyed_server.replace("://", "://trainer-key:@") + "/get_reward"]
    assert rollout(urls, LABELS["text"])["reward"] == direct(server, LABELS["text"])["rewards"]
    # Two replicas, and the client's reward file instead of the HTTP route.
    argv = printed("openrlhf_remote_rm.sh", REWARD_FILE="1")
    path = vars(parser.parse_args(argv))["reward.remote_url"]
    assert path.endswith("pivot_reward_client/openrlhf.py")
    clean_env(PIVOT_REWARD_URL=f"{keyed_server},{keyed_server}", PIVOT_API_KEY="trainer-key")
    assert (
        rollout([path], LABELS["object"], RIGHT)["reward"]
        == direct(server, LABELS["object"])["rewards"]
    )


def test_slime_reward_arguments(server: str) -> None:
    argv = printed("slime_custom_rm.sh", PIVOT_URL=server)
    parser = argparse.ArgumentParser()
    parser.add_argument("--custom-rm-path")
    parser.add_argument("--group-rm", action="store_true")
    parser.add_argument("--rm-url")
    parser.add_argument("--label-key")
    args = parser.parse_args(argv)
    assert args.group_rm
    reward_func = load_function(args.custom_rm_path)
    samples = [SlimeSample(PROMPT, r, LABELS["text"]) for r in RESPONSES]
    rewards = asyncio.run(reward_func(Namespace(rm_url=args.rm_url), samples))
    assert rewards == slime_direct(server, samples)
    # OpenRLHF <= 0.11.0 sends `{"query": []}` to the extra URLs: empty answers, not errors.
    empty = post_json(server, "/get_reward", {"query": []})
    assert empty["rewards"] == empty["scores"] == []
