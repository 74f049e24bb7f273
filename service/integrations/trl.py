"""TRL adapter: an async reward function for `trl.GRPOTrainer`, scored by pivot-reward over HTTP.

Usage::

    from trl import GRPOConfig, GRPOTrainer
    from service.integrations.trl import make_reward_func

    reward_func = make_reward_func("http://127.0.0.1:8000", preset="hybrid")
    trainer = GRPOTrainer(model=..., reward_funcs=[reward_func], train_dataset=dataset, args=...)

How TRL calls it: `reward_func(prompts=..., completions=..., **kwargs)`, where every dataset column
except `prompt` arrives in `kwargs` as a list aligned with `completions` (plus TRL's own
`completion_ids`, `trainer_state`, `log_metric`, `log_extra`, ...). Because the function is
`async def`, TRL awaits it concurrently with other async reward functions.

Dataset columns read (names configurable; a missing column is simply not sent):

- `lang` (required, or pass `lang="de"` for a single-language dataset): the language the response
  must be in, ISO 639-1 (`de`) or FLORES-200 (`deu_Latn`).
- `reference`: the English reference response (semantic presets).
- `pivot_answer`: the gold or pivot final answer, e.g. `"18"` (numbers are sent as text).
- `pivot_response` (off by default; set `pivot_response_column`): a full English pivot response
  whose final answer the server extracts.

Each completion becomes one item of `POST /v1/rewards`: `{"response", "lang", "reference"?,
"pivot_answer"?, "pivot_response"?, "prompt"?}`. Conversational completions (lists of
`{"role", "content"}` messages) are reduced to the last assistant message's content; conversational
prompts to the last user message's content. The whole batch is one call (split by the client only
when it is larger than the server's limit).

Returns one reward per completion: a float, or None when the server excludes the sample (e.g. no
pivot answer to compare with); TRL ignores None for that sample. An empty completion is sent as a single
space (the server requires a non-empty response), which the server scores as empty (gate `empty`). The function's `__name__` is
`pivot_<preset>` (e.g. `pivot_hybrid`), so TRL logs `rewards/pivot_hybrid/mean`. When TRL passes
`log_metric`, the batch mean of each reward component is logged as `<name>/<component>` together
with `<name>/excluded` (fraction of None rewards); with `log_extra`, the per-completion
`answer_status`, `detected_lang` and `gate` are added to the completions table.

Errors: a failure the client cannot retry away raises `service.client.PivotRewardError`, which stops
training; a reward service that is down should not silently produce zero rewards.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from service.client import AsyncPivotRewardClient
from service.integrations import (
    LoopLocalClients,
    completion_text,
    prompt_text,
    resolve_base_urls,
    sendable_response,
)

__all__ = ["RewardFunc", "build_items", "make_reward_func"]

log = logging.getLogger(__name__)

RewardFunc = Callable[..., Coroutine[Any, Any, list[float | None]]]


def _optional_text(value: Any) -> str | None:
    """Column value as text; None, NaN and blank strings mean 'not given'."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, Mapping | list | tuple):
        text = completion_text(value)
        return text if text.strip() else None
    return str(value)


def _column(kwargs: Mapping[str, Any], name: str | None, size: int) -> Sequence[Any] | None:
    if not name or name not in kwargs:
        return None
    values = kwargs[name]
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) != size:
        raise ValueError(
            f"dataset column {name!r} must be a list with one value per completion ({size}), "
            f"got {type(values).__name__}"
        )
    return values


def build_items(
    prompts: Sequence[Any] | None,
    completions: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    lang: str | None = None,
    lang_column: str | None = "lang",
    reference_column: str | None = "reference",
    pivot_answer_column: str | None = "pivot_answer",
    pivot_response_column: str | None = None,
    include_prompt: bool = True,
) -> list[dict[str, Any]]:
    """`/v1/rewards` items for a TRL batch (see the module docstring for the mapping)."""
    size = len(completions)
    langs = None if lang else _column(kwargs, lang_column, size)
    if not lang and langs is None:
        available = sorted(k for k, v in kwargs.items() if isinstance(v, list))
        raise ValueError(
            f"no language: the dataset has no {lang_column!r} column (columns: {available}); "
            "pass lang='xx' or lang_column='...'"
        )
    references = _column(kwargs, reference_column, size)
    pivot_answers = _column(kwargs, pivot_answer_column, size)
    pivot_responses = _column(kwargs, pivot_response_column, size)
    if prompts is not None and len(prompts) != size:
        raise ValueError(f"{len(prompts)} prompts for {size} completions")

    items: list[dict[str, Any]] = []
    for i, completion in enumerate(completions):
        item_lang = lang or (_optional_text(langs[i]) if langs is not None else None)
        if not item_lang:
            raise ValueError(f"completion {i}: no language in column {lang_column!r}")
        item: dict[str, Any] = {
            "response": sendable_response(completion_text(completion)),
            "lang": item_lang,
        }
        for key, column in (
            ("reference", references),
            ("pivot_answer", pivot_answers),
            ("pivot_response", pivot_responses),
        ):
            if column is not None and (value := _optional_text(column[i])) is not None:
                item[key] = value
        if include_prompt and prompts is not None:
            question = prompt_text(prompts[i])
            if question.strip():
                item["prompt"] = question
        items.append(item)
    return items


def _reward(value: Any) -> float | None:
    return None if value is None else float(value)


def _log_batch(name: str, results: Sequence[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> None:
    """Component means through TRL's `log_metric`, per-sample details through `log_extra`."""
    log_metric = kwargs.get("log_metric")
    log_extra = kwargs.get("log_extra")
    try:
        if callable(log_metric) and results:
            excluded = sum(1 for r in results if r.get("reward") is None)
            log_metric(f"{name}/excluded", excluded / len(results))
            values: dict[str, list[float]] = {}
            for result in results:
                for component, value in (result.get("components") or {}).items():
                    if value is not None:
                        values.setdefault(component, []).append(float(value))
            for component, vals in values.items():
                log_metric(f"{name}/{component}", sum(vals) / len(vals))
        if callable(log_extra) and results:
            for key in ("answer_status", "detected_lang", "gate"):
                log_extra(f"{name}/{key}", [r.get(key) for r in results])
    except Exception as exc:  # logging must never stop training
        log.warning("could not log pivot-reward components: %s", exc)


def make_reward_func(
    base_urls: str | Sequence[str] | None = None,
    *,
    preset: str | None = "hybrid",
    lang: str | None = None,
    lang_column: str | None = "lang",
    reference_column: str | None = "reference",
    pivot_answer_column: str | None = "pivot_answer",
    pivot_response_column: str | None = None,
    include_prompt: bool = True,
    name: str | None = None,
    log_components: bool = True,
    api_key: str | None = None,
    **client_kwargs: Any,
) -> RewardFunc:
    """An async TRL reward function backed by `POST /v1/rewards`.

    Args:
        base_urls: Service URL(s): a string (comma-separated for several) or a sequence; default:
            the `PIVOT_REWARD_URL` environment variable.
        preset: `pb-rlsvr-embedding`, `pb-rlsvr-translation`, `pasmr`, `hybrid` (default), or None
            for the server's default.
        lang: One language for every sample, instead of a column.
        lang_column: Column with each sample's target language (ignored when `lang` is given).
        reference_column: Column with the English reference response (None: never send one).
        pivot_answer_column: Column with the gold / pivot final answer (None: never send one).
        pivot_response_column: Column with an English pivot response (default: not used).
        include_prompt: Send the prompt text (last user message) as `prompt`.
        name: The function's `__name__` (TRL's log key); default `pivot_<preset>`.
        log_components: Log component means / per-sample details when TRL offers `log_metric` /
            `log_extra`.
        api_key: Bearer key; default: the `PIVOT_API_KEY` environment variable.
        **client_kwargs: Passed to `AsyncPivotRewardClient` (timeout, max_retries, ...).

    Returns:
        `async reward_func(prompts, completions, **kwargs) -> list[float | None]`.
    """
    urls = resolve_base_urls(base_urls)
    clients = LoopLocalClients(
        lambda: AsyncPivotRewardClient(urls, api_key=api_key, **client_kwargs)
    )
    func_name = name or (
        "pivot_" + "".join(c if c.isalnum() else "_" for c in preset) if preset else "pivot_reward"
    )

    async def reward_func(
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if completions is None:
            raise TypeError("reward_func needs completions")
        if not completions:
            return []
        items = build_items(
            prompts,
            completions,
            kwargs,
            lang=lang,
            lang_column=lang_column,
            reference_column=reference_column,
            pivot_answer_column=pivot_answer_column,
            pivot_response_column=pivot_response_column,
            include_prompt=include_prompt,
        )
        response = await clients.get().rewards(items, preset=preset)
        results = response.get("results") or []
        if len(results) != len(items):
            raise RuntimeError(
                f"pivot-reward returned {len(results)} results for {len(items)} completions"
            )
        if log_components:
            _log_batch(func_name, results, kwargs)
        return [_reward(r.get("reward")) for r in results]

    reward_func.__name__ = func_name
    reward_func.__qualname__ = func_name
    reward_func.__doc__ = f"pivot-reward ({preset or 'server default'} preset) via {urls}"
    return reward_func
