"""The wire protocol, without IO: what each endpoint sends, how batches split, how answers decode.

Both clients build a `Call` here and hand it to their transport; nothing in this module sends a byte.
"""

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from pivot_reward_client.errors import PivotRewardError

JSON = dict[str, Any]

MODELS_PATH = "/v1/models"


@dataclass(frozen=True)
class Split:
    """How to split one request: the list to split, lists aligned with it, the result list."""

    key: str
    result_key: str = "results"
    parallel: tuple[str, ...] = ()


@dataclass(frozen=True)
class Call:
    """One logical request: what to send; `split` says how it may be cut into chunks."""

    method: str
    path: str
    body: JSON | None = None
    split: Split | None = None


@dataclass
class Limits:
    """The server's request limits (from `GET /v1/models`, or given)."""

    max_items: int | None
    max_body_bytes: int | None = None

    @classmethod
    def from_models(cls, models: Mapping[str, Any]) -> "Limits":
        raw = models.get("limits") or {}
        max_items = raw.get("max_items_per_request")
        max_bytes = raw.get("max_body_bytes")
        return cls(
            max_items if isinstance(max_items, int) and max_items > 0 else None,
            max_bytes if isinstance(max_bytes, int) and max_bytes > 0 else None,
        )


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as sent (NaN is refused: the server would reject it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# ---- request bodies ----


def _options(body: JSON, **options: Any) -> JSON:
    for key, value in options.items():
        if value is not None:
            body[key] = value
    return body


def _pair(value: Mapping[str, Any] | Sequence[str], keys: tuple[str, str]) -> JSON:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str | bytes) or len(value) != 2:
        raise TypeError(f"expected a dict or a ({keys[0]}, {keys[1]}) pair, got {value!r}")
    first, second = value
    return {keys[0]: first, keys[1]: second}


def _pairs_or_grouped(
    pairs: Sequence[Any] | None,
    reference: str | None,
    candidates: Sequence[str] | None,
    pair_keys: tuple[str, str] | None,
) -> tuple[JSON, Split]:
    if pairs is not None:
        if reference is not None or candidates is not None:
            raise ValueError("give either pairs, or reference and candidates, not both")
        items = [_pair(p, pair_keys) if pair_keys else dict(p) for p in pairs]
        return {"pairs": items}, Split("pairs")
    if reference is not None and candidates is not None:
        return {"reference": reference, "candidates": list(candidates)}, Split("candidates")
    raise ValueError("give pairs, or reference and candidates")


def models() -> Call:
    return Call("GET", MODELS_PATH)


def post(path: str, body: Mapping[str, Any], split: str | None, result_key: str) -> Call:
    return Call("POST", path, dict(body), Split(split, result_key) if split else None)


def similarity(
    pairs: Sequence[Mapping[str, Any] | Sequence[str]] | None,
    reference: str | None,
    candidates: Sequence[str] | None,
    model: str | None,
    truncate: bool,
) -> Call:
    body, split = _pairs_or_grouped(pairs, reference, candidates, ("candidate", "reference"))
    _options(body, model=model, truncate=True if truncate else None)
    return Call("POST", "/v1/similarity", body, split)


def answer_consistency(
    items: Sequence[Mapping[str, Any]], rewards: Mapping[str, float] | None
) -> Call:
    body: JSON = {"items": [dict(i) for i in items]}
    _options(body, rewards=dict(rewards) if rewards is not None else None)
    return Call("POST", "/v1/answer-consistency", body, Split("items"))


def translate(
    texts: Sequence[str],
    source_lang: str | None,
    source_langs: Sequence[str] | None,
    target_lang: str,
    beam_size: int | None,
    max_length: int | None,
) -> Call:
    body = _options(
        {"texts": list(texts), "target_lang": target_lang},
        source_lang=source_lang,
        source_langs=list(source_langs) if source_langs is not None else None,
        beam_size=beam_size,
        max_length=max_length,
    )
    return Call("POST", "/v1/translate", body, Split("texts", "translations", ("source_langs",)))


def translation_similarity(
    pairs: Sequence[Mapping[str, Any]] | None,
    reference: str | None,
    candidates: Sequence[str] | None,
    source_lang: str | None,
    chrf: bool,
    truncate: bool,
    beam_size: int | None,
    max_length: int | None,
) -> Call:
    body, split = _pairs_or_grouped(pairs, reference, candidates, None)
    _options(
        body,
        source_lang=source_lang,
        beam_size=beam_size,
        max_length=max_length,
        chrf=True if chrf else None,
        truncate=True if truncate else None,
    )
    return Call("POST", "/v1/translation-similarity", body, split)


def pivot_extract(
    rollouts: Sequence[str], start: str | None, end: str | None, require_start: bool | None
) -> Call:
    body = _options({"rollouts": list(rollouts)}, start=start, end=end, require_start=require_start)
    return Call("POST", "/v1/pivot/extract", body, Split("rollouts"))


def rewards(
    items: Sequence[Mapping[str, Any]], preset: str | None, extra: Mapping[str, Any] | None
) -> Call:
    body: JSON = {"items": [dict(i) for i in items]}
    _options(body, preset=preset)
    body.update(extra or {})
    return Call("POST", "/v1/rewards", body, Split("items"))


def rank(
    candidates: Sequence[Mapping[str, Any] | Sequence[str]],
    question: str | None,
    reference: str | None,
    extra: Mapping[str, Any] | None,
) -> Call:
    body = _options(
        {"candidates": [_pair(c, ("response", "lang")) for c in candidates]},
        question=question,
        reference=reference,
    )
    body.update(extra or {})
    # Never split: candidates are ranked against each other.
    return Call("POST", "/v1/rank", body, None)


def get_reward(
    queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any] | None
) -> Call:
    """OpenRLHF's `/get_reward` body; split keeping prompts and labels aligned with queries."""
    body: JSON = {"query": list(queries)}
    _options(
        body,
        prompts=list(prompts) if prompts is not None else None,
        labels=list(labels) if labels is not None else None,
    )
    return Call("POST", "/get_reward", body, Split("query", "rewards", ("prompts", "labels")))


# ---- splitting and merging ----


def needs_limits(call: Call, limits: Limits | None) -> bool:
    """Whether the server's limits must be known before sending (a list of 2+ items)."""
    if call.split is None or limits is not None or call.body is None:
        return False
    items = call.body.get(call.split.key)
    return isinstance(items, list) and len(items) > 1


def chunk_bounds(body: Mapping[str, Any], split: Split, limits: Limits) -> list[tuple[int, int]]:
    """[start, end) index ranges of the split list, respecting item and byte limits."""
    items = body[split.key]
    n = len(items)
    max_items = limits.max_items or max(n, 1)
    if limits.max_body_bytes is None:
        return [(i, min(i + max_items, n)) for i in range(0, n, max_items)]
    parallel = [k for k in split.parallel if isinstance(body.get(k), list)]
    rest = {k: v for k, v in body.items() if k != split.key and k not in parallel}
    # 10% slack for the JSON punctuation not counted exactly, and the other keys.
    budget = int(limits.max_body_bytes * 0.9) - len(dumps(rest)) - 64
    bounds: list[tuple[int, int]] = []
    start, size = 0, 0
    for i in range(n):
        item_size = len(dumps(items[i])) + 1
        for key in parallel:
            item_size += len(dumps(body[key][i])) + 1
        if i > start and (i - start >= max_items or size + item_size > budget):
            bounds.append((start, i))
            start, size = i, 0
        size += item_size
    bounds.append((start, n))
    return bounds


def plan(call: Call, limits: Limits | None) -> list[Call]:
    """The chunks to send for `call` (just `call` when it goes as is)."""
    split, body = call.split, call.body
    if split is None or body is None or limits is None:
        return [call]
    items = body.get(split.key)
    if not isinstance(items, list) or len(items) <= 1:
        return [call]
    bounds = chunk_bounds(body, split, limits)
    if len(bounds) == 1:
        return [call]
    chunks = []
    for start, end in bounds:
        chunk = dict(body)
        chunk[split.key] = items[start:end]
        for key in split.parallel:
            if isinstance(body.get(key), list):
                chunk[key] = body[key][start:end]
        chunks.append(Call(call.method, call.path, chunk, split))
    return chunks


def merge(call: Call, responses: list[JSON]) -> JSON:
    """One answer from the chunks' answers: result lists concatenated, in order.

    Dicts of per-item lists (OpenRLHF's `extra_logs`) are concatenated key by key."""
    if len(responses) == 1 or call.split is None:
        return responses[0]
    key = call.split.result_key
    merged = dict(responses[0])
    combined: list[Any] = []
    for response in responses:
        part = response.get(key)
        if not isinstance(part, list):
            raise PivotRewardError(
                f"response has no list {key!r} to merge", type="invalid_response"
            )
        combined.extend(part)
    merged[key] = combined
    for name, value in responses[0].items():
        if name == key:
            continue
        if isinstance(value, list) and all(isinstance(r.get(name), list) for r in responses):
            merged[name] = [v for r in responses for v in r[name]]
        elif isinstance(value, dict) and all(isinstance(r.get(name), dict) for r in responses):
            merged[name] = _merge_columns([r[name] for r in responses])
    return merged


def _merge_columns(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for column in parts[0]:
        if all(isinstance(p.get(column), list) for p in parts):
            merged[column] = [v for p in parts for v in p[column]]
        else:
            merged[column] = parts[0][column]
    return merged


# ---- answers ----


@dataclass
class Failure:
    """A failed attempt: the error to raise, and how long the server asked us to wait."""

    error: PivotRewardError
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def failure_from_response(response: httpx.Response, url: str, request_id: str) -> Failure:
    """The error of a non-2xx answer, and whether it is worth retrying."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    error_type, message, fields, rid = "http_error", "", [], None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        detail = payload["error"]
        error_type = str(detail.get("type") or error_type)
        message = str(detail.get("message") or "")
        fields = [f for f in detail.get("fields") or [] if isinstance(f, dict)]
        rid = detail.get("request_id")
    if not message:
        text = response.text.strip()
        message = (text[:300] + "...") if len(text) > 300 else (text or response.reason_phrase)
    # An optional feature that is not configured (503 `unavailable`) will not come back by waiting.
    retryable = status == 429 or (
        status >= 500 and not (status == 503 and error_type == "unavailable")
    )
    error = PivotRewardError(
        message,
        status=status,
        type=error_type,
        fields=fields,
        request_id=rid or response.headers.get("x-request-id") or request_id,
        url=url,
        retryable=retryable,
        retry_after=retry_after,
    )
    return Failure(error, retry_after if status in (429, 503) else None)


_RETRYABLE_TRANSPORT = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


def failure_from_exception(exc: httpx.TransportError, url: str, request_id: str) -> Failure:
    """The error of an attempt that got no answer."""
    if isinstance(exc, httpx.TimeoutException):
        kind = "timeout"
    elif isinstance(exc, httpx.ConnectError):
        kind = "connection_error"
    else:
        kind = "transport_error"
    error = PivotRewardError(
        f"{type(exc).__name__}: {exc or 'no detail'}",
        type=kind,
        request_id=request_id,
        url=url,
        retryable=isinstance(exc, _RETRYABLE_TRANSPORT),
    )
    return Failure(error)


def decode_success(response: httpx.Response, url: str, request_id: str) -> JSON:
    """The JSON object of a 2xx answer."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise PivotRewardError(
            f"expected a JSON object, got: {response.text[:200]!r}",
            status=response.status_code,
            type="invalid_response",
            request_id=response.headers.get("x-request-id") or request_id,
            url=url,
        )
    return payload
