"""OpenRLHF adapter: a reward file for `--reward.remote_url /path/to/this/openrlhf.py`.

The alternative to pointing OpenRLHF at `http://HOST:8000/get_reward`: OpenRLHF (tested: 0.11.2)
loads this file (`importlib`, no `sys.modules` entry) and calls `reward_func(queries, prompts,
labels)` in a worker thread for each sample. It forwards the sample to the service's `/get_reward`
through the client, so it gains what OpenRLHF's own HTTP path lacks: several replicas with failover
(comma-separated `PIVOT_REWARD_URL`), the bearer key (`PIVOT_API_KEY`), retries honouring
`Retry-After`, a bound on requests in flight, and counts of excluded samples.

Find the path with `python -m pivot_reward_client path openrlhf`. Settings come from the
environment of OpenRLHF's rollout workers (`PIVOT_REWARD_URL`, `PIVOT_API_KEY`,
`PIVOT_REWARD_TIMEOUT`, ...; see `pivot_reward_client.config`); the recipe is the server's
`PIVOT_REWARD_PRESET`. Labels are what the dataset's label column holds (text, number or object;
see the README's OpenRLHF section).

Returns `{"rewards": [...], "scores": [...], "extra_logs": {...}}` as the service answers it: a
sample the service cannot score gets 0.0 with `extra_logs["excluded"] = 1.0`.
"""

import os
import threading
from collections.abc import Sequence
from typing import Any

from pivot_reward_client import stats
from pivot_reward_client.config import AdapterConfig, resolve
from pivot_reward_client.sync_client import PivotRewardClient

__all__ = ["reward_func"]

_lock = threading.Lock()
_clients: dict[tuple[int, AdapterConfig], PivotRewardClient] = {}


def _client(config: AdapterConfig) -> PivotRewardClient:
    key = (os.getpid(), config)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = PivotRewardClient(config.urls, **config.options())
            _clients[key] = client
        return client


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """OpenRLHF's custom reward function: `queries` are prompt + response."""
    if not queries:
        return {"rewards": [], "scores": [], "extra_logs": {}}
    config = resolve(kwargs)
    answer = _client(config).get_reward(list(queries), prompts, labels)
    logs = answer.get("extra_logs") or {}
    stats.record_flags("openrlhf", logs.get("excluded") or [0.0] * len(queries))
    return {
        "rewards": answer.get("rewards", []),
        "scores": answer.get("scores", answer.get("rewards", [])),
        "extra_logs": logs,
    }
