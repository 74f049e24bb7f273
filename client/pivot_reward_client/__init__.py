"""pivot-reward client: sync and async clients, and adapters for RL trainers.

    from pivot_reward_client import PivotRewardClient

    with PivotRewardClient("http://rm-0:8000,http://rm-1:8000") as client:
        out = client.rewards([{"response": "Die Antwort lautet 18.", "lang": "de",
                               "pivot_answer": "18"}], preset="pasmr")

Adapters (each imports nothing of its trainer): `pivot_reward_client.trl`, `.verl`, `.openrlhf`,
`.slime`. Depends on httpx only.
"""

from pivot_reward_client.async_client import AsyncPivotRewardClient
from pivot_reward_client.errors import PivotRewardError
from pivot_reward_client.policy import RetryPolicy, parse_base_urls
from pivot_reward_client.sync_client import PivotRewardClient
from pivot_reward_client.version import __version__

__all__ = [
    "AsyncPivotRewardClient",
    "PivotRewardClient",
    "PivotRewardError",
    "RetryPolicy",
    "__version__",
    "parse_base_urls",
]
