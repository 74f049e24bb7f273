"""Adapter settings: explicit arguments first, then `PIVOT_*` environment variables.

| argument | environment | meaning |
|---|---|---|
| `url` / `base_urls` | `PIVOT_REWARD_URL` | base URL(s) of the service, comma-separated for several |
| `api_key` | `PIVOT_API_KEY` | bearer key, if the service requires one |
| `preset` | `PIVOT_REWARD_PRESET` | `pb-rlsvr-embedding`, `pb-rlsvr-translation`, `pasmr`, `hybrid`; unset = server default |
| `lang` | `PIVOT_REWARD_LANG` | target language when a sample carries none |
| `timeout` | `PIVOT_REWARD_TIMEOUT` | per-attempt read timeout, seconds |
| `max_retries` | `PIVOT_REWARD_MAX_RETRIES` | retries after the first attempt |
| `deadline` | `PIVOT_REWARD_DEADLINE` | seconds one call may take in all, retries included |
| `max_in_flight` | `PIVOT_REWARD_MAX_IN_FLIGHT` | most requests outstanding at once per process (or loop) |
"""

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

URL_ENV = "PIVOT_REWARD_URL"
API_KEY_ENV = "PIVOT_API_KEY"
PRESET_ENV = "PIVOT_REWARD_PRESET"
LANG_ENV = "PIVOT_REWARD_LANG"
_NUMBERS = {
    "timeout": ("PIVOT_REWARD_TIMEOUT", float),
    "max_retries": ("PIVOT_REWARD_MAX_RETRIES", int),
    "deadline": ("PIVOT_REWARD_DEADLINE", float),
    "max_in_flight": ("PIVOT_REWARD_MAX_IN_FLIGHT", int),
}
# Other client options, taken only as arguments.
_PASSTHROUGH = (
    "connect_timeout",
    "backoff_base",
    "backoff_max",
    "max_retry_after",
    "failover_cooldown",
    "max_items_per_request",
)
KNOWN = frozenset({"url", "base_urls", "api_key", "preset", "lang", *_NUMBERS, *_PASSTHROUGH})


class AdapterConfig(NamedTuple):
    """Resolved adapter settings (hashable: clients are cached per configuration)."""

    urls: str
    api_key: str | None
    preset: str | None
    lang: str | None
    client_options: tuple[tuple[str, Any], ...]

    def options(self) -> dict[str, Any]:
        """Keyword arguments for the client constructors."""
        return {"api_key": self.api_key, **dict(self.client_options)}


def _env(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def join_urls(base_urls: str | Sequence[str] | None) -> str | None:
    if base_urls is None:
        return None
    if isinstance(base_urls, str):
        return base_urls.strip() or None
    return ",".join(str(u) for u in base_urls) or None


def resolve(overrides: Mapping[str, Any] | None = None, *, strict: bool = False) -> AdapterConfig:
    """Settings from `overrides` (e.g. verl's `reward_kwargs`), falling back to the environment.

    Other client options (`connect_timeout`, `backoff_base`, `failover_cooldown`, ...) pass
    through. Unknown keys raise with `strict`, else are ignored (trainers pass their own)."""
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - KNOWN)
    if strict and unknown:
        raise TypeError(f"unknown pivot-reward option(s): {', '.join(unknown)}")
    urls = join_urls(given.get("url") or given.get("base_urls")) or _env(URL_ENV)
    if not urls:
        raise ValueError(
            f"no pivot-reward URL: pass url=... or set {URL_ENV} (e.g. http://127.0.0.1:8000)"
        )
    options: list[tuple[str, Any]] = []
    for key, (env, kind) in _NUMBERS.items():
        raw = given.get(key, _env(env))
        if raw is not None:
            try:
                options.append((key, kind(raw)))
            except (TypeError, ValueError):
                raise ValueError(f"{key} / {env} must be a number, got {raw!r}") from None
    options.extend((key, given[key]) for key in _PASSTHROUGH if key in given)
    return AdapterConfig(
        urls=urls,
        api_key=given.get("api_key") or _env(API_KEY_ENV),
        preset=given.get("preset") or _env(PRESET_ENV),
        lang=given.get("lang") or _env(LANG_ENV),
        client_options=tuple(options),
    )
