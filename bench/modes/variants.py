"""variants: the service with a proposed change patched in (bench/service_variants.py)."""

from __future__ import annotations

from bench.runner import Bench


def run(bench: Bench) -> None:
    """What-if: the proposed service changes, measured on the same workloads."""
    for spec in bench.args.variants:
        variant, _, env_text = spec.partition("+")
        variant = variant.replace(":", ",")  # several patches: tokfix:subbatch16
        env = dict(kv.split("=", 1) for kv in env_text.split("+") if kv)
        tag = f"[{spec}]"
        bench.http_mode(
            f"service-batched-g8{tag}",
            lambda v=variant, e=env: bench.service("variant-g8", v or None, **e),
            bench.grouped_requests(bench.g8),
            bench.sizes.batched_concurrency,
            bench.g8.unique_texts(),
            extra={"form": "grouped, G=8", "variant": spec},
        )
        bench.http_mode(
            f"service-batched-g32{tag}",
            lambda v=variant, e=env: bench.service("variant-g32", v or None, **e),
            bench.grouped_requests(bench.g32),
            bench.sizes.batched_concurrency,
            bench.g32.unique_texts(),
            extra={"form": "grouped, G=32", "variant": spec},
        )
        bench.http_mode(
            f"service-single-c256{tag}",
            lambda v=variant, e=env: bench.service("variant-c256", v or None, **e),
            bench.single_requests(bench.g8),
            256,
            bench.g8.unique_texts(),
            extra={"form": "one pair per request, G=8", "variant": spec},
        )
