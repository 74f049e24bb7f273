"""TRL adapter: reward functions for `trl.GRPOTrainer` (and `AsyncGRPOTrainer`), scored over HTTP.

Usage::

    from trl import GRPOConfig, GRPOTrainer
    from pivot_reward_client.trl import make_reward_func

    reward_func = make_reward_func("http://127.0.0.1:8000", preset="hybrid")
    trainer = GRPOTrainer(model=..., reward_funcs=[reward_func], train_dataset=dataset, args=...)

Versions: the default (async) function needs a TRL that awaits async reward functions: 0.27 and
later (tested: 1.16.0, `GRPOTrainer` and `AsyncGRPOTrainer`); `make_reward_func(..., sync=True)`
gives a plain function for older TRL (GRPOTrainer >= 0.14). None rewards need TRL >= 0.17;
`log_metric` / `log_extra` logging happens where TRL passes them (1.x). Both are picklable (`AsyncGRPOTrainer` pickles its reward
functions into a spawned process): they hold only their settings and open clients lazily.

How TRL calls it: `reward_func(prompts=..., completions=..., **kwargs)`, where every dataset column
except `prompt` arrives in `kwargs` as a list aligned with `completions` (plus TRL's own
`completion_ids`, `trainer_state`, `log_metric`, `log_extra`, ...).

Dataset columns read (names configurable; a missing column is simply not sent):

- `lang` (or `lang="de"` for a single-language dataset): the language the response must be in.
  Without it the service detects the language (from the response, else its `PIVOT_DEFAULT_LANG`),
  so the fidelity gate cannot catch a wrong-language answer: give it.
- `reference`: the English reference response (semantic presets).
- `pivot_answer`: the gold or pivot final answer, e.g. `"18"` (numbers are sent as text).
- `pivot_response` (off by default; set `pivot_response_column`): a full English pivot response
  whose final answer the server extracts.

Each completion becomes one item of `POST /v1/rewards`; conversational completions are reduced to
the last assistant message's content, conversational prompts to the last user message's. The whole
batch is one call (split by the client only when larger than the server's limit).

Returns one reward per completion: a float, or None when the service leaves the reward null (the
item cannot be scored: no pivot answer, ...). TRL (>= 0.17) drops None from the loss and its
statistics; set `null_reward=0.0` for a TRL that cannot. The function's `__name__` is
`pivot_<preset>` (e.g. `pivot_hybrid`), so TRL logs `rewards/pivot_hybrid/mean`. With TRL's
`log_metric`, every call logs the same keys: `<name>/excluded` and `<name>/truncated` (fractions of
the batch) and `<name>/<component>` for each component of the preset (batch mean; NaN when no item
had it). With `log_extra`, per-completion `reason`, `answer_status`, `detected_lang` and `gate`.

Errors: a failure the client cannot retry away raises `PivotRewardError`, which stops training;
a reward service that is down must not silently produce zero rewards.
"""

import logging
import math
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from pivot_reward_client import stats
from pivot_reward_client.async_client import AsyncPivotRewardClient
from pivot_reward_client.config import join_urls, resolve
from pivot_reward_client.labels import text
from pivot_reward_client.loops import LoopLocalClients
from pivot_reward_client.results import (
    DETAIL_KEYS,
    checked,
    component_names,
    reward_of,
    truncated,
)
from pivot_reward_client.sync_client import PivotRewardClient
from pivot_reward_client.texts import completion_text, prompt_text

__all__ = ["AsyncRewardFunc", "SyncRewardFunc", "build_items", "make_reward_func"]

log = logging.getLogger(__name__)

_TRANSIENT = ("_clients", "_lock", "_client")  # per-process state, rebuilt after unpickling


def _optional_text(value: Any) -> str | None:
    """Column value as text; None, NaN and blank strings mean 'not given'."""
    if isinstance(value, Mapping | list | tuple):
        value = completion_text(value)
    return text(value)


def _column(kwargs: Mapping[str, Any], name: str | None, size: int) -> Sequence[Any] | None:
    if not name or name not in kwargs or kwargs[name] is None:
        return None
    values = kwargs[name]
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
    columns = {
        "reference": _column(kwargs, reference_column, size),
        "pivot_answer": _column(kwargs, pivot_answer_column, size),
        "pivot_response": _column(kwargs, pivot_response_column, size),
    }
    if prompts is not None and len(prompts) != size:
        raise ValueError(f"{len(prompts)} prompts for {size} completions")
    items: list[dict[str, Any]] = []
    for i, completion in enumerate(completions):
        item: dict[str, Any] = {"response": completion_text(completion)}
        # Without a language the service detects one (a wrong-language answer then goes unseen).
        if item_lang := lang or (_optional_text(langs[i]) if langs is not None else None):
            item["lang"] = item_lang
        for key, column in columns.items():
            if column is not None and (value := _optional_text(column[i])) is not None:
                item[key] = value
        if include_prompt and prompts is not None and (question := prompt_text(prompts[i])).strip():
            item["prompt"] = question
        items.append(item)
    return items


class _RewardFunc:
    """Settings and result handling shared by the async and sync reward functions."""

    def __init__(
        self,
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
        null_reward: float | None = None,
        api_key: str | None = None,
        **client_options: Any,
    ) -> None:
        self.config = resolve(
            {"url": join_urls(base_urls), "api_key": api_key, **client_options}, strict=True
        )
        self.preset = preset
        self.lang = lang
        self.lang_column = lang_column
        self.reference_column = reference_column
        self.pivot_answer_column = pivot_answer_column
        self.pivot_response_column = pivot_response_column
        self.include_prompt = include_prompt
        self.log_components = log_components
        self.null_reward = null_reward
        safe = "".join(c if c.isalnum() else "_" for c in preset) if preset else "reward"
        # TRL names the reward (and its log keys) after `__name__`.
        self.__name__ = name or f"pivot_{safe}"
        self.__qualname__ = self.__name__
        self._init_clients()

    def _init_clients(self) -> None:
        """Create the (unpicklable) client holders; subclasses add theirs."""

    def __getstate__(self) -> dict[str, Any]:
        # Only settings cross a pickle: clients, locks and pools are per process.
        return {k: v for k, v in self.__dict__.items() if k not in _TRANSIENT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_clients()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__name__}, urls={self.config.urls!r})"

    def _items(
        self, prompts: Sequence[Any] | None, completions: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        return build_items(
            prompts,
            completions,
            kwargs,
            lang=self.lang,
            lang_column=self.lang_column,
            reference_column=self.reference_column,
            pivot_answer_column=self.pivot_answer_column,
            pivot_response_column=self.pivot_response_column,
            include_prompt=self.include_prompt,
        )

    def _finish(
        self, response: Mapping[str, Any], size: int, kwargs: Mapping[str, Any]
    ) -> list[float | None]:
        results = checked(response, size)
        stats.record("trl", results)
        if self.log_components:
            self._log(results, kwargs)
        rewards = [reward_of(r) for r in results]
        return [self.null_reward if r is None else r for r in rewards]

    def _log(self, results: Sequence[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> None:
        """The same metric keys on every call (TRL gathers them by key across processes)."""
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        name, n = self.__name__, len(results)
        try:
            if callable(log_metric) and n:
                log_metric(f"{name}/excluded", sum(r.get("reward") is None for r in results) / n)
                log_metric(f"{name}/truncated", sum(truncated(r) for r in results) / n)
                for component in component_names(self.preset, results):
                    values = [
                        float(v)
                        for r in results
                        if (v := (r.get("components") or {}).get(component)) is not None
                    ]
                    log_metric(
                        f"{name}/{component}", sum(values) / len(values) if values else math.nan
                    )
            if callable(log_extra) and n:
                for key in DETAIL_KEYS:
                    log_extra(f"{name}/{key}", [r.get(key) for r in results])
        except Exception as exc:  # logging must never stop training
            log.warning("could not log pivot-reward components: %s", exc)


class AsyncRewardFunc(_RewardFunc):
    """`async reward_func(prompts, completions, **kwargs) -> list[float | None]` (picklable)."""

    def _init_clients(self) -> None:
        config = self.config
        self._clients = LoopLocalClients(
            lambda: AsyncPivotRewardClient(config.urls, **config.options())
        )

    async def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if completions is None:
            raise TypeError("reward_func needs completions")
        if not completions:
            return []
        items = self._items(prompts, completions, kwargs)
        response = await self._clients.get().rewards(items, preset=self.preset)
        return self._finish(response, len(items), kwargs)

    # TRL 1.14+ sees the async `__call__` (`is_async_callable`); TRL 0.27-1.13 only asks
    # `inspect.iscoroutinefunction(reward_func)`, which accepts a "function-like" object (the
    # attributes below, as Cython functions carry them) by its code flags.
    __code__ = __call__.__code__
    __defaults__ = __call__.__defaults__
    __kwdefaults__ = __call__.__kwdefaults__


class SyncRewardFunc(_RewardFunc):
    """`reward_func(prompts, completions, **kwargs) -> list[float | None]` (picklable), for TRL
    releases that call reward functions synchronously."""

    def _init_clients(self) -> None:
        self._lock = threading.Lock()
        self._client: tuple[int, PivotRewardClient] | None = None

    def _get_client(self) -> PivotRewardClient:
        with self._lock:  # one client per process; a forked child makes its own
            if self._client is None or self._client[0] != os.getpid():
                client = PivotRewardClient(self.config.urls, **self.config.options())
                self._client = (os.getpid(), client)
            return self._client[1]

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if completions is None:
            raise TypeError("reward_func needs completions")
        if not completions:
            return []
        items = self._items(prompts, completions, kwargs)
        response = self._get_client().rewards(items, preset=self.preset)
        return self._finish(response, len(items), kwargs)


def make_reward_func(
    base_urls: str | Sequence[str] | None = None,
    *,
    sync: bool = False,
    **options: Any,
) -> AsyncRewardFunc | SyncRewardFunc:
    """A TRL reward function backed by `POST /v1/rewards`.

    Args:
        base_urls: Service URL(s): a string (comma-separated for several) or a sequence; default:
            the `PIVOT_REWARD_URL` environment variable.
        sync: A plain (synchronous) function instead of an async one, for older TRL.
        **options: `preset` (default `hybrid`; None = the server's default), `lang`,
            `lang_column`, `reference_column`, `pivot_answer_column`, `pivot_response_column`,
            `include_prompt`, `name` (TRL's log key; default `pivot_<preset>`), `log_components`,
            `null_reward` (what an excluded item returns; default None), `api_key`, and client
            options (`timeout`, `max_retries`, `deadline`, `max_in_flight`, ...).
    """
    cls = SyncRewardFunc if sync else AsyncRewardFunc
    return cls(base_urls, **options)
