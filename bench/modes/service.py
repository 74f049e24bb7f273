"""service-batched and service-single: the service on GRPO groups and on one pair per request."""

from __future__ import annotations

import numpy as np

from bench.runner import Bench


def run_batched(bench: Bench) -> None:
    for key, workload in (("g8", bench.g8), ("g32", bench.g32)):
        result = bench.http_mode(
            f"service-batched-{key}",
            lambda key=key: bench.service(f"batched-{key}"),
            bench.grouped_requests(workload),
            bench.sizes.batched_concurrency,
            workload.unique_texts(),
            keep=bench.keep_scores,
            extra={"form": "grouped {reference, candidates[G]}, one request per prompt"},
        )
        if result is not None:
            bench.reference_scores[f"service-{key}"] = np.array(
                [s for scores in result.responses if scores for s in scores]
            )


def run_single(bench: Bench) -> None:
    for concurrency in bench.sizes.single_concurrency:
        bench.http_mode(
            f"service-single-c{concurrency}",
            lambda c=concurrency: bench.service(f"single-c{c}"),
            bench.single_requests(bench.g8),
            concurrency,
            bench.g8.unique_texts(),
            extra={"form": "one pair per request (OpenRLHF style), G=8 workload"},
        )
