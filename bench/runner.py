"""The shared runner of bench/: workload sizes, the model helpers and one HTTP mode's life.

`Bench` holds what every mode needs (the model folder, the two GRPO workloads, the results dict,
noise-aware timing, a fresh server per HTTP mode with CPU accounting); each mode is a function
`run(bench)` in `bench/modes/` that writes its figures into `bench.results`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.load import LoadResult, Request, json_request, load
from bench.procs import (
    CpuMeter,
    Server,
    metric_sum,
    metrics_snapshot,
    running,
    service_server,
)
from bench.targets import compute_targets
from bench.workload import Workload, build_workload

EMBED_DIM_BYTES = 384 * 4
Mode = Callable[["Bench"], None]


@dataclass(frozen=True)
class Sizes:
    """Workload sizes of a run (`--quick` or full)."""

    prompts_g8: int
    prompts_g32: int
    batched_concurrency: int
    single_concurrency: tuple[int, ...]
    consistency_requests: int
    consistency_items: int
    consistency_seconds: float
    probe_requests: int
    translation_texts: int
    translation_request: int
    memory_rounds: int
    memory_prompts: int
    memory_cache_mb: float
    tune_texts: int
    retrieval_problems: int


QUICK = Sizes(
    prompts_g8=16,
    prompts_g32=4,
    batched_concurrency=4,
    single_concurrency=(64, 256),
    consistency_requests=2,
    consistency_items=512,
    consistency_seconds=6.0,
    probe_requests=20,
    translation_texts=256,
    translation_request=64,
    memory_rounds=6,
    memory_prompts=4,
    memory_cache_mb=0.25,
    tune_texts=48,
    retrieval_problems=40,
)
FULL = Sizes(
    prompts_g8=64,
    prompts_g32=16,
    batched_concurrency=4,
    single_concurrency=(64, 256),
    consistency_requests=6,
    consistency_items=1024,
    consistency_seconds=20.0,
    probe_requests=40,
    translation_texts=1024,
    translation_request=128,
    memory_rounds=12,
    memory_prompts=8,
    memory_cache_mb=1.0,
    tune_texts=128,
    retrieval_problems=100,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------------------------
# Model arithmetic
# --------------------------------------------------------------------------------------------


@dataclass
class ModelShape:
    params_nonembedding: int
    layers: int
    hidden: int

    def flops(self, token_counts: Sequence[int]) -> float:
        """Forward FLOPs of real (unpadded) tokens: 2 N t for the weights, 4 L d t^2 for attention."""
        total = 0.0
        for t in token_counts:
            total += 2.0 * self.params_nonembedding * t + 4.0 * self.layers * self.hidden * t * t
        return total


# --------------------------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = QUICK if args.quick else FULL
        self.modes = set(args.modes)
        self.log_dir = Path(tempfile.mkdtemp(prefix="pivot-bench-"))
        self.results: dict[str, Any] = {}
        self._st_model: Any = None
        self._shape: ModelShape | None = None
        self._tokens_cache: dict[str, int] = {}
        self.service_env = dict(kv.split("=", 1) for kv in args.service_env)

        from models.registry import ensure_model
        from service.settings import Settings

        self.settings_fields = set(Settings.model_fields)
        cache_dir = Path(os.environ.get("PIVOT_CACHE_DIR", Path.home() / ".cache" / "pivot-reward"))
        self.model_dir = Path(ensure_model(args.model, cache_dir, progress=True))
        self.cache_dir = cache_dir
        self.bench_cache = cache_dir / "bench"
        self.mgsm = Path(args.mgsm)
        self.g8 = build_workload(self.sizes.prompts_g8, 8, mgsm_dir=self.mgsm)
        self.g32 = build_workload(self.sizes.prompts_g32, 32, mgsm_dir=self.mgsm)
        self.reference_scores: dict[str, np.ndarray] = {}  # per-pair scores, by source
        # fp32 in-process vectors by text (the inproc mode fills it; infinity compares to it)
        self.fp32_vectors: dict[str, np.ndarray] = {}

    # --- model helpers ----------------------------------------------------------------------

    @property
    def st_model(self) -> Any:
        if self._st_model is None:
            from sentence_transformers import SentenceTransformer

            self._st_model = SentenceTransformer(
                str(self.model_dir), device="cpu", local_files_only=True
            )
            self._st_model.eval()
        return self._st_model

    @property
    def shape(self) -> ModelShape:
        if self._shape is None:
            model = self.st_model
            n = sum(
                p.numel()
                for name, p in model.named_parameters()
                if "embeddings" not in name and "pooler" not in name
            )
            config = model[0].auto_model.config
            self._shape = ModelShape(int(n), int(config.num_hidden_layers), int(config.hidden_size))
        return self._shape

    @property
    def prompt(self) -> str:
        prompts = getattr(self.st_model, "prompts", None) or {}
        return str(prompts.get("query", ""))

    def tokens(self, texts: Sequence[str]) -> list[int]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._tokens_cache]
        if missing:
            encoded = self.st_model.tokenizer(
                [self.prompt + t for t in missing], add_special_tokens=True
            )["input_ids"]
            for text, ids in zip(missing, encoded, strict=True):
                self._tokens_cache[text] = min(len(ids), 512)
        return [self._tokens_cache[t] for t in texts]

    def compute_figures(self, texts_embedded: Sequence[str], seconds: float) -> dict[str, Any]:
        counts = self.tokens(texts_embedded)
        flops = self.shape.flops(counts)
        peak = self.results.get("flops", {}).get("best_gflops")
        gflops = flops / seconds / 1e9 if seconds else 0.0
        return {
            "model_texts": len(texts_embedded),
            "model_tokens": int(sum(counts)),
            "model_tokens_per_s": round(sum(counts) / seconds, 1) if seconds else None,
            "model_gflops": round(gflops, 1),
            "share_of_peak_flops": round(gflops / peak, 3) if peak else None,
        }

    def encode(self, model: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vectors = model.encode(
                list(texts),
                prompt_name="query",
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def timed(self, label: str, func: Callable[[], Any]) -> tuple[float, Any, dict[str, float]]:
        """Run `func` under a CPU meter; repeat when the machine was noisy; keep the cleanest run."""
        runs: list[tuple[float, Any, dict[str, float]]] = []
        for _ in range(1 + self.args.noise_retries):
            with CpuMeter() as meter:
                t0 = time.perf_counter()
                value = func()
                seconds = time.perf_counter() - t0
            runs.append((seconds, value, meter.summary()))
            if runs[-1][2]["foreign_cpu_fraction"] <= self.args.max_foreign:
                break
            log(
                f"{label}: other processes took {runs[-1][2]['foreign_cpu_fraction']:.0%} of the "
                "CPU; measuring again"
            )
        return min(runs, key=lambda r: r[2]["foreign_cpu_fraction"])

    def calibration(self) -> Any:
        from service.scoring.calibration import BUILTIN_CALIBRATIONS, UNCALIBRATED, load_calibration

        return (
            load_calibration(self.model_dir)
            or BUILTIN_CALIBRATIONS.get(self.args.model)
            or UNCALIBRATED
        )

    def pair_scores(self, workload: Workload, vectors: dict[str, np.ndarray]) -> np.ndarray:
        cosines = np.array(
            [float(np.dot(vectors[c], vectors[r])) for c, r in workload.iter_pairs()]
        )
        return np.asarray(self.calibration().score(cosines))

    # --- workloads as requests --------------------------------------------------------------

    @staticmethod
    def grouped_requests(workload: Workload) -> list[Request]:
        return [
            json_request(
                "/v1/similarity",
                {"reference": p.reference, "candidates": p.rollouts},
                len(p.rollouts),
            )
            for p in workload.prompts
        ]

    @staticmethod
    def pairs_requests(workload: Workload) -> list[Request]:
        return [
            json_request(
                "/v1/similarity",
                {"pairs": [{"candidate": c, "reference": p.reference} for c in p.rollouts]},
                len(p.rollouts),
            )
            for p in workload.prompts
        ]

    @staticmethod
    def single_requests(workload: Workload) -> list[Request]:
        return [
            json_request("/v1/similarity", {"pairs": [{"candidate": c, "reference": r}]}, 1)
            for c, r in workload.iter_pairs()
        ]

    # --- running one HTTP mode --------------------------------------------------------------

    def warm_up(self, server: Server, path: str = "/v1/similarity", body: Any = None) -> None:
        """Two realistic requests on texts outside every workload (MGSM problems 0-1, tagged)."""
        warm = build_workload(2, 8, mgsm_dir=self.mgsm, start=0, salt="warm-up")
        with httpx.Client(base_url=server.url, timeout=300) as client:
            for prompt in warm.prompts:
                pairs = [{"candidate": c, "reference": prompt.reference} for c in prompt.rollouts]
                client.post(path, json=body or {"pairs": pairs}).raise_for_status()

    def http_mode(
        self,
        name: str,
        make_server: Callable[[], Server],
        requests: list[Request],
        concurrency: int,
        texts_embedded: Sequence[str],
        *,
        keep: Callable[[Any], Any] | None = None,
        warm: Callable[[Server], None] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> LoadResult | None:
        """Start a fresh server, warm it up, send `requests`, record the figures under `name`.

        When other processes took more than `--max-foreign` of the CPU during the measurement, it
        is repeated on a new server (at most `--noise-retries` times) and the cleanest attempt is
        kept; every attempt's summary stays in the JSON.
        """
        attempts: list[tuple[dict[str, Any], LoadResult | None]] = []
        for _ in range(1 + self.args.noise_retries):
            entry, result = self._http_attempt(
                name, make_server(), requests, concurrency, texts_embedded, keep, warm, extra
            )
            attempts.append((entry, result))
            foreign = entry.get("cpu", {}).get("foreign_cpu_fraction", 0.0)
            if result is None or foreign <= self.args.max_foreign:
                break
            log(f"{name}: other processes took {foreign:.0%} of the CPU; measuring again")
        ok = [a for a in attempts if a[1] is not None]
        entry, result = min(
            ok or attempts, key=lambda a: a[0].get("cpu", {}).get("foreign_cpu_fraction", 1.0)
        )
        if len(attempts) > 1:
            entry["attempts"] = [
                {k: a[0].get(k) for k in ("pairs_per_s", "p50_ms", "p99_ms", "cpu", "error")}
                for a in attempts
            ]
        self.results.setdefault("modes", {})[name] = entry
        if result is not None:
            log(
                f"{name}: {entry['pairs_per_s']} pairs/s, p50 {entry['p50_ms']} ms, "
                f"p99 {entry['p99_ms']} ms, peak RSS {entry['peak_rss_mib']} MiB, "
                f"foreign CPU {entry['cpu']['foreign_cpu_fraction']:.0%}"
            )
        return result

    def _http_attempt(
        self,
        name: str,
        server: Server,
        requests: list[Request],
        concurrency: int,
        texts_embedded: Sequence[str],
        keep: Callable[[Any], Any] | None,
        warm: Callable[[Server], None] | None,
        extra: dict[str, Any] | None,
    ) -> tuple[dict[str, Any], LoadResult | None]:
        log(f"{name}: starting {server.name}")
        entry: dict[str, Any] = {"loadavg_before": loadavg(), **(extra or {})}
        result: LoadResult | None = None
        try:
            with running(server):
                entry["startup_s"] = round(server.startup_seconds, 1)
                (warm or self.warm_up)(server)
                before = metrics_snapshot(server.url) if name.startswith("service") else {}
                rss_before = server.rss()
                log(f"{name}: {len(requests)} requests, concurrency {concurrency}")
                with CpuMeter([server.pid]) as meter:
                    result = load(
                        server.url,
                        requests,
                        concurrency,
                        keep=keep,
                        deadline_s=self.args.mode_timeout,
                    )
                entry["cpu"] = meter.summary()
                after = metrics_snapshot(server.url) if name.startswith("service") else {}
                entry.update(result.summary())
                entry["pairs_per_s"] = entry.pop("items_per_s")
                entry["concurrency"] = concurrency
                entry["rss_before_mib"] = round(rss_before or 0, 1)
                entry["peak_rss_mib"] = round(server.peak_rss() or 0, 1)
                entry.update(self.compute_figures(texts_embedded, result.seconds))
                if before or after:
                    entry["server"] = self.server_profile(before, after, result.seconds)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log(f"{name}: FAILED {entry['error']}")
            traceback.print_exc()
            result = None
        entry["loadavg_after"] = loadavg()
        return entry, result

    @staticmethod
    def server_profile(
        before: dict[str, float], after: dict[str, float], seconds: float
    ) -> dict[str, Any]:
        """Where the service's time went, from its own Prometheus histograms."""

        def delta(prefix: str) -> float:
            return metric_sum(after, prefix) - metric_sum(before, prefix)

        texts = delta("pivot_batch_size_sum")
        batches = delta("pivot_batch_size_count")
        model_s = delta("pivot_batch_seconds_sum")
        queue_s = delta("pivot_queue_time_seconds_sum")
        hits = delta("pivot_embedding_cache_hits_total")
        misses = delta("pivot_embedding_cache_misses_total")
        return {
            "texts_embedded": int(texts),
            "batches": int(batches),
            "mean_batch_size": round(texts / batches, 1) if batches else None,
            "model_seconds": round(model_s, 2),
            "model_busy_fraction": round(model_s / seconds, 3) if seconds else None,
            "mean_queue_wait_ms": round(queue_s / texts * 1000, 1) if texts else None,
            "cache_hits": int(hits),
            "cache_misses": int(misses),
        }

    def service(self, label: str, variant: str | None = None, **env: str) -> Server:
        variant = ",".join(v for v in (self.args.service_variant, variant) if v) or None
        self._starts = getattr(self, "_starts", 0) + 1
        label = f"{self._starts:02d}-{label}" + (f"-{variant}" if variant else "")
        if env:
            label += "-" + "-".join(
                f"{k}={v}" for k, v in env.items() if not k.startswith("PIVOT_")
            )
        return service_server({**self.service_env, **env}, self.log_dir, label.rstrip("-"), variant)

    @staticmethod
    def keep_scores(payload: Any) -> list[float]:
        return [r["score"] for r in payload["results"]]

    @staticmethod
    def keep_cosines(payload: Any) -> list[float]:
        return [r["cosine"] for r in payload["results"]]

    # --- the run ----------------------------------------------------------------------------

    def run(self, order: Sequence[tuple[str, Mode]]) -> dict[str, Any]:
        """Run the selected modes of `order` (name, function) in that order; figures and targets."""
        import torch

        started = time.perf_counter()
        self.results["meta"] = {
            "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
            "quick": self.args.quick,
            "modes": sorted(self.modes),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "cpu": cpu_name(),
                "python": platform.python_version(),
                "torch": torch.__version__,
                "torch_threads": torch.get_num_threads(),
            },
            "loadavg_start": loadavg(),
            "model": {"name": self.args.model, "dir": str(self.model_dir)},
            "service_env": self.service_env,
            "service_variant": self.args.service_variant,
            "server_logs": str(self.log_dir),
            "cache_policy": (
                "every HTTP mode runs on a freshly started server process, so no mode sees another "
                "mode's embedding cache; inside a mode the cache and in-flight sharing work as in "
                "production (the G rollouts of a prompt share one reference)"
            ),
        }
        shape = self.shape
        self.results["meta"]["model"].update(
            {
                "params_nonembedding": shape.params_nonembedding,
                "layers": shape.layers,
                "hidden": shape.hidden,
                "flops_formula": "2 * params_nonembedding * tokens + 4 * layers * hidden * tokens^2",
            }
        )
        self.results["workloads"] = {}
        for key, workload in (("g8", self.g8), ("g32", self.g32)):
            unique = workload.unique_texts()
            counts = self.tokens(unique)
            langs: dict[str, int] = {}
            for p in workload.prompts:
                for lang in p.langs:
                    langs[lang] = langs.get(lang, 0) + 1
            self.results["workloads"][key] = {
                **workload.meta,
                "name": workload.name,
                "tokens_per_text_mean": round(float(np.mean(counts)), 1),
                "tokens_per_text_min": int(min(counts)),
                "tokens_per_text_max": int(max(counts)),
                "rollout_languages": langs,
            }
        for name, func in order:
            if name not in self.modes:
                continue
            t0 = time.perf_counter()
            try:
                func(self)
            except Exception as exc:
                log(f"{name}: FAILED {type(exc).__name__}: {exc}")
                traceback.print_exc()
                self.results.setdefault("failed_modes", {})[name] = f"{type(exc).__name__}: {exc}"
            self.results.setdefault("mode_seconds", {})[name] = round(time.perf_counter() - t0, 1)
        self.results["meta"]["loadavg_end"] = loadavg()
        self.results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
        self.results["ratios"], self.results["targets"] = compute_targets(self.results)
        return self.results


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()
