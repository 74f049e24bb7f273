"""flops: the best fp32 2048x2048 matmul GFLOP/s over 3 s, the "peak" for the FLOP/s shares."""

from __future__ import annotations

import time
from typing import Any

from bench.runner import Bench, loadavg, log


def measure_matmul_gflops(size: int = 2048, seconds: float = 3.0) -> dict[str, Any]:
    import torch

    a = torch.randn(size, size, dtype=torch.float32)
    b = torch.randn(size, size, dtype=torch.float32)
    for _ in range(3):
        a @ b
    best = 0.0
    runs = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t0 = time.perf_counter()
        a @ b
        elapsed = time.perf_counter() - t0
        best = max(best, 2.0 * size**3 / elapsed / 1e9)
        runs += 1
    return {
        "size": size,
        "dtype": "float32",
        "threads": torch.get_num_threads(),
        "best_gflops": round(best, 1),
        "runs": runs,
        "loadavg": loadavg(),
    }


def run(bench: Bench) -> None:
    log("flops: 2048x2048 fp32 matmul")
    _, result, cpu = bench.timed("flops", measure_matmul_gflops)
    bench.results["flops"] = {**result, "cpu": cpu}
    log(f"flops: {bench.results['flops']['best_gflops']} GFLOP/s")
