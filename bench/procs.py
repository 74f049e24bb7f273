"""Servers under test as real subprocesses on loopback: start, wait until ready, sample RSS, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def rss_mib(pid: int) -> float | None:
    """Current resident set size (psutil when installed, else /proc/PID/status VmRSS)."""
    try:
        import psutil  # type: ignore[import-untyped]

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except Exception:
        kib = _status_kib(pid, "VmRSS")
        return kib / 1024 if kib is not None else None


def peak_rss_mib(pid: int) -> float | None:
    """Peak resident set size since the process started (/proc/PID/status VmHWM)."""
    kib = _status_kib(pid, "VmHWM")
    return kib / 1024 if kib is not None else None


@dataclass
class Server:
    """A server subprocess; `url` is its loopback base URL."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    port: int
    ready_path: str = "/readyz"
    log_path: Path | None = None
    startup_timeout_s: float = 240.0
    process: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    startup_seconds: float = 0.0
    rss_samples: list[tuple[float, float]] = field(default_factory=list)
    _sampler: threading.Thread | None = None
    _stop_sampling: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Server:
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        env = {**os.environ, **self.env}
        self.started_s = time.perf_counter()
        self.process = subprocess.Popen(
            list(self.argv),
            env=env,
            cwd=str(REPO_ROOT),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if log is not subprocess.DEVNULL:
            log.close()  # type: ignore[union-attr]
        self._wait_ready()
        self.startup_seconds = time.perf_counter() - self.started_s
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode} while starting"
                        + (f"; log: {self.log_path}" if self.log_path else "")
                        + _tail(self.log_path)
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url + self.ready_path).status_code == 200:
                        return
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {self.startup_timeout_s:.0f} s")

    def start_sampling(self, interval_s: float = 0.5) -> None:
        """Sample RSS in a background thread (cheap: one /proc read per sample)."""
        self._stop_sampling.clear()

        def loop() -> None:
            while not self._stop_sampling.wait(interval_s):
                value = rss_mib(self.pid)
                if value is not None:
                    self.rss_samples.append((time.perf_counter() - self.started_s, value))

        self._sampler = threading.Thread(target=loop, daemon=True)
        self._sampler.start()

    def peak_rss(self) -> float | None:
        return peak_rss_mib(self.pid)

    def rss(self) -> float | None:
        return rss_mib(self.pid)

    def stop(self) -> None:
        self._stop_sampling.set()
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return "\n" + "\n".join(text)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def service_server(
    env: Mapping[str, str], log_dir: Path, label: str, variant: str | None = None
) -> Server:
    """`python -m service.cli serve` with PIVOT_* settings on a free loopback port.

    `variant` runs it through `bench.service_variants` with that experimental patch applied.
    """
    port = free_port()
    full = {
        "PIVOT_HOST": HOST,
        "PIVOT_PORT": str(port),
        "PIVOT_LOG_JSON": "true",
        "PIVOT_LOG_LEVEL": "warning",
        "PIVOT_SHUTDOWN_GRACE_S": "5",
        **env,
    }
    return Server(
        name=f"service[{label}]",
        argv=[sys.executable, "-m", "service.cli", "serve"]
        if variant is None
        else [sys.executable, "-m", "bench.service_variants", variant, "serve"],
        env=full,
        port=port,
        log_path=log_dir / f"service-{label}.log",
    )


def naive_server(model_dir: Path, log_dir: Path, label: str) -> Server:
    port = free_port()
    return Server(
        name=f"naive[{label}]",
        argv=[
            sys.executable,
            "-m",
            "bench.naive_server",
            "--model",
            str(model_dir),
            "--host",
            HOST,
            "--port",
            str(port),
        ],
        env={},
        port=port,
        ready_path="/healthz",
        log_path=log_dir / f"naive-{label}.log",
    )


def metrics_snapshot(url: str) -> dict[str, float]:
    """The service's Prometheus samples as {name{labels}: value} (pivot_* only)."""
    out: dict[str, float] = {}
    with contextlib.suppress(httpx.HTTPError):
        text = httpx.get(url + "/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith("pivot_") and " " in line:
                key, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[key] = float(value)
    return out


def metric_sum(snapshot: Mapping[str, float], prefix: str) -> float:
    return sum(v for k, v in snapshot.items() if k.startswith(prefix))


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _system_jiffies() -> tuple[int, int]:
    """(busy, steal) jiffies of all CPUs from /proc/stat (busy excludes idle, iowait and steal)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def _process_jiffies(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0


class CpuMeter:
    """CPU used during a measurement by us (harness + server) and by everything else.

    `foreign_cpu_fraction` is the share of the machine's CPU time that other processes (other
    workers' tests, say) took while we measured: the noise indicator of a shared machine.
    """

    def __init__(self, pids: Sequence[int] = ()) -> None:
        self.pids = list(pids)

    def __enter__(self) -> CpuMeter:
        self._t0 = time.perf_counter()
        self._busy0, self._steal0 = _system_jiffies()
        self._ours0 = {p: _process_jiffies(p) for p in [*self.pids, "self"]}
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        busy, steal = _system_jiffies()
        used = {p: _process_jiffies(p) - j0 for p, j0 in self._ours0.items()}
        ours = sum(used.values())
        # The harness's own share is the load generator's: CPU the server could not use.
        self.harness_cpu_s = used["self"] / _CLK_TCK
        cpus = os.cpu_count() or 1
        self.ours_cpu_s = ours / _CLK_TCK
        self.foreign_cpu_s = max(0.0, (busy - self._busy0 - ours) / _CLK_TCK)
        self.steal_cpu_s = (steal - self._steal0) / _CLK_TCK
        self.capacity_s = self.seconds * cpus

    def summary(self) -> dict[str, float]:
        return {
            "ours_cpu_fraction": round(self.ours_cpu_s / self.capacity_s, 3),
            "harness_cpu_fraction": round(self.harness_cpu_s / self.capacity_s, 3),
            "foreign_cpu_fraction": round(self.foreign_cpu_s / self.capacity_s, 3),
            "steal_fraction": round(self.steal_cpu_s / self.capacity_s, 3),
        }
