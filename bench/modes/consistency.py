"""consistency: /v1/answer-consistency items/s, and latency probes idle and during its batches."""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

import httpx
import numpy as np

from bench.load import LoadResult, Request, json_request, load, run_load
from bench.procs import running
from bench.runner import Bench, loadavg, log
from bench.workload import build_workload


def run(bench: Bench) -> None:
    sizes = bench.sizes
    workload = build_workload(max(1, sizes.consistency_items // 32 + 1), 32, mgsm_dir=bench.mgsm)
    items_pool = [
        {"target_response": rollout, "lang": lang, "pivot_response": p.reference}
        for p in workload.prompts
        for rollout, lang in zip(p.rollouts, p.langs, strict=True)
    ]
    batch = items_pool[: sizes.consistency_items]
    body = json_request("/v1/answer-consistency", {"items": batch}, len(batch))
    big = [body] * sizes.consistency_requests
    out: dict[str, Any] = {
        "items_per_request": len(batch),
        "requests": len(big),
        "loadavg_before": loadavg(),
    }
    counter = iter(range(10**9))

    def probe_request() -> Request:
        i = next(counter)
        return json_request(
            "/v1/similarity",
            {
                "pairs": [
                    {
                        "candidate": f"Sonde {i}: Janet verkauft {i} Eier auf dem Markt.",
                        "reference": f"Probe {i}: Janet sells {i} eggs at the market.",
                    }
                ]
            },
            1,
        )

    async def probe_loop(
        base: str, stop: asyncio.Event, limit: int, path: str = "sim"
    ) -> list[float]:
        latencies: list[float] = []
        async with httpx.AsyncClient(base_url=base, timeout=300) as client:
            while not stop.is_set() and len(latencies) < limit:
                t0 = time.perf_counter()
                if path == "sim":
                    request = probe_request()
                    response = await client.post(
                        request.path,
                        content=request.body,
                        headers={"content-type": "application/json"},
                    )
                else:
                    response = await client.get("/healthz")
                response.raise_for_status()
                latencies.append(time.perf_counter() - t0)
                await asyncio.sleep(0.05)
        return latencies

    def pct(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"n": 0}
        arr = np.asarray(values) * 1000
        return {
            "n": len(values),
            "p50_ms": round(float(np.percentile(arr, 50)), 1),
            "p99_ms": round(float(np.percentile(arr, 99)), 1),
            "max_ms": round(float(arr.max()), 1),
        }

    async def during(base: str) -> dict[str, Any]:
        stop = asyncio.Event()
        sim = asyncio.create_task(probe_loop(base, stop, 10**6, "sim"))
        health = asyncio.create_task(probe_loop(base, stop, 10**6, "health"))
        # Keep a consistency batch in flight for at least `consistency_seconds`.
        items, seconds, latencies, rounds = 0, 0.0, [], 0
        while seconds < sizes.consistency_seconds and rounds < 100:
            result = await run_load(base, big, 2, deadline_s=bench.args.mode_timeout)
            items, seconds = items + result.items, seconds + result.seconds
            latencies += result.latencies
            rounds += 1
        stop.set()
        combined = LoadResult(len(latencies), items, seconds, latencies).summary()
        return {
            "consistency": combined,
            "similarity_probe": pct(await sim),
            "healthz_probe": pct(await health),
        }

    server = bench.service("consistency")
    log("consistency: starting service")
    try:
        with running(server):
            bench.warm_up(server)
            with httpx.Client(base_url=server.url, timeout=300) as client:
                client.post("/v1/answer-consistency", json={"items": batch[:16]})
            alone = load(server.url, big, 1, deadline_s=bench.args.mode_timeout)
            out["alone"] = alone.summary()
            log(f"consistency: alone {out['alone']['items_per_s']} items/s")

            async def idle() -> dict[str, Any]:
                stop = asyncio.Event()
                sim = await probe_loop(server.url, stop, sizes.probe_requests, "sim")
                health = await probe_loop(server.url, stop, sizes.probe_requests, "health")
                return {"similarity_probe": pct(sim), "healthz_probe": pct(health)}

            out["idle"] = asyncio.run(idle())
            out["during"] = asyncio.run(during(server.url))
            out["peak_rss_mib"] = round(server.peak_rss() or 0, 1)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    out["loadavg_after"] = loadavg()
    if "during" in out:
        per_request = out["alone"]["p50_ms"]
        out["items_per_s"] = out["alone"]["items_per_s"]
        out["items_per_s_with_probe"] = out["during"]["consistency"]["items_per_s"]
        during = out["during"]
        out["event_loop_responsive"] = during["healthz_probe"].get("p99_ms", 1e9) < 100
        out["similarity_stalled"] = (
            during["similarity_probe"].get("p99_ms", 0) >= during["consistency"]["p50_ms"]
        )
        out["consistency_request_p50_alone_ms"] = per_request
        log(
            f"consistency: {out['items_per_s']} items/s; similarity probe p99 idle "
            f"{out['idle']['similarity_probe'].get('p99_ms')} ms, during "
            f"{out['during']['similarity_probe'].get('p99_ms')} ms; healthz p99 during "
            f"{out['during']['healthz_probe'].get('p99_ms')} ms"
        )
    bench.results["consistency"] = out
