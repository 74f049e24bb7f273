"""Prometheus metrics, one registry per app instance (so tests can build many apps)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
DEPTH_BUCKETS = (0, 1, 8, 32, 128, 512, 2048, 8192, 32768)


class Metrics:
    """All service metrics; also the batching and cache observer."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pivot_requests_total",
            "HTTP requests by route and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "pivot_request_latency_seconds",
            "HTTP request latency.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_time = Histogram(
            "pivot_queue_time_seconds",
            "Time items wait in a model queue.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "pivot_batch_size",
            "Items per model call.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            "pivot_batch_seconds",
            "Model time per batch.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth_gauge = Gauge(
            "pivot_queue_depth", "Items waiting in a model queue.", ["model"], registry=r
        )
        self.queue_depth_hist = Histogram(
            "pivot_queue_depth_observed",
            "Queue depth seen at enqueue/dequeue.",
            ["model"],
            buckets=DEPTH_BUCKETS,
            registry=r,
        )
        self.rejections = Counter(
            "pivot_rejected_total",
            "Requests rejected before queueing.",
            ["model", "reason"],
            registry=r,
        )
        self.cache_hits = Counter(
            "pivot_embedding_cache_hits_total", "Embedding cache hits.", ["model"], registry=r
        )
        self.cache_misses = Counter(
            "pivot_embedding_cache_misses_total",
            "Texts embedded by the model (not in the cache, not being embedded for another request).",
            ["model"],
            registry=r,
        )
        self.cache_shared = Counter(
            "pivot_embedding_inflight_shared_total",
            "Texts taken from another request that was embedding them at the same time.",
            ["model"],
            registry=r,
        )
        self.translation_cache_hits = Counter(
            "pivot_translation_cache_hits_total", "Translation cache hits.", ["model"], registry=r
        )
        self.translation_cache_misses = Counter(
            "pivot_translation_cache_misses_total",
            "Texts translated by the model.",
            ["model"],
            registry=r,
        )
        self.items = Counter(
            "pivot_items_scored_total", "Items scored, by endpoint.", ["route"], registry=r
        )
        self.null_rewards = Counter(
            "pivot_null_rewards_total",
            "Reward items that got reward null, by endpoint and reason.",
            ["route", "reason"],
            registry=r,
        )
        self.truncated_items = Counter(
            "pivot_truncated_items_total",
            "Reward items with a text cut to PIVOT_MAX_TEXT_CHARS, by endpoint.",
            ["route"],
            registry=r,
        )
        self.isolated_failures = Counter(
            "pivot_isolated_failures_total",
            "Model inputs that failed on their own after a failed batch was retried in halves.",
            ["model"],
            registry=r,
        )
        self.batch_retries = Counter(
            "pivot_batch_retries_total",
            "Model calls re-run on half a failed batch (poison isolation).",
            ["model"],
            registry=r,
        )
        self.cpu_pending_items = Gauge(
            "pivot_cpu_pending_items",
            "Items admitted to the CPU pool (answer extraction, gate) and not finished.",
            registry=r,
        )
        self.cpu_chunk_seconds = Histogram(
            "pivot_cpu_chunk_seconds",
            "Time per CPU-pool chunk, queueing for a worker excluded.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cpu_dropped = Counter(
            "pivot_cpu_chunks_dropped_total",
            "CPU-pool chunks never run because their request ended first (deadline, disconnect).",
            registry=r,
        )

    def rewards_scored(
        self, route: str, reasons: Sequence[str | None], truncated: Sequence[bool]
    ) -> None:
        """Count scored reward items, their null reasons and their cut texts."""
        self.items.labels(route).inc(len(reasons))
        for reason in reasons:
            if reason is not None:
                self.null_rewards.labels(route, reason).inc()
        if cut := sum(truncated):
            self.truncated_items.labels(route).inc(cut)

    # --- BatchObserver ---
    def queue_depth(self, model: str, depth: int) -> None:
        self.queue_depth_gauge.labels(model).set(depth)
        self.queue_depth_hist.labels(model).observe(depth)

    def batch_done(
        self, model: str, size: int, queue_waits: Sequence[float], seconds: float
    ) -> None:
        self.batch_size.labels(model).observe(size)
        self.batch_seconds.labels(model).observe(seconds)
        histogram = self.queue_time.labels(model)
        for wait in queue_waits:
            histogram.observe(wait)

    def rejected(self, model: str, reason: str) -> None:
        self.rejections.labels(model, reason).inc()

    def batch_retried(self, model: str, size: int) -> None:
        self.batch_retries.labels(model).inc()

    def isolated_failure(self, model: str, cost: int) -> None:
        self.isolated_failures.labels(model).inc()

    # --- CpuObserver ---
    def cpu_pending(self, items: int) -> None:
        self.cpu_pending_items.set(items)

    def cpu_rejected(self, reason: str) -> None:
        self.rejections.labels("cpu", reason).inc()

    def cpu_chunk_done(self, items: int, seconds: float) -> None:
        self.cpu_chunk_seconds.observe(seconds)

    def cpu_chunks_dropped(self, chunks: int) -> None:
        self.cpu_dropped.inc(chunks)

    # --- CacheObserver ---
    def cache_lookups(
        self, cache: str, model: str, *, hits: int, misses: int, shared: int = 0
    ) -> None:
        if cache == "translation":
            counters = [
                (self.translation_cache_hits, hits),
                (self.translation_cache_misses, misses),
            ]
        else:
            counters = [
                (self.cache_hits, hits),
                (self.cache_misses, misses),
                (self.cache_shared, shared),
            ]
        for counter, count in counters:
            if count:
                counter.labels(model).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
