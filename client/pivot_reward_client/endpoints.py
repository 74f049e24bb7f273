"""Configuration and endpoint methods shared by both clients, each written once.

Every endpoint method builds a `protocol.Call` and hands it to `_execute`, which the sync client
implements returning the answer and the async client returning an awaitable of it.
"""

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypedDict, TypeVar

from pivot_reward_client import protocol
from pivot_reward_client.policy import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    RetryPolicy,
    UrlPool,
    parse_base_urls,
)
from pivot_reward_client.protocol import JSON, Call, Limits
from pivot_reward_client.version import __version__

API_KEY_ENV = "PIVOT_API_KEY"
DEFAULT_MAX_IN_FLIGHT = 32

R = TypeVar("R")


class ClientOptions(TypedDict, total=False):
    """Keyword arguments of both clients (see `ClientBase`)."""

    api_key: str | None
    timeout: float
    connect_timeout: float
    max_retries: int
    backoff_base: float
    backoff_max: float
    max_retry_after: float
    deadline: float | None
    failover_cooldown: float
    max_items_per_request: int | None
    max_in_flight: int
    headers: Mapping[str, str] | None


class ClientBase(ABC, Generic[R]):
    """Settings and endpoints of a pivot-reward client; `R` is what a call returns.

    Args:
        base_urls: One base URL, several as a sequence, or a comma-separated string
            (`"http://rm-0:8000,http://rm-1:8000"`): requests are spread round-robin, and a failed
            attempt moves to a URL this call has not tried yet.
        api_key: Bearer key; default: the `PIVOT_API_KEY` environment variable (none if unset).
        timeout: Per-attempt read timeout in seconds (default 180).
        connect_timeout: Per-attempt connect timeout (default 10), so a dead host fails over fast.
        max_retries: Retries after the first attempt (default 5).
        backoff_base: First backoff delay in seconds; doubles per round of failures.
        backoff_max: Cap of the backoff delay.
        max_retry_after: Cap of a server's `Retry-After`.
        deadline: Seconds one call may take in all, retries included (default: no bound).
        failover_cooldown: Seconds to avoid a URL that refused a connection (several URLs only).
        max_items_per_request: Split lists into chunks of at most this many items; None (default)
            reads the server's limit from `GET /v1/models` once, on first need.
        max_in_flight: Most HTTP requests this client has outstanding at once, across all calls
            and threads / tasks (default 32); others wait their turn.
        headers: Extra headers sent with every request.
    """

    def __init__(
        self,
        base_urls: str | Sequence[str],
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 60.0,
        deadline: float | None = None,
        failover_cooldown: float = 10.0,
        max_items_per_request: int | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_items_per_request is not None and max_items_per_request < 1:
            raise ValueError("max_items_per_request must be >= 1 (or None to ask the server)")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.base_urls = parse_base_urls(base_urls)
        self.api_key = api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)
        self.policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            timeout=timeout,
            connect_timeout=connect_timeout,
            deadline=deadline,
        )
        self.max_in_flight = max_in_flight
        self._pool = UrlPool(self.base_urls, failover_cooldown)
        self._limits: Limits | None = (
            Limits(max_items_per_request) if max_items_per_request else None
        )
        self._headers = {
            "User-Agent": f"pivot-reward-client/{__version__}",
            "Accept": "application/json",
        }
        if self.api_key:
            self._headers["Authorization"] = f"Bearer {self.api_key}"
        if headers:
            self._headers.update(headers)

    @property
    def max_retries(self) -> int:
        return self.policy.max_retries

    @property
    def max_items_per_request(self) -> int | None:
        """The item limit in use: given, or read from `/v1/models` (None until then)."""
        return self._limits.max_items if self._limits else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_urls={self.base_urls!r})"

    def _observe(self, call: Call, answer: JSON) -> None:
        """Learn the server's limits from any `/v1/models` answer."""
        if call.path == protocol.MODELS_PATH and self._limits is None:
            self._limits = Limits.from_models(answer)

    @abstractmethod
    def _execute(self, call: Call) -> R:
        """Send `call` (split into chunks when needed) and return its answer."""

    # ---- endpoints ----
    def post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        split: str | None = None,
        result_key: str = "results",
    ) -> R:
        """POST any JSON body to `path` with retries and failover.

        With `split="items"` (say), `body["items"]` is sent in chunks under the server's limit and
        the chunks' `result_key` lists are concatenated.
        """
        return self._execute(protocol.post(path, body, split, result_key))

    def models(self) -> R:
        """`GET /v1/models`: loaded models, device, languages, request limits, batching knobs."""
        return self._execute(protocol.models())

    def similarity(
        self,
        pairs: Sequence[Mapping[str, Any] | Sequence[str]] | None = None,
        *,
        reference: str | None = None,
        candidates: Sequence[str] | None = None,
        model: str | None = None,
        truncate: bool = False,
    ) -> R:
        """`POST /v1/similarity`: calibrated semantic equivalence to an English reference.

        Either `pairs` (`{"candidate", "reference"}` dicts or `(candidate, reference)` tuples), or
        one `reference` with many `candidates` (split keeping the reference in every chunk).
        Returns `{"model", "calibration", "results": [{"score", "cosine", "truncated"}]}`.
        """
        return self._execute(protocol.similarity(pairs, reference, candidates, model, truncate))

    def answer_consistency(
        self,
        items: Sequence[Mapping[str, Any]],
        rewards: Mapping[str, float] | None = None,
    ) -> R:
        """`POST /v1/answer-consistency` (PASMR): items are `{"target_response", "lang",
        "pivot_response"?, "pivot_answer"?}`; `rewards` overrides `{"match", "mismatch",
        "format_error"}`. Returns `{"results": [{"status", "reward", ...}]}`."""
        return self._execute(protocol.answer_consistency(items, rewards))

    def translate(
        self,
        texts: Sequence[str],
        *,
        source_lang: str | None = None,
        source_langs: Sequence[str] | None = None,
        target_lang: str = "en",
        beam_size: int | None = None,
        max_length: int | None = None,
    ) -> R:
        """`POST /v1/translate` (NLLB-200): one `source_lang` for all texts or `source_langs` per
        text. Returns `{"model", "target_lang", "translations": [{"text", ...}]}`."""
        return self._execute(
            protocol.translate(texts, source_lang, source_langs, target_lang, beam_size, max_length)
        )

    def translation_similarity(
        self,
        pairs: Sequence[Mapping[str, Any]] | None = None,
        *,
        reference: str | None = None,
        candidates: Sequence[str] | None = None,
        source_lang: str | None = None,
        chrf: bool = False,
        truncate: bool = False,
        beam_size: int | None = None,
        max_length: int | None = None,
    ) -> R:
        """`POST /v1/translation-similarity`: translate into English, then compare with the
        reference. `pairs` are `{"candidate", "reference", "source_lang"}`; or the grouped form."""
        return self._execute(
            protocol.translation_similarity(
                pairs, reference, candidates, source_lang, chrf, truncate, beam_size, max_length
            )
        )

    def pivot_extract(
        self,
        rollouts: Sequence[str],
        *,
        start: str | None = None,
        end: str | None = None,
        require_start: bool | None = None,
    ) -> R:
        """`POST /v1/pivot/extract`: split PASMR rollouts into pivot question and target answer."""
        return self._execute(protocol.pivot_extract(rollouts, start, end, require_start))

    def rewards(
        self,
        items: Sequence[Mapping[str, Any]],
        preset: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> R:
        """`POST /v1/rewards`: the composite trainer reward.

        Items are `{"response", "lang", "reference"?, "pivot_response"?, "pivot_answer"?,
        "prompt"?}`; `preset` is `pb-rlsvr-embedding`, `pb-rlsvr-translation`, `pasmr`, `hybrid`
        or None (the server's default). `extra` adds other top-level body fields.
        Returns `{"preset", "results": [{"reward", "reason", "components", "detected_lang",
        "answer_status", "gate", ...}]}`; a null `reward` means "exclude this sample".
        """
        return self._execute(protocol.rewards(items, preset, extra))

    def rank(
        self,
        candidates: Sequence[Mapping[str, Any] | Sequence[str]],
        *,
        question: str | None = None,
        reference: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> R:
        """`POST /v1/rank` (Best-of-L): candidates are `{"response", "lang"}` dicts or
        `(response, lang)` tuples. Returns `{"scores": [...], "best_index": int}`. Never split:
        candidates are scored against each other."""
        return self._execute(protocol.rank(candidates, question, reference, extra))

    def get_reward(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
    ) -> R:
        """`POST /get_reward` (OpenRLHF's protocol): `query` = prompt + response, labels of any
        JSON type. Returns `{"rewards", "scores", "extra_logs"}`."""
        return self._execute(protocol.get_reward(queries, prompts, labels))
