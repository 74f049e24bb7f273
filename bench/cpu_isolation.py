"""Similarity latency while answer extraction runs: `python -m bench.cpu_isolation [--quick]`.

For each CPU-pool mode (`PIVOT_CPU_POOL=process`, the default, and `thread`, the old way), a fresh
service (`python -m service.cli serve`, the real e5 model) is probed with one fresh similarity pair
at a time (a cache miss each, 50 ms apart) and a /healthz request: first idle, then while
/v1/answer-consistency requests (1024 MGSM rollouts each, 2 in flight) run back to back. The target
(issue 14): similarity p99 under the consistency load within 2x of idle. Prints a table and writes
JSON to `<out>/cpu_isolation-<timestamp>.json` and `<out>/cpu_isolation-latest.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.procs import CpuMeter, metrics_snapshot, running, service_server
from bench.proctree import descendants
from bench.workload import DEFAULT_MGSM, build_workload

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 2.0


def percentiles(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0}
    ms = np.asarray(seconds) * 1000
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def consistency_items(count: int, mgsm: Path) -> list[dict[str, str]]:
    """MGSM rollouts in 10 languages, each checked against its English reference's answer."""
    workload = build_workload(count // 32 + 1, 32, mgsm_dir=mgsm, salt="cpu-isolation")
    items = [
        {"target_response": rollout, "lang": lang, "pivot_response": prompt.reference}
        for prompt in workload.prompts
        for rollout, lang in zip(prompt.rollouts, prompt.langs, strict=True)
    ]
    return items[:count]


class Probe:
    """One fresh similarity pair at a time, and /healthz, until stopped or `limit` reached."""

    def __init__(self, base: str, tag: str) -> None:
        self.base = base
        self.tag = tag
        self.counter = 0

    async def similarity(self, stop: asyncio.Event, limit: int) -> list[float]:
        latencies: list[float] = []
        async with httpx.AsyncClient(base_url=self.base, timeout=300) as client:
            while not stop.is_set() and len(latencies) < limit:
                self.counter += 1
                i = self.counter
                body = {
                    "pairs": [
                        {
                            "candidate": f"Sonde {self.tag} {i}: Janet verkauft {i} Eier am Markt.",
                            "reference": f"Probe {self.tag} {i}: Janet sells {i} eggs at the market.",
                        }
                    ]
                }
                started = time.perf_counter()
                response = await client.post("/v1/similarity", json=body)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
        return latencies

    async def healthz(self, stop: asyncio.Event, limit: int) -> list[float]:
        latencies: list[float] = []
        async with httpx.AsyncClient(base_url=self.base, timeout=60) as client:
            while not stop.is_set() and len(latencies) < limit:
                started = time.perf_counter()
                (await client.get("/healthz")).raise_for_status()
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
        return latencies


async def consistency_load(
    base: str, body: bytes, items: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    """Back-to-back consistency requests for `seconds` (each worker finishes its last one)."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    headers = {"content-type": "application/json"}

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=600) as client:
            while time.perf_counter() - started < seconds:
                t0 = time.perf_counter()
                response = await client.post(
                    "/v1/answer-consistency", content=body, headers=headers
                )
                key = str(response.status_code)
                statuses[key] = statuses.get(key, 0) + 1
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                elif response.status_code in (429, 503):
                    await asyncio.sleep(0.1)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "items_per_s": round(len(latencies) * items / elapsed, 1),
        "statuses": statuses,
        **percentiles(latencies),
    }


def measure(
    args: argparse.Namespace, mode: str, body: bytes, items: int, log_dir: Path
) -> dict[str, Any]:
    env = {
        "PIVOT_EMBEDDING_MODEL": args.model,
        "PIVOT_CPU_POOL": mode,
        "PIVOT_CPU_WORKERS": str(args.cpu_workers),
    }
    server = service_server(env, log_dir, f"cpu-isolation-{mode}")
    out: dict[str, Any] = {"mode": mode, "env": env}
    with running(server):
        out["startup_s"] = round(server.startup_seconds, 2)
        with httpx.Client(base_url=server.url, timeout=300) as client:  # warm both paths
            client.post(
                "/v1/similarity", json={"reference": "warm up", "candidates": ["aufwärmen"]}
            )
            client.post(
                "/v1/answer-consistency", content=body, headers={"content-type": "application/json"}
            )
        probe = Probe(server.url, mode)

        async def idle() -> dict[str, Any]:
            stop = asyncio.Event()
            sim = await probe.similarity(stop, args.probes)
            health = await probe.healthz(stop, args.probes)
            return {"similarity": percentiles(sim), "healthz": percentiles(health)}

        async def during() -> dict[str, Any]:
            stop = asyncio.Event()
            sim = asyncio.ensure_future(probe.similarity(stop, 10**6))
            health = asyncio.ensure_future(probe.healthz(stop, 10**6))
            load = await consistency_load(server.url, body, items, args.during_s, args.concurrency)
            stop.set()
            return {
                "similarity": percentiles(await sim),
                "healthz": percentiles(await health),
                "consistency": load,
            }

        ours = [server.pid, *descendants(server.pid)]  # the CPU workers are ours, not foreign
        with CpuMeter(ours) as meter:
            out["idle"] = asyncio.run(idle())
        out["idle"]["cpu"] = meter.summary()
        before = metrics_snapshot(server.url)
        with CpuMeter(ours) as meter:
            out["during"] = asyncio.run(during())
        out["during"]["cpu"] = meter.summary()
        after = metrics_snapshot(server.url)
        out["during"]["model_batches"] = int(
            sum(v for k, v in after.items() if k.startswith("pivot_batch_size_count"))
            - sum(v for k, v in before.items() if k.startswith("pivot_batch_size_count"))
        )
        out["peak_rss_mib"] = round(server.peak_rss() or 0, 1)
    idle_p99 = out["idle"]["similarity"].get("p99_ms")
    during_p99 = out["during"]["similarity"].get("p99_ms")
    out["p99_ratio"] = round(during_p99 / idle_p99, 2) if idle_p99 and during_p99 else None
    out["within_target"] = out["p99_ratio"] is not None and out["p99_ratio"] <= TARGET_RATIO
    return out


def render(results: dict[str, Any]) -> str:
    rows = [
        "| CPU pool | similarity p50 / p99 idle (ms) | p50 / p99 under consistency load (ms) | "
        "p99 ratio | /healthz p99 idle / load (ms) | consistency items/s | foreign CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, run in results["runs"].items():
        if "error" in run:
            rows.append(f"| {mode} | failed: {run['error']} | | | | | |")
            continue
        idle, during = run["idle"], run["during"]
        rows.append(
            f"| {mode} | {idle['similarity']['p50_ms']} / {idle['similarity']['p99_ms']} "
            f"| {during['similarity']['p50_ms']} / {during['similarity']['p99_ms']} "
            f"| {run['p99_ratio']}x{' (target <= 2x: met)' if run['within_target'] else ' (target <= 2x: NOT met)'} "
            f"| {idle['healthz']['p99_ms']} / {during['healthz']['p99_ms']} "
            f"| {during['consistency']['items_per_s']} "
            f"| {during['cpu']['foreign_cpu_fraction']:.0%} |"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cpu_isolation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer probes, 8 s of load")
    parser.add_argument("--modes", default="process,thread", help="CPU pool modes to compare")
    parser.add_argument("--model", default="multilingual-e5-small", help="PIVOT_EMBEDDING_MODEL")
    parser.add_argument("--items", type=int, default=1024, help="items per consistency request")
    parser.add_argument("--concurrency", type=int, default=2, help="consistency requests in flight")
    parser.add_argument("--cpu-workers", type=int, default=2, help="PIVOT_CPU_WORKERS")
    parser.add_argument("--probes", type=int, default=150, help="idle similarity probes")
    parser.add_argument("--during-s", type=float, default=30.0, help="seconds of consistency load")
    parser.add_argument("--mgsm", type=Path, default=DEFAULT_MGSM, help="MGSM folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where JSON goes")
    args = parser.parse_args(argv)
    if args.quick:
        args.probes, args.during_s = min(args.probes, 60), min(args.during_s, 8.0)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    items = consistency_items(args.items, args.mgsm)
    body = json.dumps({"items": items}, ensure_ascii=False).encode()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-cpu-isolation-"))
    results: dict[str, Any] = {
        "bench": "cpu_isolation",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "args": {k: str(v) for k, v in vars(args).items()},
        "items_per_request": len(items),
        "runs": {},
    }
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        print(f"cpu_isolation: {mode} pool ...", file=sys.stderr, flush=True)
        try:
            results["runs"][mode] = measure(args, mode, body, len(items), log_dir)
        except Exception as exc:  # recorded; the other mode still runs
            results["runs"][mode] = {"error": f"{type(exc).__name__}: {exc}"}
    results["log_dir"] = str(log_dir)
    table = render(results)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=2)
    (args.out / f"cpu_isolation-{stamp}.json").write_text(text)
    (args.out / "cpu_isolation-latest.json").write_text(text)
    print(f"JSON: {args.out / f'cpu_isolation-{stamp}.json'}; server logs: {log_dir}")
    return results


if __name__ == "__main__":
    main()
