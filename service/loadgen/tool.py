"""Run one built-in workload against a running instance and summarise it (`pivot-reward bench`).

Bounded: at most `max_requests` requests (the workload's own count by default, 10,000 at most) and
`duration_s` seconds of sending (3,600 at most); only the given base URL is contacted (redirects
are not followed), so a load test goes where the user points it and nowhere else.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlsplit

from service.loadgen.load import run_load
from service.loadgen.workloads import WORKLOADS

MAX_REQUESTS = 10_000
MAX_DURATION_S = 3600.0
REQUEST_TIMEOUT_S = 180.0  # OpenRLHF's own per-request timeout


class BenchArgumentError(ValueError):
    """A bad URL, workload or bound (the CLI exits 2 with the message)."""


def check_url(url: str) -> str:
    """The base URL without a trailing slash; http(s) with a host, nothing else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BenchArgumentError(f"--url must be http(s)://HOST[:PORT], got {url!r}")
    if parts.query or parts.fragment:
        raise BenchArgumentError("--url is a base URL: no query or fragment")
    return url.rstrip("/")


def run(
    url: str,
    workload_name: str,
    *,
    max_requests: int | None = None,
    duration_s: float = 300.0,
    api_key: str | None = None,
    warmup: int = 2,
) -> dict[str, Any]:
    """Replay `workload_name` against `url`; pairs/s, latency percentiles and errors."""
    base = check_url(url)
    if workload_name not in WORKLOADS:
        raise BenchArgumentError(
            f"unknown workload {workload_name!r}; choose from {', '.join(WORKLOADS)}"
        )
    if not 0 < duration_s <= MAX_DURATION_S:
        raise BenchArgumentError(f"--duration must be in (0, {MAX_DURATION_S:.0f}] seconds")
    workload = WORKLOADS[workload_name]
    requests = workload.requests(secrets.token_hex(3))
    limit = len(requests) if max_requests is None else max_requests
    if not 0 < limit <= MAX_REQUESTS:
        raise BenchArgumentError(f"--requests must be in 1..{MAX_REQUESTS}")
    while len(requests) < limit:  # more than one pass: fresh texts, never cache hits
        requests += workload.requests(secrets.token_hex(3))
    requests = requests[:limit]
    headers = {"authorization": f"Bearer {api_key}"} if api_key else None
    if warmup:
        warm = workload.requests("warm-" + secrets.token_hex(2))[:warmup]
        asyncio.run(run_load(base, warm, len(warm), timeout_s=REQUEST_TIMEOUT_S, headers=headers))
    result = asyncio.run(
        run_load(
            base,
            requests,
            workload.concurrency,
            timeout_s=REQUEST_TIMEOUT_S,
            deadline_s=duration_s,
            headers=headers,
        )
    )
    summary = result.summary()
    return {
        "url": base,
        "workload": workload.name,
        "description": workload.description,
        "concurrency": workload.concurrency,
        "requests_planned": len(requests),
        "requests_ok": summary["requests"],
        "pairs": summary["items"],
        "seconds": summary["seconds"],
        "pairs_per_s": summary["items_per_s"],
        "p50_ms": summary["p50_ms"],
        "p90_ms": summary["p90_ms"],
        "p99_ms": summary["p99_ms"],
        "retries_429_503": summary["retries"],
        "errors": summary["errors"],
        **({"error_samples": summary["error_samples"]} if "error_samples" in summary else {}),
    }


def format_report(report: dict[str, Any]) -> str:
    """A few human-readable lines."""
    errors = report["errors"]
    error_text = ", ".join(f"{k} x{v}" for k, v in errors.items()) if errors else "none"
    return "\n".join(
        [
            f"{report['workload']} against {report['url']}: {report['description']}",
            f"  {report['pairs']} pairs in {report['requests_ok']}/{report['requests_planned']} "
            f"requests, {report['seconds']:.1f} s",
            f"  pairs/s {report['pairs_per_s']}   latency p50 {report['p50_ms']} ms, "
            f"p90 {report['p90_ms']} ms, p99 {report['p99_ms']} ms",
            f"  errors: {error_text}; retried 429/503: {report['retries_429_503']}",
        ]
    )
