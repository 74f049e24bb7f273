"""Soak: mixed endpoints at a steady load below capacity, `python -m bench.soak [--duration-s 1200]`.

A fresh service (`python -m service.cli serve`, the real e5 model, CPU pool in worker processes)
gets an open-loop, fixed-rate stream of requests (a new one every 1/rate s, whatever the previous
ones do) mixing `/v1/similarity` (grouped and pairs), `/v1/answer-consistency`, `/v1/rewards`
(hybrid: embedding + gate + answers) and `/v1/rank`, built from MGSM rollouts; every rollout text is
new (references repeat per prompt, as in GRPO). Reported: errors (any non-200, 0 expected), latency
p50/p99 per window and its drift (last window / first window after warm-up), and the RSS of the
server and of its whole process tree (server + CPU workers, as PSS so pages the forked workers
share count once) sampled every 5 s (`--sample-s`): the slope after warm-up (linear fit, MiB/min). Prints a table; writes JSON to `<out>/soak-<timestamp>.json` and `<out>/soak-latest.json`.
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
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.procs import (
    _CLK_TCK,
    CpuMeter,
    _process_jiffies,
    _system_jiffies,
    metrics_snapshot,
    running,
    service_server,
)
from bench.proctree import descendants, thread_count, tree_rss_mib
from bench.workload import DEFAULT_MGSM, build_workload

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
# (route, kind) per slot of one cycle: the mix, ~5 texts to embed per request on average.
MIX = (
    ("/v1/similarity", "grouped"),
    ("/v1/answer-consistency", "consistency"),
    ("/v1/similarity", "pairs"),
    ("/v1/rewards", "rewards"),
    ("/v1/similarity", "grouped"),
    ("/v1/rank", "rank"),
    ("/v1/answer-consistency", "consistency"),
    ("/v1/rewards", "rewards"),
    ("/v1/similarity", "grouped"),
    ("/v1/similarity", "pairs"),
)


class Bodies:
    """Request bodies from MGSM: fresh rollout texts every time, references repeating."""

    def __init__(self, mgsm: Path) -> None:
        workload = build_workload(200, 8, mgsm_dir=mgsm, salt="soak")
        self.prompts = workload.prompts
        self.count = 0

    def make(self, kind: str) -> dict[str, Any]:
        self.count += 1
        n = self.count
        prompt = self.prompts[n % len(self.prompts)]
        tag = f" (#{n})"
        rollouts = [r + tag for r in prompt.rollouts]
        langs = prompt.langs
        answer = prompt.reference.rsplit(" ", 1)[-1].rstrip(".")
        if kind == "grouped":
            return {"reference": prompt.reference, "candidates": rollouts}
        if kind == "pairs":
            return {
                "pairs": [{"candidate": c, "reference": prompt.reference} for c in rollouts[:2]]
            }
        if kind == "consistency":
            many = [
                (r + f" [{k}]", lang)
                for k in range(8)
                for r, lang in zip(rollouts, langs, strict=True)
            ]
            return {
                "items": [
                    {"target_response": text, "lang": lang, "pivot_response": prompt.reference}
                    for text, lang in many
                ]
            }
        if kind == "rewards":
            return {
                "preset": "hybrid",
                "items": [
                    {
                        "response": r,
                        "lang": lang,
                        "reference": prompt.reference,
                        "pivot_answer": answer,
                    }
                    for r, lang in list(zip(rollouts, langs, strict=True))[:4]
                ],
            }
        return {
            "candidates": [
                {"response": r, "lang": lang}
                for r, lang in list(zip(rollouts, langs, strict=True))[:4]
            ],
            "reference": prompt.reference,
        }


async def drive(
    base: str, bodies: Bodies, rate: float, duration_s: float, max_in_flight: int
) -> tuple[list[dict[str, Any]], int]:
    """Open loop: request i is sent at i / rate seconds (skipped, counted, if too many in flight)."""
    records: list[dict[str, Any]] = []
    skipped = 0
    in_flight = 0
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    started = time.perf_counter()

    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(i: int, route: str, kind: str, body: dict[str, Any]) -> None:
            nonlocal in_flight
            t0 = time.perf_counter()
            record: dict[str, Any] = {"i": i, "route": route, "kind": kind, "t": t0 - started}
            try:
                response = await client.post(route, json=body)
                record["status"] = response.status_code
                if response.status_code != 200:
                    record["error"] = response.text[:300]
            except httpx.HTTPError as exc:
                record["status"] = type(exc).__name__
            record["latency"] = time.perf_counter() - t0
            records.append(record)
            in_flight -= 1

        tasks = []
        i = 0
        while True:
            due = started + i / rate
            now = time.perf_counter()
            if due - started >= duration_s:
                break
            if due > now:
                await asyncio.sleep(due - now)
            route, kind = MIX[i % len(MIX)]
            if in_flight >= max_in_flight:
                skipped += 1
            else:
                in_flight += 1
                tasks.append(asyncio.ensure_future(one(i, route, kind, bodies.make(kind))))
            i += 1
        await asyncio.gather(*tasks)
    return records, skipped


def windows(
    records: list[dict[str, Any]],
    window_s: float,
    warmup_s: float,
    foreign: list[tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """Per window: requests, errors, p50/p99, and other processes' share of the machine."""
    out = []
    end = max((r["t"] for r in records), default=0.0)
    start = 0.0
    while start <= end:
        part = [r for r in records if start <= r["t"] < start + window_s]
        ok = [r["latency"] * 1000 for r in part if r.get("status") == 200]
        entry: dict[str, Any] = {
            "start_s": round(start, 1),
            "after_warmup": start >= warmup_s,
            "requests": len(part),
            "errors": sum(1 for r in part if r.get("status") != 200),
        }
        if ok:
            entry["p50_ms"] = round(float(np.percentile(ok, 50)), 1)
            entry["p99_ms"] = round(float(np.percentile(ok, 99)), 1)
        shares = [f for t, f in foreign or [] if start <= t < start + window_s]
        if shares:
            entry["foreign_cpu"] = round(float(np.mean(shares)), 3)
        out.append(entry)
        start += window_s
    return out


def slope(
    samples: list[tuple[float, float, float, int]], warmup_s: float, column: int
) -> dict[str, Any]:
    after = [(t, s[column - 1]) for t, *s in samples if t >= warmup_s]
    if len(after) < 3:
        return {"samples": len(after)}
    minutes = np.asarray([t for t, _ in after]) / 60
    mib = np.asarray([v for _, v in after])
    fit = np.polyfit(minutes, mib, 1)
    half = len(after) // 2
    late_fit = np.polyfit(minutes[half:], mib[half:], 1) if len(after) - half >= 3 else fit
    # The largest rise within one minute: allocator high-water marks move in steps (a burst of
    # larger batches), a leak grows steadily.
    per_minute = max(1, round(1 / max(float(np.median(np.diff(minutes))), 1e-9)))
    steps = mib[per_minute:] - mib[:-per_minute] if len(mib) > per_minute else np.zeros(1)
    return {
        "slope_second_half_mib_per_min": round(float(late_fit[0]), 3),
        "largest_rise_in_1_min_mib": round(float(steps.max()), 1),
        "samples": len(after),
        "slope_mib_per_min": round(float(fit[0]), 3),
        "first_mib": round(float(mib[0]), 1),
        "last_mib": round(float(mib[-1]), 1),
        "min_mib": round(float(mib.min()), 1),
        "max_mib": round(float(mib.max()), 1),
        "growth_pct": round(float((mib[-1] - mib[0]) / mib[0] * 100), 2),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration-s", type=float, default=1200.0, help="load duration (20 min)")
    parser.add_argument(
        "--warmup-s", type=float, default=None, help="default: 15%% of duration, <= 180"
    )
    parser.add_argument(
        "--rate", type=float, default=3.5, help="requests per second (open loop; ~40%% of 2 cores)"
    )
    parser.add_argument(
        "--cache-mb",
        type=float,
        default=4.0,
        help="PIVOT_EMBEDDING_CACHE_MB: small, so the cache is full before warm-up ends and RSS "
        "growth after it is not the (bounded) cache filling",
    )
    parser.add_argument("--window-s", type=float, default=60.0, help="latency window")
    parser.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling interval")
    parser.add_argument("--max-in-flight", type=int, default=64, help="beyond it a send is skipped")
    parser.add_argument("--model", default="multilingual-e5-small", help="PIVOT_EMBEDDING_MODEL")
    parser.add_argument("--mgsm", type=Path, default=DEFAULT_MGSM, help="MGSM folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where JSON goes")
    args = parser.parse_args(argv)
    if args.warmup_s is None:
        args.warmup_s = min(180.0, 0.15 * args.duration_s)
    return args


def render(result: dict[str, Any]) -> str:
    s = result["summary"]
    rss, tree = result["rss"]["server"], result["rss"]["tree"]
    lines = [
        f"soak: {s['duration_s']:.0f} s at {s['rate']}/s, {s['requests']} requests "
        f"({s['per_route']}), warm-up {s['warmup_s']:.0f} s",
        "",
        "| figure | value |",
        "|---|---|",
        f"| errors (non-200 or transport) | {s['errors']} |",
        f"| sends skipped (over {s['max_in_flight']} in flight) | {s['skipped']} |",
        f"| latency p50 / p99, all requests after warm-up (ms) | {s['p50_ms']} / {s['p99_ms']} |",
        f"| p99 first / last / max window after warm-up (ms) | {s['p99_first_window_ms']} / "
        f"{s['p99_last_window_ms']} / {s['p99_max_window_ms']} |",
        f"| p99 drift (last / first window) | {s['p99_drift']}x |",
        f"| server RSS after warm-up: first / last / max (MiB) | {rss.get('first_mib')} / "
        f"{rss.get('last_mib')} / {rss.get('max_mib')} |",
        f"| server RSS slope after warm-up: all / second half | {rss.get('slope_mib_per_min')} / "
        f"{rss.get('slope_second_half_mib_per_min')} MiB/min |",
        f"| server RSS largest rise within 1 min | {rss.get('largest_rise_in_1_min_mib')} MiB |",
        f"| process tree PSS (server + CPU workers): first / last (MiB), slope | {tree.get('first_mib')} "
        f"/ {tree.get('last_mib')}, {tree.get('slope_mib_per_min')} MiB/min |",
        f"| server CPU use / other processes' share of the machine | "
        f"{s['cpu']['ours_cpu_fraction']:.0%} / {s['cpu']['foreign_cpu_fraction']:.0%} |",
    ]
    lines += [
        "",
        "| window start (s) | requests | errors | p50 ms | p99 ms | other processes' CPU |",
    ]
    lines += ["|---:|---:|---:|---:|---:|---:|"]
    for w in result["windows"]:
        lines.append(
            f"| {w['start_s']:.0f}{'' if w['after_warmup'] else ' (warm-up)'} | {w['requests']} | "
            f"{w['errors']} | {w.get('p50_ms')} | {w.get('p99_ms')} | "
            f"{w['foreign_cpu']:.0%} |"
            if "foreign_cpu" in w
            else f"| {w['start_s']:.0f} | {w['requests']} | {w['errors']} | {w.get('p50_ms')} | "
            f"{w.get('p99_ms')} | - |"
        )
    lines += ["", "| route | requests | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for route, entry in s["routes"].items():
        lines.append(f"| {route} | {entry['requests']} | {entry['p50_ms']} | {entry['p99_ms']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    bodies = Bodies(args.mgsm)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    env = {"PIVOT_EMBEDDING_MODEL": args.model, "PIVOT_EMBEDDING_CACHE_MB": str(args.cache_mb)}
    server = service_server(env, log_dir, "soak")
    samples: list[tuple[float, float, float, int]] = []  # (t, server RSS, tree PSS, threads)
    foreign: list[tuple[float, float]] = []  # (t, other processes' share of the machine)
    stop = threading.Event()
    with running(server):
        with httpx.Client(base_url=server.url, timeout=300) as client:
            for kind in ("grouped", "consistency", "rewards", "rank"):
                route = next(r for r, k in MIX if k == kind)
                client.post(route, json=bodies.make(kind)).raise_for_status()
        t0 = time.perf_counter()

        def sample() -> None:
            busy0, _ = _system_jiffies()

            def ours_jiffies() -> int:
                members: list[int | str] = [server.pid, *descendants(server.pid), "self"]
                return sum(_process_jiffies(p) for p in members)

            ours0 = ours_jiffies()
            while not stop.wait(args.sample_s):
                now = time.perf_counter() - t0
                main_mib, tree_mib = tree_rss_mib(server.pid)
                samples.append((now, main_mib, tree_mib, thread_count(server.pid)))
                busy, _ = _system_jiffies()
                ours = ours_jiffies()
                capacity = args.sample_s * (os.cpu_count() or 1) * _CLK_TCK
                foreign.append((now, max(0.0, (busy - busy0 - (ours - ours0)) / capacity)))
                busy0, ours0 = busy, ours

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        print(f"soak: {args.duration_s:.0f} s at {args.rate}/s ...", file=sys.stderr, flush=True)
        with CpuMeter([server.pid, *descendants(server.pid)]) as meter:
            records, skipped = asyncio.run(
                drive(server.url, bodies, args.rate, args.duration_s, args.max_in_flight)
            )
        stop.set()
        sampler.join(10)
        final_metrics = metrics_snapshot(server.url)
    after = [r for r in records if r["t"] >= args.warmup_s and r.get("status") == 200]
    lat = [r["latency"] * 1000 for r in after] or [0.0]
    per_window = windows(records, args.window_s, args.warmup_s, foreign)
    # The last window may be partial (the run ends inside it): drift compares full windows.
    full = [
        w
        for w in per_window
        if w["after_warmup"] and "p99_ms" in w and w["start_s"] + args.window_s <= args.duration_s
    ]
    routes: dict[str, Any] = {}
    for route in sorted({r["route"] for r in records}):
        ok = [r["latency"] * 1000 for r in after if r["route"] == route] or [0.0]
        routes[route] = {
            "requests": sum(1 for r in records if r["route"] == route),
            "p50_ms": round(float(np.percentile(ok, 50)), 1),
            "p99_ms": round(float(np.percentile(ok, 99)), 1),
        }
    errors = [r for r in records if r.get("status") != 200]
    summary = {
        "duration_s": args.duration_s,
        "warmup_s": args.warmup_s,
        "rate": args.rate,
        "max_in_flight": args.max_in_flight,
        "requests": len(records),
        "per_route": {k: v["requests"] for k, v in routes.items()},
        "errors": len(errors),
        "error_samples": [{k: r.get(k) for k in ("route", "status", "error")} for r in errors[:5]],
        "skipped": skipped,
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "p99_first_window_ms": full[0]["p99_ms"] if full else None,
        "p99_last_window_ms": full[-1]["p99_ms"] if full else None,
        "p99_max_window_ms": max((w["p99_ms"] for w in full), default=None),
        "p99_drift": round(full[-1]["p99_ms"] / full[0]["p99_ms"], 2) if full else None,
        "routes": routes,
        "cpu": meter.summary(),
    }
    result = {
        "bench": "soak",
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "args": {k: str(v) for k, v in vars(args).items()},
        "summary": summary,
        "rss": {
            "server": slope(samples, args.warmup_s, 1),
            "tree": slope(samples, args.warmup_s, 2),
            "samples": [(round(t, 1), round(a, 1), round(b, 1), n) for t, a, b, n in samples],
            "server_threads_first_last": [samples[0][3], samples[-1][3]] if samples else None,
        },
        "windows": per_window,
        "server_metrics": {
            k: v
            for k, v in final_metrics.items()
            if k.startswith(("pivot_requests_total", "pivot_rejected_total", "pivot_isolated"))
        },
        "log_dir": str(log_dir),
    }
    print(render(result))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    text = json.dumps(result, indent=2)
    (args.out / f"soak-{stamp}.json").write_text(text)
    (args.out / "soak-latest.json").write_text(text)
    print(f"JSON: {args.out / f'soak-{stamp}.json'}; server log: {log_dir}")
    return result


if __name__ == "__main__":
    main()
