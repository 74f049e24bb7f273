"""The real CLI (`python -m service.cli serve`) as a subprocess on loopback, for fault tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServerProcess:
    """One `pivot-reward serve` process; `start()` again after a kill restarts it on the same port."""

    port: int
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"serve-{self.port}-{self.starts}.log"

    def start(self, *, wait_ready: bool = True, timeout_s: float = 60) -> ServerProcess:
        self.starts += 1
        full_env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "PIVOT_EMBEDDING_MODEL": "test-hash-encoder",
            "PIVOT_HOST": "127.0.0.1",
            "PIVOT_PORT": str(self.port),
            "PIVOT_CACHE_DIR": str(self.log_dir / "cache"),
            "PIVOT_LOG_JSON": "true",
            "PIVOT_API_KEYS": "",
            **self.env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve"],
                cwd=REPO_ROOT,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # kill -9 of the group takes its CPU workers too
            )
        if wait_ready:
            self.wait_status("ready", timeout_s)
        return self

    def wait_status(self, status: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).json().get("status") == status:
                    return
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.url}/readyz never said {status!r}: {self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL the server and its workers: no drain, no goodbye."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def logs(self, start: int | None = None) -> list[dict[str, Any]]:
        """The JSON log lines of one start (default: the current one)."""
        path = self.log_dir / f"serve-{self.port}-{start or self.starts}.log"
        entries: list[dict[str, Any]] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                entries.append({"raw": line})
        return entries

    def log_tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
