"""Run the real app under uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    app: FastAPI, *, ready_timeout_s: float = 120.0, wait_ready: bool = True
) -> Iterator[str]:
    """Yield the base URL of `app` served by uvicorn on 127.0.0.1; stop it afterwards."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout_s
    while True:
        try:
            response = httpx.get(
                f"{base_url}/readyz" if wait_ready else f"{base_url}/healthz", timeout=2
            )
            if response.status_code == 200:
                break
            if response.status_code == 503 and response.json().get("status") == "failed":
                raise RuntimeError(f"server failed to load models: {response.text}")
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"server on {base_url} not ready within {ready_timeout_s} s")
        time.sleep(0.05)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def pivot_state(app: FastAPI) -> Any:
    return app.state.pivot
