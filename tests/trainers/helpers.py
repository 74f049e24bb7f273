"""Helpers of the trainer tests: live pivot-reward servers, started from the SERVER's Python on loopback.

These tests run in the trainers' venv (`make test-trainers`), which has the trainers and the
client but not the server. The server runs as its own process from `PIVOT_SERVER_PYTHON` (the
Makefile sets it to `.venv/bin/python`; default: `.venv/bin/python` of this checkout), with this
checkout's `service` on PYTHONPATH and the model-free hash encoder, so the trainers talk to the
real app over real sockets.
"""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_PYTHON_ENV = "PIVOT_SERVER_PYTHON"


def server_python() -> str:
    configured = os.environ.get(SERVER_PYTHON_ENV)
    python = Path(configured) if configured else REPO_ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        # A set-up error, not a reason to skip: `make test-trainers` sets this up.
        raise RuntimeError(
            f"no server Python at {python}: run `make setup`, or set {SERVER_PYTHON_ENV} to the "
            "python of a venv where the pivot-reward server is installed"
        )
    return str(python)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(**settings: str) -> Iterator[str]:
    """`python -m service.cli serve` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PIVOT_") or k == SERVER_PYTHON_ENV
    }
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "PIVOT_EMBEDDING_MODEL": "test-hash-encoder",
            "PIVOT_HOST": "127.0.0.1",
            "PIVOT_PORT": str(port),
            "PIVOT_LOG_LEVEL": "warning",
            "PIVOT_TORCH_THREADS": "1",
            "PIVOT_CPU_WORKERS": "1",
        }
    )
    env.update({f"PIVOT_{k.upper()}": v for k, v in settings.items()})
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"pivot-reward-{port}.log", "w+b")  # noqa: SIM115
    process = subprocess.Popen(
        [server_python(), "-m", "service.cli", "serve"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited ({process.returncode}):\n{log.read().decode()}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {base} not ready within 180 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def post_json(base: str, path: str, body: dict[str, object]) -> dict[str, object]:
    """A direct call to the service (the expected answers of the tests)."""
    response = httpx.post(base + path, json=body, timeout=60)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def installed_version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
