"""Bounded closed-loop load: N pre-built requests sent by C concurrent workers over keep-alive.

Every request is sent exactly once (429/503 answers are retried after a short pause, and counted);
latency is measured per request from send to fully-read response, retries included.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 50


@dataclass
class Request:
    path: str
    body: bytes
    items: int  # pairs (or items) this request scores


@dataclass
class LoadResult:
    requests: int
    items: int
    seconds: float
    latencies: list[float]
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    responses: list[Any] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies) if self.latencies else np.zeros(1)
        return {
            "requests": self.requests,
            "items": self.items,
            "seconds": round(self.seconds, 3),
            "items_per_s": round(self.items / self.seconds, 3) if self.seconds else None,
            "requests_per_s": round(self.requests / self.seconds, 3) if self.seconds else None,
            "p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1),
            "p90_ms": round(float(np.percentile(lat, 90)) * 1000, 1),
            "p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1),
            "max_ms": round(float(lat.max()) * 1000, 1),
            "retries": self.retries,
            "errors": self.errors,
            **({"error_samples": self.error_samples} if self.error_samples else {}),
        }


def json_request(path: str, payload: Any, items: int) -> Request:
    return Request(path, json.dumps(payload, ensure_ascii=False).encode("utf-8"), items)


async def run_load(
    base_url: str,
    requests: Sequence[Request],
    concurrency: int,
    *,
    timeout_s: float = 600.0,
    keep: Callable[[Any], Any] | None = None,
    deadline_s: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> LoadResult:
    """Send `requests` with `concurrency` workers; `keep(json)` extracts what to keep per response.

    Stops early (counting the rest as `not_sent`) once `deadline_s` has passed, so that no mode can
    run unbounded on a slow or overloaded machine. Redirects are not followed.

    aiohttp, not httpx: the load generator shares the machine with the server it measures, and
    httpx's AsyncClient spent ~19 ms of CPU per request at 256 connections here (9.9 s of a 20 s
    run; encode/httpx#3215), taking a quarter of a 2-core machine from the model.
    """
    import aiohttp  # only `pivot-reward bench` and bench/ need it

    send_headers = {"content-type": "application/json", **(headers or {})}
    latencies: list[float] = [0.0] * len(requests)
    responses: list[Any] = [None] * len(requests)
    done = [False] * len(requests)
    errors: dict[str, int] = {}
    error_samples: list[str] = []
    retries = 0
    next_index = 0
    base = base_url.rstrip("/")
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, headers=send_headers
    ) as session:

        async def worker() -> None:
            nonlocal next_index, retries
            while next_index < len(requests):
                if deadline_s is not None and time.perf_counter() - started > deadline_s:
                    return
                index = next_index
                next_index += 1
                request = requests[index]
                sent = time.perf_counter()
                for attempt in range(MAX_RETRIES + 1):
                    try:
                        async with session.post(
                            base + request.path, data=request.body, allow_redirects=False
                        ) as response:
                            status = response.status
                            body = await response.read()
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        key = type(exc).__name__
                        errors[key] = errors.get(key, 0) + 1
                        break
                    if status in RETRY_STATUSES and attempt < MAX_RETRIES:
                        retries += 1
                        await asyncio.sleep(0.05 * (attempt + 1))
                        continue
                    if status != 200:
                        key = f"http_{status}"
                        errors[key] = errors.get(key, 0) + 1
                        if len(error_samples) < 5:
                            error_samples.append(body[:500].decode("utf-8", "replace"))
                        break
                    latencies[index] = time.perf_counter() - sent
                    done[index] = True
                    if keep is not None:
                        responses[index] = keep(json.loads(body))
                    break

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)))))
    seconds = time.perf_counter() - started
    not_sent = len(requests) - next_index
    if not_sent:
        errors["not_sent_deadline"] = not_sent
    ok = [i for i, d in enumerate(done) if d]
    return LoadResult(
        requests=len(ok),
        items=sum(requests[i].items for i in ok),
        seconds=seconds,
        latencies=[latencies[i] for i in ok],
        retries=retries,
        errors=errors,
        responses=responses,
        error_samples=error_samples,
    )


def load(base_url: str, requests: Sequence[Request], concurrency: int, **kwargs: Any) -> LoadResult:
    return asyncio.run(run_load(base_url, requests, concurrency, **kwargs))
