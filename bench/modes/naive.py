"""naive-batched and naive-single: bench/naive_server.py, one `encode` per request, same requests."""

from __future__ import annotations

from collections.abc import Sequence

from bench.procs import naive_server
from bench.runner import Bench


def run_batched(bench: Bench) -> None:
    for key, workload in (("g8", bench.g8), ("g32", bench.g32)):
        bench.http_mode(
            f"naive-batched-{key}",
            lambda key=key: naive_server(bench.model_dir, bench.log_dir, f"batched-{key}"),
            bench.pairs_requests(workload),
            bench.sizes.batched_concurrency,
            workload.all_texts(),
            warm=lambda s: bench.warm_up(s),
            extra={"form": "pairs[G], one request per prompt; encodes 2 texts per pair"},
        )


def run_single(bench: Bench, concurrencies: Sequence[int] = (64,)) -> None:
    for concurrency in concurrencies:
        bench.http_mode(
            f"naive-single-c{concurrency}",
            lambda c=concurrency: naive_server(bench.model_dir, bench.log_dir, f"single-c{c}"),
            bench.single_requests(bench.g8),
            concurrency,
            bench.g8.all_texts(),
            extra={"form": "one pair per request, G=8 workload"},
        )
