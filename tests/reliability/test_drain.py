"""Draining under load, on the real CLI: after SIGTERM new work gets 503 `not_ready` with
Retry-After (never 429 "queue full"), work already admitted completes, and every request the
server accepted is answered exactly once; then the process exits 0.

"Accepted" is what the server logged: each request carries its own X-Request-ID, and the server's
JSON log has one "request" line per request it handled, with the status it sent.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.reliability.helpers import assert_error_shape
from tests.support.processes import ServerProcess
from tests.support.server import free_port

DRAIN_S = 1.5
GRACE_S = 15.0
CLIENTS = 6
FILLER = "lorem ipsum dolor sit amet " * 700  # ~19 k characters: the hash encoder takes ~40 ms
NUMBERS = "Die Antwort lautet 1.250,5 und so weiter mit 12 Eiern. " * 300


def body(kind: str, client: int, n: int) -> dict[str, object]:
    tag = f"{client}.{n}"
    if kind == "similarity":
        return {
            "reference": f"reference {tag}: {FILLER}",
            "candidates": [f"candidate {tag}.{j}: {FILLER}" for j in range(12)],
            "truncate": True,
        }
    return {
        "items": [
            {"target_response": f"{NUMBERS} {tag}.{j}", "pivot_answer": "18", "lang": "de"}
            for j in range(16)
        ]
    }


def test_sigterm_under_load_503s_new_work_and_answers_every_accepted_request_once(
    tmp_path: Path, figures: dict[str, str]
) -> None:
    server = ServerProcess(
        free_port(),
        tmp_path,
        env={"PIVOT_DRAIN_DELAY_S": str(DRAIN_S), "PIVOT_SHUTDOWN_GRACE_S": str(GRACE_S)},
    ).start()
    outcomes: dict[str, tuple[str, int | str, httpx.Response | None]] = {}
    lock = threading.Lock()
    sigterm_sent = threading.Event()
    in_flight_at_sigterm = Counter[str]()  # sent before SIGTERM, answered after it

    def client(c: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for n in range(10_000):
                kind = "similarity" if (c + n) % 2 else "consistency"
                path = "/v1/similarity" if kind == "similarity" else "/v1/answer-consistency"
                rid = f"drain-{c}-{n}"
                after = sigterm_sent.is_set()
                try:
                    response = http.post(path, json=body(kind, c, n), headers={"x-request-id": rid})
                except httpx.ConnectError:
                    with lock:
                        outcomes[rid] = (kind, "refused", None)
                    return  # the listener is closed: this replica is gone
                except httpx.TransportError as exc:
                    with lock:
                        outcomes[rid] = (kind, type(exc).__name__, None)
                    continue
                with lock:
                    outcomes[rid] = (kind, response.status_code, response)
                    if not after and sigterm_sent.is_set():
                        in_flight_at_sigterm[f"{kind} {response.status_code}"] += 1
                if response.status_code == 503:
                    time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(2.0)  # load running: requests of both kinds in flight
        with lock:
            before = len(outcomes)
        assert before > 0, "no request completed before SIGTERM: the load is too heavy"
        sigterm_at = time.monotonic()
        server.terminate()
        sigterm_sent.set()
        for thread in threads:
            thread.join(GRACE_S + DRAIN_S + 10)
        code = server.process.wait(GRACE_S + 5) if server.process else None
        elapsed = time.monotonic() - sigterm_at
    finally:
        server.stop()

    assert code == 0, f"exit code {code}: {server.log_tail()}"
    logged = [e for e in server.logs() if e.get("message") == "request"]
    served = Counter(str(e.get("request_id")) for e in logged)
    assert all(count == 1 for count in served.values()), "a request was handled twice"
    status_logged = {str(e["request_id"]): e["status"] for e in logged}

    by_status = Counter[str]()
    for rid, (kind, status, response) in outcomes.items():
        by_status[f"{kind} {status}"] += 1
        if isinstance(status, int):
            # The client saw an answer: the server logged exactly that answer, once.
            assert status_logged.get(rid) == status, (rid, status, status_logged.get(rid))
            assert status in (200, 503), (
                f"{rid}: {status} {response.text[:300] if response else ''}"
            )
            if status == 503 and response is not None:
                error = assert_error_shape(response, 503, allowed_types={"not_ready"})
                assert response.headers.get("retry-after"), error
        else:
            # No answer reached the client: then the server never accepted the request.
            assert rid not in status_logged, f"{rid} accepted ({status_logged[rid]}) but lost"
    for rid in status_logged:
        assert rid in outcomes, f"the server answered {rid}, which no client sent"

    assert by_status["similarity 200"] and by_status["consistency 200"], by_status
    # New work after SIGTERM (during the drain delay) was refused, on both kinds of endpoint.
    assert by_status["similarity 503"] and by_status["consistency 503"], by_status
    assert not any(k.endswith(" 429") for k in by_status), by_status
    # Requests in flight at SIGTERM were completed, not cut off.
    assert sum(in_flight_at_sigterm.values()) >= 2, in_flight_at_sigterm
    assert all(k.endswith(" 200") for k in in_flight_at_sigterm), in_flight_at_sigterm
    summary = (
        f"exit {code} after {elapsed:.1f} s; {len(outcomes)} requests: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items()))
        + f"; in flight at SIGTERM and completed: {sum(in_flight_at_sigterm.values())}"
        + f"; {len(served)} accepted by the server, each answered once"
    )
    figures["drain"] = summary
    print("drain:", summary)
