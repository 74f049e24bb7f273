"""The real CLI (`python -m service.cli serve`) as a subprocess: SIGTERM under load, start-up faults.

Requests are made slow by load alone: long, distinct texts (the hash encoder spends ~40 ms on a 19k-char
text), so several requests are still being computed when SIGTERM arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT
from tests.reliability.helpers import expected_results, results_match
from tests.support.server import free_port

GRACE_S = 10.0
DRAIN_S = 0.5
IN_FLIGHT = 3
TEXTS_PER_REQUEST = 40


@contextmanager
def serve(tmp_path: Path, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """Start `pivot-reward serve` on a free port; always reap it."""
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    full_env = {
        **os.environ,
        "PIVOT_EMBEDDING_MODEL": "test-hash-encoder",
        "PIVOT_HOST": "127.0.0.1",
        "PIVOT_PORT": str(port),
        "PIVOT_CACHE_DIR": str(tmp_path / "cache"),
        "PIVOT_LOG_JSON": "true",
        "PIVOT_API_KEYS": "",
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, f"http://127.0.0.1:{port}", log_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def wait_for(
    base: str, status: str, process: subprocess.Popen[bytes], timeout_s: float = 30
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited early with {process.returncode}"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).json().get("status") == status:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"/readyz never said {status!r}")


def log_entries(path: Path) -> list[dict[str, object]]:
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            entries.append({"raw": line})
    return entries


def slow_body(i: int) -> dict[str, object]:
    filler = "lorem ipsum dolor sit amet " * 700  # ~19k characters, under PIVOT_MAX_TEXT_CHARS
    return {
        "reference": f"reference {i}: {filler}",
        "candidates": [f"candidate {i}.{j}: {filler}" for j in range(TEXTS_PER_REQUEST - 1)],
        "truncate": True,  # the hash encoder counts ~3500 tokens per text
    }


def test_sigterm_drains_in_flight_requests_and_exits_0(tmp_path: Path) -> None:
    with serve(
        tmp_path,
        PIVOT_DRAIN_DELAY_S=str(DRAIN_S),
        PIVOT_SHUTDOWN_GRACE_S=str(GRACE_S),
    ) as (process, base, log_path):
        wait_for(base, "ready", process)
        bodies = [slow_body(i) for i in range(IN_FLIGHT)]
        responses: dict[int, httpx.Response | BaseException] = {}

        def call(i: int) -> None:
            try:
                responses[i] = httpx.post(f"{base}/v1/similarity", json=bodies[i], timeout=60)
            except BaseException as exc:  # recorded and asserted below
                responses[i] = exc

        threads = [threading.Thread(target=call, args=(i,)) for i in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        # Wait until every request has been admitted (its texts looked up in the cache).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            metrics = httpx.get(f"{base}/metrics", timeout=5).text
            misses = sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith("pivot_embedding_cache_misses_total{")
            )
            if misses >= IN_FLIGHT * TEXTS_PER_REQUEST:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the load never reached the model queue")
        assert not responses, "requests finished before SIGTERM: the load is too light"

        sigterm_at = time.monotonic()
        process.send_signal(signal.SIGTERM)

        # 1. Readiness turns 503 "draining" first, while the listener still accepts.
        ready = None
        while time.monotonic() - sigterm_at < DRAIN_S:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=1)
            except httpx.TransportError:
                break
            if ready.status_code == 503:
                break
            time.sleep(0.02)
        assert ready is not None and ready.status_code == 503, ready
        assert ready.json()["status"] == "draining"

        # 2. After the drain delay, new connections are refused, while work is still in flight.
        refused_at = None
        while time.monotonic() - sigterm_at < DRAIN_S + 3:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
            except httpx.ConnectError:
                refused_at = time.monotonic()
                break
            except httpx.TransportError:
                pass  # accepted into the backlog just as the listener closed, then reset
            time.sleep(0.05)
        assert refused_at is not None, "the listener was never closed"
        assert refused_at - sigterm_at >= DRAIN_S * 0.9, (
            "the listener closed before the drain delay"
        )
        assert len(responses) < IN_FLIGHT, "nothing was in flight when the listener closed"

        # 3. In-flight requests complete, correctly.
        for thread in threads:
            thread.join(GRACE_S + 5)
        for i, body in enumerate(bodies):
            response = responses[i]
            assert isinstance(response, httpx.Response), f"request {i}: {response!r}"
            assert response.status_code == 200, f"request {i}: {response.text[:300]}"
            results = response.json()["results"]
            assert len(results) == TEXTS_PER_REQUEST - 1
            first = expected_results([body["candidates"][0]], [str(body["reference"])])  # type: ignore[index]
            first[0]["truncated"] = True
            assert results_match(results[:1], first), results[0]

        # 4. The process exits 0 within the grace period.
        code = process.wait(GRACE_S + 5)
        elapsed = time.monotonic() - sigterm_at
        logs = log_entries(log_path)
        print(f"shutdown: exit {code} after {elapsed:.2f} s; {len(logs)} log lines")
        assert code == 0, f"exit code {code}; log tail: {logs[-5:]}"
        assert elapsed < GRACE_S + DRAIN_S + 2
        assert any(e.get("message") == "draining" for e in logs), logs[-10:]


def test_missing_model_folder_exits_non_zero_with_a_clear_log_line(tmp_path: Path) -> None:
    with serve(tmp_path, PIVOT_EMBEDDING_MODEL="/nonexistent/e5-folder") as (process, _, log_path):
        code = process.wait(60)
    logs = log_entries(log_path)
    assert code != 0, f"exit code {code}; logs: {logs[-5:]}"
    errors = [e for e in logs if e.get("level") == "error"]
    assert any("/nonexistent/e5-folder" in json.dumps(e) for e in errors), errors
    assert any("PIVOT_EXIT_ON_LOAD_FAILURE" in str(e.get("message")) for e in errors), errors


def test_missing_model_folder_can_stay_up_as_failed(tmp_path: Path) -> None:
    with serve(
        tmp_path,
        PIVOT_EMBEDDING_MODEL="/nonexistent/e5-folder",
        PIVOT_EXIT_ON_LOAD_FAILURE="false",
    ) as (process, base, _):
        wait_for(base, "failed", process)
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "failed"
        assert "/nonexistent/e5-folder" in ready.json()["detail"]
        assert httpx.get(f"{base}/healthz").status_code == 200
        scoring = httpx.post(f"{base}/v1/similarity", json={"reference": "r", "candidates": ["c"]})
        assert scoring.status_code == 503 and scoring.json()["error"]["type"] == "not_ready"
        time.sleep(0.5)
        assert process.poll() is None, "the service must stay up when told to"
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
