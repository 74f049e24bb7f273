"""memory: RSS while rounds of new texts pass a service whose embedding-cache bound is hit half way."""

from __future__ import annotations

import time
import traceback
from typing import Any

from bench.load import load
from bench.procs import running
from bench.runner import EMBED_DIM_BYTES, Bench, loadavg, log
from bench.workload import build_workload


def run(bench: Bench) -> None:
    sizes = bench.sizes
    cache_mb = sizes.memory_cache_mb
    cache_bytes = int(cache_mb * 1024 * 1024)
    out: dict[str, Any] = {
        "cache_mb": cache_mb,
        "rounds": sizes.memory_rounds,
        "loadavg_before": loadavg(),
    }
    server = bench.service("memory", PIVOT_EMBEDDING_CACHE_MB=str(cache_mb))
    samples: list[dict[str, Any]] = []
    filled = 0
    bound_round: int | None = None
    try:
        with running(server):
            bench.warm_up(server)
            samples.append(
                {"round": 0, "rss_mib": round(server.rss() or 0, 1), "cache_est_bytes": 0}
            )
            started = time.perf_counter()
            for r in range(1, sizes.memory_rounds + 1):
                workload = build_workload(
                    sizes.memory_prompts,
                    8,
                    mgsm_dir=bench.mgsm,
                    start=(50 + r * sizes.memory_prompts) % 250,
                    salt=f"mem{r}",
                )
                load(
                    server.url,
                    bench.grouped_requests(workload),
                    sizes.batched_concurrency,
                    deadline_s=bench.args.mode_timeout,
                )
                for text in workload.unique_texts():
                    filled += len(text.encode("utf-8")) + EMBED_DIM_BYTES + 200
                if bound_round is None and filled >= cache_bytes:
                    bound_round = r
                samples.append(
                    {
                        "round": r,
                        "rss_mib": round(server.rss() or 0, 1),
                        "cache_est_bytes": min(filled, cache_bytes),
                        "elapsed_s": round(time.perf_counter() - started, 1),
                    }
                )
            out["peak_rss_mib"] = round(server.peak_rss() or 0, 1)
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    out["samples"] = samples
    out["bound_reached_round"] = bound_round
    out["unique_texts"] = sizes.memory_rounds * sizes.memory_prompts * 9
    if bound_round is not None and len(samples) > bound_round:
        at_bound = samples[bound_round]["rss_mib"]
        middle = samples[(bound_round + len(samples) - 1) // 2]["rss_mib"]
        end = samples[-1]["rss_mib"]
        out["rss_start_mib"] = samples[0]["rss_mib"]
        out["rss_at_bound_mib"] = at_bound
        out["rss_middle_mib"] = middle
        out["rss_end_mib"] = end
        after = [s["rss_mib"] for s in samples[bound_round:]]
        out["growth_after_bound"] = round(end / at_bound - 1, 4) if at_bound else None
        out["max_over_bound"] = round(max(after) / at_bound - 1, 4) if at_bound else None
        log(f"memory: RSS at bound {at_bound} MiB, middle {middle}, end {end}")
    out["loadavg_after"] = loadavg()
    bench.results["memory"] = out
