"""verl adapter: `compute_score` functions that score rollouts with pivot-reward over HTTP.

Point verl's custom reward function at this file::

    custom_reward_function.path=/path/to/service/integrations/verl.py
    custom_reward_function.name=compute_score            # per sample (naive reward manager)
    # or name=compute_score_batch with reward_model.reward_manager=batch (one call per batch)
    # or name=compute_score_async / compute_score_batch_async for verl's async reward loop

and configure it through the environment of the reward workers:

- `PIVOT_REWARD_URL` (required): base URL(s) of the service, comma-separated for several.
- `PIVOT_API_KEY`: bearer key, if the service requires one.
- `PIVOT_REWARD_PRESET`: `pb-rlsvr-embedding`, `pb-rlsvr-translation`, `pasmr` or `hybrid`;
  unset = the server's default.
- `PIVOT_REWARD_LANG`: default target language when a sample carries none.

A client is created lazily on first use (one per process for the sync functions, re-created after a
fork; one per event loop for the async ones) and re-created when these variables change.

**`ground_truth`** (verl's `reward_model.ground_truth` of each row) is either

- a plain string: the gold or pivot final answer, e.g. `"18"`, sent as `pivot_answer` (a string
  over 200 characters or spanning several lines is taken for a whole English solution and sent as
  `pivot_response`, whose final answer the server extracts); or
- a JSON object (as a string starting with `{`, or a dict) with any of the keys `reference` (English
  reference response), `pivot_answer`, `pivot_response` (English pivot response), `lang` and
  `prompt`. Example: `{"reference": "She sells 9 eggs ... The answer is 18.", "pivot_answer": "18",
  "lang": "de"}`.

**`extra_info`** (a dict, optional) may carry the same keys, notably `lang`; `question` is accepted as
`prompt`. Values in `ground_truth` win over those in `extra_info`; the language falls back to
`PIVOT_REWARD_LANG`, and a sample with no language at all raises `ValueError`.

**Returned dict** (verl accepts a dict holding `"score"` and logs the other keys as
`reward_extra_info`):

- `score`: the reward as a float. **A reward the service leaves null (the sample should be
  excluded, e.g. there is no pivot answer to compare with) becomes `0.0`, with `excluded: True`**,
  because verl needs a number for every sample. Filter on `excluded` if 0.0 is not what you want.
- `excluded`: bool, as above.

An empty `solution_str` is sent as a single space (the server requires a non-empty response), which
the server scores as empty (`gate: "empty"`).
- one float per reward component the service reports (`NaN` when the component does not apply);
  a component whose name clashes with a key here is prefixed with `component_`.
- `answer_status`, `detected_lang`, `gate`: strings (`""` when absent); verl's metrics skip strings.

The batch functions give every dict the same keys (the union of the batch's components), as verl
requires for `reward_extra_info`.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.client import AsyncPivotRewardClient, PivotRewardClient
from service.integrations import URL_ENV, LoopLocalClients, sendable_response

__all__ = [
    "build_item",
    "close",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "compute_score_batch_async",
    "parse_ground_truth",
]

API_KEY_ENV = "PIVOT_API_KEY"
PRESET_ENV = "PIVOT_REWARD_PRESET"
LANG_ENV = "PIVOT_REWARD_LANG"

MAX_ANSWER_CHARS = 200  # the server's limit on `pivot_answer`
_FIELDS = ("reference", "pivot_answer", "pivot_response", "lang", "prompt")
_RESERVED = ("score", "excluded", "answer_status", "detected_lang", "gate")


@dataclass(frozen=True)
class _Config:
    urls: str
    api_key: str | None
    preset: str | None
    lang: str | None


def _config() -> _Config:
    urls = os.environ.get(URL_ENV, "").strip()
    if not urls:
        raise ValueError(
            f"set {URL_ENV} to the pivot-reward base URL(s), e.g. http://127.0.0.1:8000"
        )
    return _Config(
        urls=urls,
        api_key=os.environ.get(API_KEY_ENV) or None,
        preset=os.environ.get(PRESET_ENV, "").strip() or None,
        lang=os.environ.get(LANG_ENV, "").strip() or None,
    )


_lock = threading.Lock()
_sync_client: tuple[tuple[int, str, str | None], PivotRewardClient] | None = None
_async_clients: dict[tuple[str, str | None], LoopLocalClients] = {}


def _client(config: _Config) -> PivotRewardClient:
    global _sync_client
    key = (os.getpid(), config.urls, config.api_key)
    with _lock:
        if _sync_client is None or _sync_client[0] != key:
            _sync_client = (key, PivotRewardClient(config.urls, api_key=config.api_key))
        return _sync_client[1]


def _async_client(config: _Config) -> AsyncPivotRewardClient:
    key = (config.urls, config.api_key)
    with _lock:
        clients = _async_clients.get(key)
        if clients is None:
            clients = LoopLocalClients(
                lambda: AsyncPivotRewardClient(config.urls, api_key=config.api_key)
            )
            _async_clients[key] = clients
    return clients.get()


def close() -> None:
    """Close this process's sync client (a new one is created on next use)."""
    global _sync_client
    with _lock:
        entry, _sync_client = _sync_client, None
    if entry is not None and entry[0][0] == os.getpid():
        entry[1].close()


# ---- inputs ----


def _plain(value: Any) -> Any:
    """numpy scalars/arrays and similar to plain Python values."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) and not isinstance(value, str | bytes) else value


def _text(value: Any) -> str | None:
    value = _plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def parse_ground_truth(ground_truth: Any) -> dict[str, str]:
    """The fields carried by a ground truth (see the module docstring)."""
    ground_truth = _plain(ground_truth)
    if ground_truth is None:
        return {}
    if isinstance(ground_truth, str):
        stripped = ground_truth.strip()
        if stripped.startswith("{"):
            try:
                decoded = json.loads(stripped)
            except json.JSONDecodeError:
                decoded = None
            if isinstance(decoded, dict):
                return parse_ground_truth(decoded)
        if not stripped:
            return {}
        # A final answer is short and on one line; anything else is a whole solution.
        if len(stripped) > MAX_ANSWER_CHARS or "\n" in stripped:
            return {"pivot_response": stripped}
        return {"pivot_answer": stripped}
    if isinstance(ground_truth, Mapping):
        fields: dict[str, str] = {}
        for key in _FIELDS:
            text = _text(ground_truth.get(key))
            if text is not None:
                fields[key] = text
        return fields
    text = _text(ground_truth)  # a bare number
    return {"pivot_answer": text} if text is not None else {}


def build_item(
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    default_lang: str | None = None,
) -> dict[str, Any]:
    """The `/v1/rewards` item for one verl sample."""
    fields: dict[str, str] = {}
    if extra_info:
        extra = dict(extra_info)
        if "prompt" not in extra and "question" in extra:
            extra["prompt"] = extra["question"]
        fields.update(parse_ground_truth({k: extra.get(k) for k in _FIELDS}))
    fields.update(parse_ground_truth(ground_truth))
    lang = fields.pop("lang", None) or default_lang
    if not lang:
        raise ValueError(
            "no target language for this sample: put 'lang' in ground_truth (JSON) or extra_info, "
            f"or set {LANG_ENV}"
        )
    return {"response": sendable_response(solution_str or ""), "lang": lang, **fields}


# ---- outputs ----


def _component_key(name: str) -> str:
    return f"component_{name}" if name in _RESERVED else name


def _to_dict(result: Mapping[str, Any], component_names: Sequence[str]) -> dict[str, Any]:
    reward = result.get("reward")
    components = result.get("components") or {}
    out: dict[str, Any] = {
        "score": 0.0 if reward is None else float(reward),
        "excluded": reward is None,
    }
    for name in component_names:
        value = components.get(name)
        out[_component_key(name)] = math.nan if value is None else float(value)
    for key in ("answer_status", "detected_lang", "gate"):
        value = result.get(key)
        out[key] = "" if value is None else str(value)
    return out


def _to_dicts(results: Sequence[Mapping[str, Any]], expected: int) -> list[dict[str, Any]]:
    if len(results) != expected:
        raise RuntimeError(f"pivot-reward returned {len(results)} results for {expected} samples")
    names: list[str] = []
    for result in results:
        for name in result.get("components") or {}:
            if name not in names:
                names.append(name)
    return [_to_dict(result, names) for result in results]


def _batch_items(
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None,
    default_lang: str | None,
) -> list[dict[str, Any]]:
    n = len(solution_strs)
    if len(ground_truths) != n or (extra_infos is not None and len(extra_infos) != n):
        raise ValueError("solution_strs, ground_truths and extra_infos must have the same length")
    infos: Sequence[Mapping[str, Any] | None] = (
        extra_infos if extra_infos is not None else [None] * n
    )
    return [
        build_item(s, g, e, default_lang=default_lang)
        for s, g, e in zip(solution_strs, ground_truths, infos, strict=True)
    ]


# ---- verl entry points ----


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score one rollout (verl's per-sample signature). `data_source` is not used for scoring."""
    config = _config()
    item = build_item(solution_str, ground_truth, extra_info, default_lang=config.lang)
    response = _client(config).rewards([item], preset=config.preset)
    return _to_dicts(response.get("results") or [], 1)[0]


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Score a batch in one request (verl's `batch` reward manager signature)."""
    config = _config()
    if not solution_strs:
        return []
    items = _batch_items(solution_strs, ground_truths, extra_infos, config.lang)
    response = _client(config).rewards(items, preset=config.preset)
    return _to_dicts(response.get("results") or [], len(items))


async def compute_score_async(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Async `compute_score`, for verl reward managers that await coroutine score functions."""
    config = _config()
    item = build_item(solution_str, ground_truth, extra_info, default_lang=config.lang)
    response = await _async_client(config).rewards([item], preset=config.preset)
    return _to_dicts(response.get("results") or [], 1)[0]


async def compute_score_batch_async(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Async `compute_score_batch`."""
    config = _config()
    if not solution_strs:
        return []
    items = _batch_items(solution_strs, ground_truths, extra_infos, config.lang)
    response = await _async_client(config).rewards(items, preset=config.preset)
    return _to_dicts(response.get("results") or [], len(items))
