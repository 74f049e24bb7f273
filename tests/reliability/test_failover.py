"""Replica failover: two servers on loopback, the client configured with both; under load one is
killed with SIGKILL. Every call is answered exactly once with the same result a single server
gives (the oracle), nothing lost, nothing duplicated or crossed; the killed replica restarts on
its port and takes load again."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from pivot_reward_client import PivotRewardClient

from tests.reliability.test_overload import metric
from tests.support.processes import ServerProcess
from tests.support.server import free_port

CALLS = 900
RATE = 150.0  # calls per second, steady: below what two replicas (and one) can serve
KILL_AT = 200  # answered calls before SIGKILL
AFTER_RESTART = 60  # calls sent once the killed replica is back
ROUTES = ("/v1/similarity", "/v1/answer-consistency", "/v1/rewards")


def body(i: int) -> tuple[str, dict[str, Any]]:
    """Distinct, mixed requests; each result depends on its own inputs only."""
    route = ROUTES[i % len(ROUTES)]
    if route == "/v1/similarity":
        return route, {
            "pairs": [
                {"candidate": f"Kandidat {i}.{j}: Janet hat {i + j} Eier", "reference": f"ref {i}"}
                for j in range(4)
            ]
        }
    if route == "/v1/answer-consistency":
        return route, {
            "items": [
                {
                    "target_response": f"Die Antwort lautet {i + j}.",
                    "pivot_answer": str(i),
                    "lang": "de",
                }
                for j in range(3)
            ]
        }
    return route, {
        "preset": "hybrid",
        "items": [
            {
                "response": f"Sie verkauft {i} Eier zu je 2 $. Die Antwort lautet {2 * i}.",
                "lang": "de",
                "reference": f"She sells {i} eggs at $2 each. The answer is {2 * i}.",
                "pivot_answer": str(2 * i + (i % 2)),
            }
        ],
    }


class CountingTransport(httpx.BaseTransport):
    """Records every attempt the client makes: (port, status or error class)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.attempts: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        port = request.url.port or 80
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            with self._lock:
                self.attempts.append((port, type(exc).__name__))
            raise
        with self._lock:
            self.attempts.append((port, str(response.status_code)))
        return response

    def close(self) -> None:
        self._inner.close()


def served_ok(server: ServerProcess) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return sum(metric(text, "pivot_requests_total", route=r, status="200") for r in ROUTES)


def test_sigkill_of_one_replica_under_load_loses_nothing(
    tmp_path: Path, figures: dict[str, str]
) -> None:
    requests = [body(i) for i in range(CALLS)]
    # The oracle: one server alone, no faults.
    oracle_server = ServerProcess(free_port(), tmp_path).start()
    try:
        with PivotRewardClient(oracle_server.url, max_retries=0) as client:
            oracle = [client.post(route, b)["results"] for route, b in requests]
    finally:
        oracle_server.stop()

    # Batches wait up to 50 ms for company, so several requests are in flight when the kill hits.
    env = {"PIVOT_MAX_WAIT_MS": "50"}
    a = ServerProcess(free_port(), tmp_path, env=env).start()
    b = ServerProcess(free_port(), tmp_path, env=env).start()
    transport = CountingTransport()
    answers: list[Any] = [None] * CALLS
    errors: dict[int, str] = {}
    calls_answered = Counter[int]()
    lock = threading.Lock()
    done = threading.Semaphore(0)
    killed_at = restarted_at = 0.0
    try:
        client = PivotRewardClient(
            f"{a.url},{b.url}",
            max_retries=8,
            backoff_base=0.05,
            backoff_max=0.5,
            failover_cooldown=0.5,
            connect_timeout=2,
            timeout=30,
            max_items_per_request=1024,  # no /v1/models look-up: every call is one request
            transport=transport,
        )

        def call(i: int) -> None:
            route, payload = requests[i]
            try:
                result = client.post(route, payload)["results"]
            except Exception as exc:  # recorded and asserted below
                with lock:
                    errors[i] = repr(exc)
            else:
                with lock:
                    answers[i] = result
                    calls_answered[i] += 1
            done.release()

        def chaos() -> None:
            nonlocal killed_at, restarted_at
            for _ in range(KILL_AT):
                done.acquire()
            a.kill9()
            killed_at = time.monotonic()
            a.start()  # same port; readiness waits for models and CPU workers
            restarted_at = time.monotonic()

        chaos_thread = threading.Thread(target=chaos)
        chaos_thread.start()
        started = time.monotonic()
        with ThreadPoolExecutor(48) as pool:
            for i in range(CALLS):
                delay = started + i / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(call, i)
        chaos_thread.join(60)
        elapsed = time.monotonic() - started
        # Once back, the restarted replica takes load again (on a slow machine its restart may end
        # after the steady load above): a second, short round, also checked against the oracle.
        after_restart: dict[int, Any] = {}
        with ThreadPoolExecutor(16) as pool:
            for i, result in zip(
                range(AFTER_RESTART),
                pool.map(lambda i: client.post(*requests[i])["results"], range(AFTER_RESTART)),
                strict=True,
            ):
                after_restart[i] = result
        a_after_restart = served_ok(a)
        b_total = served_ok(b)
        client.close()
    finally:
        a.stop()
        b.stop()

    assert killed_at and restarted_at, "the replica was never killed and restarted"
    assert not errors, f"{len(errors)} calls failed: {list(errors.items())[:3]}"
    assert all(n == 1 for n in calls_answered.values()) and len(calls_answered) == CALLS
    wrong = [i for i in range(CALLS) if answers[i] != oracle[i]]
    assert not wrong, f"{len(wrong)} answers differ from the oracle, e.g. call {wrong[0]}"
    per_port = Counter((port, outcome) for port, outcome in transport.attempts)
    failed_on_a = sum(n for (port, o), n in per_port.items() if port == a.port and not o.isdigit())
    refused_503 = per_port[(a.port, "503")]  # while it was restarting (models loading)
    ok_on_a = per_port[(a.port, "200")]
    ok_on_b = per_port[(b.port, "200")]
    assert failed_on_a > 0, f"the kill never hit a request: {per_port}"
    # One successful attempt per call: no duplicates.
    assert ok_on_a + ok_on_b == CALLS + AFTER_RESTART, per_port
    assert a_after_restart > 0, "the restarted replica took no load"
    assert all(after_restart[i] == oracle[i] for i in range(AFTER_RESTART))
    summary = (
        f"{CALLS} calls at {RATE:.0f}/s over 2 replicas in {elapsed:.1f} s; SIGKILL of one after "
        f"{KILL_AT} answers, back after {restarted_at - killed_at:.1f} s: {CALLS} answered once, "
        f"0 lost, 0 wrong vs the single-server oracle; {failed_on_a} attempts cut off or refused "
        f"by the killed replica and {refused_503} answered 503 while it restarted, all retried on "
        f"the other; successes: {ok_on_a} on the killed/restarted "
        f"replica ({a_after_restart:.0f} after its restart), {ok_on_b} on the survivor "
        f"(its metrics: {b_total:.0f}); attempts {dict(per_port)}"
    )
    figures["failover"] = summary
    print("failover:", summary)
