"""Benchmark harness: `python -m bench.run [--quick] [--modes a,b] [--out DIR]` (see bench/README.md).

Measures, in one run and on this machine, the service (a real `python -m service.cli serve`
subprocess on loopback, restarted for every mode so no mode sees another's cache) against:

* the in-process model limit: sentence-transformers `encode` over the texts, batch size tuned, with
  and without deduplication;
* a naive server (bench/naive_server.py: one `encode` per request, no batching, no cache);
* infinity-emb, when its venv is set up (`python -m bench.infinity setup`).

and reports pairs/s, p50/p99 latency, peak RSS, model tokens/s and the share of the CPU's measured
fp32 matmul FLOP/s, int8 speed-up and score error, answer-consistency items/s with a latency probe,
translation tokens/s against CTranslate2 in-process, and RSS over a long cache-bound run. Prints a
table and writes JSON to `<out>/<timestamp>.json` and `<out>/latest.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
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

from bench import infinity as inf
from bench.load import LoadResult, Request, json_request, load, run_load
from bench.procs import (
    CpuMeter,
    Server,
    metric_sum,
    metrics_snapshot,
    naive_server,
    running,
    service_server,
)
from bench.workload import DEFAULT_MGSM, Workload, build_workload

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "bench" / "results"
ALL_MODES = (
    "flops",
    "inproc",
    "service-batched",
    "service-single",
    "naive-batched",
    "naive-single",
    "infinity",
    "int8",
    "consistency",
    "translation",
    "memory",
)
OPTIONAL_MODES = ("naive-single-c256", "infinity-batched", "variants")
EMBED_DIM_BYTES = 384 * 4


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
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


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
        self.bench_cache = cache_dir / "bench"
        self.mgsm = Path(args.mgsm)
        self.g8 = build_workload(self.sizes.prompts_g8, 8, mgsm_dir=self.mgsm)
        self.g32 = build_workload(self.sizes.prompts_g32, 32, mgsm_dir=self.mgsm)
        self.reference_scores: dict[str, np.ndarray] = {}  # per-pair scores, by source

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

    # --- modes ------------------------------------------------------------------------------

    def mode_flops(self) -> None:
        log("flops: 2048x2048 fp32 matmul")
        _, result, cpu = self.timed("flops", measure_matmul_gflops)
        self.results["flops"] = {**result, "cpu": cpu}
        log(f"flops: {self.results['flops']['best_gflops']} GFLOP/s")

    def mode_inproc(self) -> None:
        model = self.st_model
        out: dict[str, Any] = {}
        sample = self.g8.unique_texts()[: self.sizes.tune_texts]
        self.encode(model, sample[:8], 8)  # lazy initialisation
        tuning: dict[str, float] = {}
        for batch_size in self.args.batch_sizes:
            seconds, _, _ = self.timed(
                f"inproc batch size {batch_size}",
                lambda b=batch_size: self.encode(model, sample, b),
            )
            tuning[str(batch_size)] = round(len(sample) / seconds, 2)
            log(f"inproc: batch size {batch_size}: {tuning[str(batch_size)]} texts/s")
        best = int(max(tuning, key=lambda k: tuning[k]))
        out["tuning_texts_per_s"] = tuning
        out["tuning_texts"] = len(sample)
        out["batch_size"] = best
        self._fp32_vectors: dict[str, np.ndarray] = {}
        for key, workload in (("g8", self.g8), ("g32", self.g32)):
            entry: dict[str, Any] = {"pairs": workload.pairs, "loadavg_before": loadavg()}
            unique = workload.unique_texts()
            seconds, vectors, cpu = self.timed(
                f"inproc {key} dedup", lambda u=unique: self.encode(model, u, best)
            )
            by_text = dict(zip(unique, vectors, strict=True))
            self.reference_scores[f"inproc-{key}"] = self.pair_scores(workload, by_text)
            self._fp32_vectors.update(by_text)
            entry["dedup"] = {
                "seconds": round(seconds, 2),
                "pairs_per_s": round(workload.pairs / seconds, 2),
                "cpu": cpu,
                **self.compute_figures(unique, seconds),
            }
            everything = workload.all_texts()
            seconds, _, cpu = self.timed(
                f"inproc {key} no dedup", lambda e=everything: self.encode(model, e, best)
            )
            entry["nodedup"] = {
                "seconds": round(seconds, 2),
                "pairs_per_s": round(workload.pairs / seconds, 2),
                "cpu": cpu,
                **self.compute_figures(everything, seconds),
            }
            entry["loadavg_after"] = loadavg()
            out[key] = entry
            log(
                f"inproc {key}: dedup {entry['dedup']['pairs_per_s']} pairs/s, "
                f"no dedup {entry['nodedup']['pairs_per_s']} pairs/s"
            )
        self.results["inproc"] = out

    def mode_service_batched(self) -> None:
        for key, workload in (("g8", self.g8), ("g32", self.g32)):
            result = self.http_mode(
                f"service-batched-{key}",
                lambda key=key: self.service(f"batched-{key}"),
                self.grouped_requests(workload),
                self.sizes.batched_concurrency,
                workload.unique_texts(),
                keep=self.keep_scores,
                extra={"form": "grouped {reference, candidates[G]}, one request per prompt"},
            )
            if result is not None:
                self.reference_scores[f"service-{key}"] = np.array(
                    [s for scores in result.responses if scores for s in scores]
                )

    def mode_service_single(self) -> None:
        for concurrency in self.sizes.single_concurrency:
            self.http_mode(
                f"service-single-c{concurrency}",
                lambda c=concurrency: self.service(f"single-c{c}"),
                self.single_requests(self.g8),
                concurrency,
                self.g8.unique_texts(),
                extra={"form": "one pair per request (OpenRLHF style), G=8 workload"},
            )

    def mode_naive_batched(self) -> None:
        for key, workload in (("g8", self.g8), ("g32", self.g32)):
            self.http_mode(
                f"naive-batched-{key}",
                lambda key=key: naive_server(self.model_dir, self.log_dir, f"batched-{key}"),
                self.pairs_requests(workload),
                self.sizes.batched_concurrency,
                workload.all_texts(),
                warm=lambda s: self.warm_up(s),
                extra={"form": "pairs[G], one request per prompt; encodes 2 texts per pair"},
            )

    def mode_naive_single(self, concurrencies: Sequence[int] = (64,)) -> None:
        for concurrency in concurrencies:
            self.http_mode(
                f"naive-single-c{concurrency}",
                lambda c=concurrency: naive_server(self.model_dir, self.log_dir, f"single-c{c}"),
                self.single_requests(self.g8),
                concurrency,
                self.g8.all_texts(),
                extra={"form": "one pair per request, G=8 workload"},
            )

    def mode_infinity(self, batched: bool = False) -> None:
        venv = Path(self.args.infinity_venv)
        status: dict[str, Any] = {"venv": str(venv)}
        self.results["infinity"] = status
        versions = inf.installed_versions(venv)
        if versions is None:
            status["status"] = "not installed"
            status["why"] = (
                f"no working infinity-emb in {venv}; set it up with "
                f"`python -m bench.infinity setup --venv {venv}` (see bench/README.md)"
            )
            log(f"infinity: {status['why']}")
            return
        status["versions"] = versions
        folder = inf.compatible_copy(self.model_dir, self.bench_cache / "infinity-model")
        status["model_folder"] = str(folder)
        status["model_folder_note"] = (
            "same weights (symlinked); config.json, config_sentence_transformers.json and "
            "tokenizer_config.json rewritten in the sentence-transformers 3 / transformers 4 "
            "format, without a default prompt (the client sends 'query: ' itself)"
        )
        check_texts = self.g8.unique_texts()[:32]
        reference = self.encode(self.st_model, check_texts, 32)

        def make_server() -> Server:
            return inf.infinity_server(
                venv, folder, self.log_dir, batch_size=self.args.infinity_batch
            )

        state: dict[str, Any] = {}

        def warm(s: Server) -> None:
            model_id = inf.served_model_id(s.url)
            state["model_id"] = model_id
            check = inf.check_equal(s.url, model_id, check_texts, reference, self.prompt)
            status["equality_check"] = check
            log(f"infinity: equality check {check}")
            if check["min_cosine"] < inf.MIN_COSINE:
                raise RuntimeError(
                    f"infinity's embeddings differ from ours (min cosine {check['min_cosine']:.6f})"
                )
            inf.embed(s.url, model_id, [f"warm-up {i}" for i in range(8)], self.prompt)

        # The bodies name the served model id, known only once the server is up: filled at warm-up.
        prompt = self.prompt
        pairs = list(self.g8.iter_pairs())
        requests = [Request("/embeddings", b"", 1) for _ in pairs]

        def warm_and_fill(s: Server) -> None:
            warm(s)
            model_id = state["model_id"]
            for request, (candidate, ref) in zip(requests, pairs, strict=True):
                request.body = json.dumps(
                    {"model": model_id, "input": [prompt + candidate, prompt + ref]},
                    ensure_ascii=False,
                ).encode("utf-8")

        def keep_cosine(payload: Any) -> float:
            data = sorted(payload["data"], key=lambda d: d["index"])
            a = np.asarray(data[0]["embedding"], dtype=np.float32)
            b = np.asarray(data[1]["embedding"], dtype=np.float32)
            return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

        status["batch_size"] = self.args.infinity_batch
        result = self.http_mode(
            "infinity-single-c64",
            make_server,
            requests,
            64,
            self.g8.all_texts(),
            keep=keep_cosine,
            warm=warm_and_fill,
            extra={"form": "POST /embeddings with [candidate, reference], cosine client-side"},
        )
        if result is not None and "equality_check" in status:
            status["status"] = "measured"
            cosines = np.array([c for c in result.responses if c is not None])
            fp32 = getattr(self, "_fp32_vectors", None)
            if fp32 and len(cosines) == self.g8.pairs:
                ours = np.array([float(np.dot(fp32[c], fp32[r])) for c, r in pairs])
                status["max_abs_cosine_diff_vs_inproc"] = round(
                    float(np.abs(ours - cosines).max()), 6
                )
        else:
            status["status"] = "failed"
            status["why"] = self.results["modes"]["infinity-single-c64"].get("error")
        if batched and status.get("status") == "measured":
            grouped = [Request("/embeddings", b"", len(p.rollouts)) for p in self.g8.prompts]

            def warm_grouped(s: Server) -> None:
                warm(s)
                for request, p in zip(grouped, self.g8.prompts, strict=True):
                    request.body = json.dumps(
                        {
                            "model": state["model_id"],
                            "input": [prompt + t for t in [p.reference, *p.rollouts]],
                        },
                        ensure_ascii=False,
                    ).encode("utf-8")

            self.http_mode(
                "infinity-batched-g8",
                make_server,
                grouped,
                self.sizes.batched_concurrency,
                self.g8.unique_texts(),
                warm=warm_grouped,
                extra={"form": "POST /embeddings with [reference, *candidates] (G+1 texts)"},
            )

    def mode_variants(self) -> None:
        """What-if: the proposed service changes, measured on the same workloads."""
        for spec in self.args.variants:
            variant, _, env_text = spec.partition("+")
            variant = variant.replace(":", ",")  # several patches: tokfix:subbatch16
            env = dict(kv.split("=", 1) for kv in env_text.split("+") if kv)
            tag = f"[{spec}]"
            self.http_mode(
                f"service-batched-g8{tag}",
                lambda v=variant, e=env: self.service("variant-g8", v or None, **e),
                self.grouped_requests(self.g8),
                self.sizes.batched_concurrency,
                self.g8.unique_texts(),
                extra={"form": "grouped, G=8", "variant": spec},
            )
            self.http_mode(
                f"service-batched-g32{tag}",
                lambda v=variant, e=env: self.service("variant-g32", v or None, **e),
                self.grouped_requests(self.g32),
                self.sizes.batched_concurrency,
                self.g32.unique_texts(),
                extra={"form": "grouped, G=32", "variant": spec},
            )
            self.http_mode(
                f"service-single-c256{tag}",
                lambda v=variant, e=env: self.service("variant-c256", v or None, **e),
                self.single_requests(self.g8),
                256,
                self.g8.unique_texts(),
                extra={"form": "one pair per request, G=8", "variant": spec},
            )

    def mode_int8(self) -> None:
        """int8 (and bf16) variants in-process: speed-up and score error vs fp32 on MGSM."""
        import warnings

        from bench import precision

        out: dict[str, Any] = {
            "method": "torch.ao.quantization.quantize_dynamic(nn.Linear, qint8), per tensor",
            "score_goal": "every |score - fp32 score| <= 0.005 (cosine within 0.005 * (high - low))",
        }
        calibration = self.calibration()
        out["cosine_tolerance_equivalent"] = round(0.005 * (calibration.high - calibration.low), 6)
        batch_size = int(self.results.get("inproc", {}).get("batch_size", 16))
        model = self.st_model
        unique = self.g8.unique_texts()
        everything = list(dict.fromkeys(unique + self.g32.unique_texts()))
        fp32_seconds, fp32_vectors, fp32_cpu = self.timed(
            "precision fp32", lambda: self.encode(model, unique, batch_size)
        )
        fp32 = dict(zip(unique, fp32_vectors, strict=True))
        rest = [t for t in everything if t not in fp32]
        fp32.update(zip(rest, self.encode(model, rest, batch_size), strict=True))
        out["texts_timed"] = len(unique)
        out["fp32_seconds"] = round(fp32_seconds, 2)
        out["fp32_cpu"] = fp32_cpu
        variants: dict[str, Any] = {}
        for variant in precision.VARIANTS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                candidate, context = precision.build(model, variant)

                def run(m: Any = candidate, ctx: Any = context, texts: Any = unique) -> Any:
                    with ctx():
                        return self.encode(m, texts, batch_size)

                run(texts=unique[:8])  # lazy initialisation
                seconds, vectors, cpu = self.timed(f"precision {variant}", run)
                got = dict(zip(unique, vectors, strict=True))
                got.update(zip(rest, run(texts=rest), strict=True))
            entry: dict[str, Any] = {
                "seconds": round(seconds, 2),
                "speedup": round(fp32_seconds / seconds, 3),
                "pairs_per_s_dedup_g8": round(self.g8.pairs / seconds, 2),
                "cpu": cpu,
                **self.compute_figures(unique, seconds),
            }
            worst = 0.0
            for key, workload in (("g8", self.g8), ("g32", self.g32)):
                base = self.pair_scores(workload, fp32)
                new = self.pair_scores(workload, got)
                cos_base = np.array(
                    [float(np.dot(fp32[c], fp32[r])) for c, r in workload.iter_pairs()]
                )
                cos_new = np.array(
                    [float(np.dot(got[c], got[r])) for c, r in workload.iter_pairs()]
                )
                diff = np.abs(base - new)
                entry[f"score_diff_{key}"] = {
                    "pairs": len(diff),
                    "max_abs": round(float(diff.max()), 5),
                    "mean_abs": round(float(diff.mean()), 5),
                    "p99_abs": round(float(np.percentile(diff, 99)), 5),
                    "over_0.005": int((diff > 0.005).sum()),
                    "max_abs_cosine": round(float(np.abs(cos_base - cos_new).max()), 6),
                }
                worst = max(worst, float(diff.max()))
            entry["max_abs_score_diff"] = round(worst, 5)
            entry["within_0.005"] = worst <= 0.005
            variants[variant] = entry
            log(f"precision {variant}: speed-up {entry['speedup']}x, max |score diff| {worst:.4f}")
            if candidate is not model:
                del candidate
        out["variants"] = variants
        int8 = variants["int8-dynamic"]
        out["speedup_inproc"] = int8["speedup"]
        out["max_abs_score_diff"] = int8["max_abs_score_diff"]
        out["score_diff_g8"] = int8["score_diff_g8"]
        out["score_diff_g32"] = int8["score_diff_g32"]
        out["int8_inproc"] = {
            "pairs_per_s_dedup": int8["pairs_per_s_dedup_g8"],
            "model_tokens_per_s": int8["model_tokens_per_s"],
            "share_of_peak_flops": int8["share_of_peak_flops"],
        }
        # Through the service, when it offers the option (PIVOT_EMBEDDING_PRECISION, or the
        # earlier PIVOT_EMBEDDING_QUANTIZE spelling).
        options: list[tuple[str, dict[str, str]]] = []
        if "embedding_precision" in self.settings_fields:
            options = [
                (f"PIVOT_EMBEDDING_PRECISION={p}", {"PIVOT_EMBEDDING_PRECISION": p})
                for p in ("int8", "bf16")
            ]
        elif "embedding_quantize" in self.settings_fields:
            options = [("PIVOT_EMBEDDING_QUANTIZE=int8", {"PIVOT_EMBEDDING_QUANTIZE": "int8"})]
        out["service_options"] = [label for label, _ in options]
        if not options:
            out["service_note"] = (
                "the service has no reduced-precision setting yet (PIVOT_EMBEDDING_PRECISION or "
                "PIVOT_EMBEDDING_QUANTIZE); measured in-process only"
            )
        out["service"] = {}
        for label, env in options:
            short = label.split("=", 1)[1]
            result = self.http_mode(
                f"service-{short}-batched-g8",
                lambda env=env, short=short: self.service(f"{short}-batched-g8", **env),
                self.grouped_requests(self.g8),
                self.sizes.batched_concurrency,
                self.g8.unique_texts(),
                keep=self.keep_scores,
                extra={"form": f"grouped, G=8, {label}"},
            )
            if result is None:
                continue
            scores = np.array([s for r in result.responses if r for s in r])
            base = self.reference_scores.get("service-g8")
            vs = "service fp32 (service-batched-g8)"
            if base is None:
                base, vs = self.reference_scores.get("inproc-g8"), "in-process fp32"
            entry: dict[str, Any] = {"setting": label, "pairs": len(scores)}
            if base is not None and len(base) == len(scores):
                diff = np.abs(base - scores)
                entry.update(
                    {
                        "vs": vs,
                        "max_abs_score_diff": round(float(diff.max()), 5),
                        "over_0.005": int((diff > 0.005).sum()),
                    }
                )
            entry["pairs_per_s"] = self.results["modes"][f"service-{short}-batched-g8"].get(
                "pairs_per_s"
            )
            entry["speedup_vs_service_fp32"] = ratio(
                entry["pairs_per_s"], _pps(self.results, "service-batched-g8")
            )
            out["service"][short] = entry
        self.results["int8"] = out

    def mode_consistency(self) -> None:
        sizes = self.sizes
        workload = build_workload(max(1, sizes.consistency_items // 32 + 1), 32, mgsm_dir=self.mgsm)
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
                result = await run_load(base, big, 2, deadline_s=self.args.mode_timeout)
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

        server = self.service("consistency")
        log("consistency: starting service")
        try:
            with running(server):
                self.warm_up(server)
                with httpx.Client(base_url=server.url, timeout=300) as client:
                    client.post("/v1/answer-consistency", json={"items": batch[:16]})
                alone = load(server.url, big, 1, deadline_s=self.args.mode_timeout)
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
        self.results["consistency"] = out

    def mode_translation(self) -> None:
        sizes = self.sizes
        out: dict[str, Any] = {"loadavg_before": loadavg()}
        self.results["translation"] = out
        try:
            import ctranslate2

            from service.engine.translator import NllbTranslator
            from tests.fixtures.tiny_nllb import build_tiny_nllb
        except ImportError as exc:
            out["error"] = f"cannot import the translation stack: {exc}"
            return
        t0 = time.perf_counter()
        tiny = build_tiny_nllb(self.bench_cache / "tiny-nllb")
        out["model"] = {
            "path": str(tiny.ct2_dir),
            "build_s": round(time.perf_counter() - t0, 1),
            "spec": "tests/fixtures/tiny_nllb.py (d_model 32, 2+2 layers)",
        }
        compute_type = self.args.translation_compute_type
        max_length = 64
        # MGSM questions in the fixture's languages, to English.
        from bench.workload import load_problems

        problems = load_problems(self.mgsm)
        langs = ("de", "fr", "es", "sw", "ru")
        texts, sources = [], []
        i = 0
        while len(texts) < sizes.translation_texts:
            # Problem p in language (p + k) % 5 for k = i // 250: no text repeats.
            problem = problems[i % len(problems)]
            lang = langs[(i + i // len(problems)) % len(langs)]
            suffix = "" if i < len(problems) * len(langs) else f" ({i})"
            texts.append(problem.questions[lang] + suffix)
            sources.append(lang)
            i += 1
        assert len(set(texts)) == len(texts), "translation inputs must be distinct (cache)"
        out["texts"] = len(texts)
        out["request_size"] = sizes.translation_request
        out["compute_type"] = compute_type
        out["max_length"] = max_length

        # The limit: ctranslate2.Translator.translate_batch on the same token sequences.
        wrapper = NllbTranslator(tiny.ct2_dir, device="cpu", compute_type=compute_type)
        prepared, _ = wrapper.prepare_sources(texts, sources)
        input_tokens = sum(len(s) for s in prepared)
        direct = ctranslate2.Translator(
            str(tiny.ct2_dir),
            device="cpu",
            compute_type=compute_type,
            inter_threads=1,
            intra_threads=0,
        )
        options = {
            "beam_size": 1,
            "num_hypotheses": 1,
            "max_decoding_length": max_length + 1,
            "max_input_length": wrapper.max_input_tokens,
            "return_scores": False,
        }
        target = [["eng_Latn"]]
        direct.translate_batch(prepared[:8], target_prefix=target * 8, **options)
        variants: dict[str, float] = {}
        outputs: list[Any] = []
        for label, chunk, sort in (
            ("chunks_of_request_size", sizes.translation_request, False),
            ("chunks_of_64_length_sorted", 64, True),
            ("one_call_max_batch_size_64", 0, False),
        ):
            order = (
                sorted(range(len(prepared)), key=lambda k: len(prepared[k]))
                if sort
                else list(range(len(prepared)))
            )
            seqs = [prepared[k] for k in order]

            def call(
                seqs: list[list[str]] = seqs, chunk: int = chunk, direct: Any = direct
            ) -> list[Any]:
                if not chunk:
                    return list(
                        direct.translate_batch(
                            seqs, target_prefix=target * len(seqs), max_batch_size=64, **options
                        )
                    )
                found: list[Any] = []
                for s in range(0, len(seqs), chunk):
                    part = seqs[s : s + chunk]
                    found += direct.translate_batch(
                        part, target_prefix=target * len(part), **options
                    )
                return found

            seconds, results, _ = self.timed(f"translation direct {label}", call)
            variants[label] = seconds
            if label == "chunks_of_request_size":
                outputs = results
        best_label = min(variants, key=lambda k: variants[k])
        direct_s = variants[best_label]
        output_tokens = sum(max(0, len(r.hypotheses[0]) - 1) for r in outputs)
        out["direct"] = {
            "variants_s": {k: round(v, 3) for k, v in variants.items()},
            "best": best_label,
            "seconds": round(direct_s, 3),
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_tokens_per_s": round(input_tokens / direct_s, 1),
            "output_tokens_per_s": round(output_tokens / direct_s, 1),
        }
        # The in-process Python wrapper (tokenise + CTranslate2 + detokenise), for the breakdown.
        t0 = time.perf_counter()
        for s in range(0, len(texts), sizes.translation_request):
            wrapper.translate_batch(
                texts[s : s + sizes.translation_request],
                sources[s : s + sizes.translation_request],
                "eng_Latn",
                max_length=max_length,
            )
        wrapped_s = time.perf_counter() - t0
        out["inproc_wrapper"] = {
            "seconds": round(wrapped_s, 3),
            "input_tokens_per_s": round(input_tokens / wrapped_s, 1),
        }
        del direct, wrapper
        # Through the service.
        requests = [
            json_request(
                "/v1/translate",
                {
                    "texts": texts[s : s + sizes.translation_request],
                    "source_langs": sources[s : s + sizes.translation_request],
                    "target_lang": "en",
                    "max_length": max_length,
                },
                len(texts[s : s + sizes.translation_request]),
            )
            for s in range(0, len(texts), sizes.translation_request)
        ]

        def make_server() -> Server:
            return self.service(
                "translation",
                PIVOT_TRANSLATION_MODEL=str(tiny.ct2_dir),
                PIVOT_TRANSLATION_COMPUTE_TYPE=compute_type,
            )

        def warm(s: Server) -> None:
            with httpx.Client(base_url=s.url, timeout=300) as client:
                client.post(
                    "/v1/translate",
                    json={
                        "texts": ["Guten Morgen.", "Bonjour."],
                        "source_langs": ["de", "fr"],
                        "target_lang": "en",
                        "max_length": 8,
                    },
                ).raise_for_status()

        def keep(payload: Any) -> list[tuple[str, int]]:
            return [(t["text"], t["output_tokens"]) for t in payload["translations"]]

        for concurrency in (1, 2):
            name = f"service-translate-c{concurrency}"
            result = self.http_mode(
                name,
                make_server,
                requests,
                concurrency,
                [],
                keep=keep,
                warm=warm,
                extra={"form": f"/v1/translate, {sizes.translation_request} texts per request"},
            )
            if result is None:
                continue
            entry = self.results["modes"][name]
            for key in (
                "model_texts",
                "model_tokens",
                "model_tokens_per_s",
                "model_gflops",
                "share_of_peak_flops",
            ):
                entry.pop(key, None)
            entry["texts_per_s"] = entry.pop("pairs_per_s")
            got = [t for r in result.responses if r for t in r]
            service_output = sum(n for _, n in got)
            entry["input_tokens_per_s"] = round(input_tokens / result.seconds, 1)
            entry["output_tokens"] = service_output
            entry["output_tokens_per_s"] = round(service_output / result.seconds, 1)
            entry["ratio_vs_direct"] = round(direct_s / result.seconds, 3)
            entry["same_output_tokens_as_direct"] = service_output == output_tokens
        ratios = [
            self.results["modes"][n]["ratio_vs_direct"]
            for n in ("service-translate-c1", "service-translate-c2")
            if "ratio_vs_direct" in self.results["modes"].get(n, {})
        ]
        out["ratio_vs_direct"] = max(ratios) if ratios else None
        out["loadavg_after"] = loadavg()
        log(f"translation: service/direct = {out['ratio_vs_direct']}")

    def mode_memory(self) -> None:
        sizes = self.sizes
        cache_mb = sizes.memory_cache_mb
        cache_bytes = int(cache_mb * 1024 * 1024)
        out: dict[str, Any] = {
            "cache_mb": cache_mb,
            "rounds": sizes.memory_rounds,
            "loadavg_before": loadavg(),
        }
        server = self.service("memory", PIVOT_EMBEDDING_CACHE_MB=str(cache_mb))
        samples: list[dict[str, Any]] = []
        filled = 0
        bound_round: int | None = None
        try:
            with running(server):
                self.warm_up(server)
                samples.append(
                    {"round": 0, "rss_mib": round(server.rss() or 0, 1), "cache_est_bytes": 0}
                )
                started = time.perf_counter()
                for r in range(1, sizes.memory_rounds + 1):
                    workload = build_workload(
                        sizes.memory_prompts,
                        8,
                        mgsm_dir=self.mgsm,
                        start=(50 + r * sizes.memory_prompts) % 250,
                        salt=f"mem{r}",
                    )
                    load(
                        server.url,
                        self.grouped_requests(workload),
                        sizes.batched_concurrency,
                        deadline_s=self.args.mode_timeout,
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
        self.results["memory"] = out

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
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
                "cpu": _cpu_name(),
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
        order: list[tuple[str, Callable[[], None]]] = [
            ("flops", self.mode_flops),
            ("inproc", self.mode_inproc),
            ("service-batched", self.mode_service_batched),
            ("service-single", self.mode_service_single),
            ("naive-batched", self.mode_naive_batched),
            ("naive-single", lambda: self.mode_naive_single((64,))),
            ("naive-single-c256", lambda: self.mode_naive_single((256,))),
            ("infinity", lambda: self.mode_infinity("infinity-batched" in self.modes)),
            ("int8", self.mode_int8),
            ("variants", self.mode_variants),
            ("consistency", self.mode_consistency),
            ("translation", self.mode_translation),
            ("memory", self.mode_memory),
        ]
        for name, func in order:
            if name not in self.modes:
                continue
            t0 = time.perf_counter()
            try:
                func()
            except Exception as exc:
                log(f"{name}: FAILED {type(exc).__name__}: {exc}")
                traceback.print_exc()
                self.results.setdefault("failed_modes", {})[name] = f"{type(exc).__name__}: {exc}"
            self.results.setdefault("mode_seconds", {})[name] = round(time.perf_counter() - t0, 1)
        self.results["meta"]["loadavg_end"] = loadavg()
        self.results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
        self.results["ratios"], self.results["targets"] = compute_targets(self.results)
        return self.results


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


# --------------------------------------------------------------------------------------------
# Ratios, targets and the table
# --------------------------------------------------------------------------------------------


def _pps(results: dict[str, Any], mode: str) -> float | None:
    entry = results.get("modes", {}).get(mode)
    if not entry or "error" in entry:
        return None
    return entry.get("pairs_per_s")


def compute_targets(results: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    inproc = results.get("inproc", {})
    ratios: dict[str, Any] = {}
    for key in ("g8", "g32"):
        svc = _pps(results, f"service-batched-{key}")
        ratios[f"service_batched_{key}_vs_inproc_dedup"] = ratio(
            svc, inproc.get(key, {}).get("dedup", {}).get("pairs_per_s")
        )
        ratios[f"service_batched_{key}_vs_inproc_nodedup"] = ratio(
            svc, inproc.get(key, {}).get("nodedup", {}).get("pairs_per_s")
        )
        ratios[f"service_batched_{key}_vs_naive_batched"] = ratio(
            svc, _pps(results, f"naive-batched-{key}")
        )
        ratios[f"naive_batched_{key}_vs_inproc_nodedup"] = ratio(
            _pps(results, f"naive-batched-{key}"),
            inproc.get(key, {}).get("nodedup", {}).get("pairs_per_s"),
        )
    for c in (64, 256):
        ratios[f"service_single_c{c}_vs_service_batched_g8"] = ratio(
            _pps(results, f"service-single-c{c}"), _pps(results, "service-batched-g8")
        )
    ratios["service_single_c64_vs_naive_single_c64"] = ratio(
        _pps(results, "service-single-c64"), _pps(results, "naive-single-c64")
    )
    ratios["service_single_c64_vs_infinity_single_c64"] = ratio(
        _pps(results, "service-single-c64"), _pps(results, "infinity-single-c64")
    )
    ratios["infinity_single_c64_vs_naive_single_c64"] = ratio(
        _pps(results, "infinity-single-c64"), _pps(results, "naive-single-c64")
    )
    for p in ("int8", "bf16"):
        ratios[f"service_{p}_vs_fp32_batched_g8"] = ratio(
            _pps(results, f"service-{p}-batched-g8"), _pps(results, "service-batched-g8")
        )
    int8 = results.get("int8", {})
    translation = results.get("translation", {})
    memory = results.get("memory", {})
    consistency = results.get("consistency", {})

    def target(name: str, value: Any, goal: str, met: bool | None) -> dict[str, Any]:
        return {"target": name, "value": value, "goal": goal, "met": met}

    def at_least(value: float | None, goal: float) -> bool | None:
        return None if value is None else value >= goal

    targets = [
        target(
            "batched HTTP G=8 vs in-process limit with dedup",
            ratios["service_batched_g8_vs_inproc_dedup"],
            ">= 0.85",
            at_least(ratios["service_batched_g8_vs_inproc_dedup"], 0.85),
        ),
        target(
            "batched HTTP G=32 vs in-process limit with dedup",
            ratios["service_batched_g32_vs_inproc_dedup"],
            ">= 0.85",
            at_least(ratios["service_batched_g32_vs_inproc_dedup"], 0.85),
        ),
        target(
            "batched G=8 vs naive server",
            ratios["service_batched_g8_vs_naive_batched"],
            ">= 1.6",
            at_least(ratios["service_batched_g8_vs_naive_batched"], 1.6),
        ),
        target(
            "batched G=32 vs naive server",
            ratios["service_batched_g32_vs_naive_batched"],
            ">= 1.8",
            at_least(ratios["service_batched_g32_vs_naive_batched"], 1.8),
        ),
        target(
            "one pair per request c=256 vs batched G=8",
            ratios["service_single_c256_vs_service_batched_g8"],
            ">= 0.70",
            at_least(ratios["service_single_c256_vs_service_batched_g8"], 0.70),
        ),
        target(
            "one pair per request c=64 vs infinity-emb",
            ratios["service_single_c64_vs_infinity_single_c64"],
            ">= 1.5",
            at_least(ratios["service_single_c64_vs_infinity_single_c64"], 1.5),
        ),
        target(
            "int8: max |score - fp32 score| on MGSM",
            int8.get("max_abs_score_diff"),
            "<= 0.005",
            None if int8.get("max_abs_score_diff") is None else int8["max_abs_score_diff"] <= 0.005,
        ),
        target("int8 speed-up in-process (report)", int8.get("speedup_inproc"), "report", None),
        target(
            "translation through HTTP vs CTranslate2 direct",
            translation.get("ratio_vs_direct"),
            ">= 0.85",
            at_least(translation.get("ratio_vs_direct"), 0.85),
        ),
        target(
            "RSS growth after the cache bound",
            memory.get("max_over_bound"),
            "<= 0.10",
            None if memory.get("max_over_bound") is None else memory["max_over_bound"] <= 0.10,
        ),
        target(
            "answer consistency items/s (report)", consistency.get("items_per_s"), "report", None
        ),
        target(
            "event loop responsive during consistency batches (/healthz p99, ms)",
            consistency.get("during", {}).get("healthz_probe", {}).get("p99_ms"),
            "< 100",
            None
            if "during" not in consistency
            else consistency["during"]["healthz_probe"].get("p99_ms", 1e9) < 100,
        ),
        target(
            "similarity not stalled by consistency batches (probe p99 during, ms)",
            consistency.get("during", {}).get("similarity_probe", {}).get("p99_ms"),
            "< consistency request p50",
            None
            if "during" not in consistency
            else consistency["during"]["similarity_probe"].get("p99_ms", 1e9)
            < consistency["during"]["consistency"]["p50_ms"],
        ),
    ]
    return ratios, targets


def _failed_text(entry: dict[str, Any]) -> str:
    errors = entry.get("errors") or {}
    total = sum(errors.values())
    if not total:
        return "0"
    sent = entry.get("requests", 0) + total
    return f"{total}/{sent} ({', '.join(f'{k} x{v}' for k, v in errors.items())})"


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    flops = results.get("flops", {}).get("best_gflops")
    meta = results.get("meta", {})
    lines.append(
        f"machine: {meta.get('machine', {}).get('cpu')} x{meta.get('machine', {}).get('cpus')}, "
        f"torch {meta.get('machine', {}).get('torch')}; fp32 matmul peak {_fmt(flops)} GFLOP/s; "
        f"loadavg start {meta.get('loadavg_start')} end {meta.get('loadavg_end')}"
    )
    for key, w in results.get("workloads", {}).items():
        lines.append(
            f"workload {key}: {w['prompts']} prompts x G={w['group_size']} = {w['pairs']} pairs, "
            f"{w['unique_texts']} unique texts, ~{w['tokens_per_text_mean']} tokens/text "
            f"({w['tokens_per_text_min']}-{w['tokens_per_text_max']})"
        )
    lines.append("")
    header = (
        "| mode | pairs/s | p50 ms | p99 ms | peak RSS MiB | model tok/s | % peak FLOP/s "
        "| vs in-proc dedup | vs naive | failed requests |"
    )
    lines += [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    inproc = results.get("inproc", {})
    for key in ("g8", "g32"):
        for variant in ("dedup", "nodedup"):
            e = inproc.get(key, {}).get(variant)
            if not e:
                continue
            share = e.get("share_of_peak_flops")
            lines.append(
                f"| in-process ST encode {key} {'with' if variant == 'dedup' else 'without'} dedup "
                f"(bs {inproc.get('batch_size')}) | {_fmt(e['pairs_per_s'])} | - | - | - "
                f"| {_fmt(e.get('model_tokens_per_s'), 0)} "
                f"| {_fmt(share * 100 if share else None)} "
                f"| {_fmt(ratio(e['pairs_per_s'], inproc.get(key, {}).get('dedup', {}).get('pairs_per_s')), 2)} | - | - |"
            )
    int8 = results.get("int8", {}).get("int8_inproc")
    if int8:
        share = int8.get("share_of_peak_flops")
        lines.append(
            f"| in-process int8 g8 with dedup | {_fmt(int8['pairs_per_s_dedup'])} | - | - | - "
            f"| {_fmt(int8.get('model_tokens_per_s'), 0)} | {_fmt(share * 100 if share else None)} "
            f"| {_fmt(ratio(int8['pairs_per_s_dedup'], inproc.get('g8', {}).get('dedup', {}).get('pairs_per_s')), 2)} | - | - |"
        )
    for name, e in results.get("modes", {}).items():
        if name.startswith("service-translate"):
            continue
        if "error" in e:
            lines.append(f"| {name} | failed: {e['error'][:60]} | | | | | | | | |")
            continue
        key = "g32" if "g32" in name else "g8"
        base = inproc.get(key, {}).get("dedup", {}).get("pairs_per_s")
        naive = None
        if name.startswith("service") or name.startswith("infinity"):
            if "batched" in name:
                naive = _pps(results, f"naive-batched-{key}")
            else:
                naive = _pps(results, "naive-single-c64")
        share = e.get("share_of_peak_flops")
        lines.append(
            f"| {name} | {_fmt(e['pairs_per_s'])} | {_fmt(e['p50_ms'], 0)} | {_fmt(e['p99_ms'], 0)} "
            f"| {_fmt(e['peak_rss_mib'], 0)} | {_fmt(e.get('model_tokens_per_s'), 0)} "
            f"| {_fmt(share * 100 if share else None)} | {_fmt(ratio(e['pairs_per_s'], base), 2)} "
            f"| {_fmt(ratio(e['pairs_per_s'], naive), 2)} | {_failed_text(e)} |"
        )
    translation = results.get("translation", {})
    if translation.get("direct"):
        lines.append("")
        d = translation["direct"]
        lines.append(
            f"translation ({translation['texts']} texts, {translation['request_size']} per request, "
            f"{translation['compute_type']}): CTranslate2 direct {d['input_tokens_per_s']} input tok/s "
            f"({d['output_tokens_per_s']} output tok/s, best of {d['best']}); in-process wrapper "
            f"{translation.get('inproc_wrapper', {}).get('input_tokens_per_s')} input tok/s"
        )
        for c in (1, 2):
            e = results.get("modes", {}).get(f"service-translate-c{c}")
            if e and "error" not in e:
                lines.append(
                    f"  service c={c}: {e['input_tokens_per_s']} input tok/s, "
                    f"{e['output_tokens_per_s']} output tok/s, p50 {e['p50_ms']} ms; "
                    f"ratio vs direct {e['ratio_vs_direct']}; same output tokens: "
                    f"{e['same_output_tokens_as_direct']}"
                )
    consistency = results.get("consistency", {})
    if "during" in consistency:
        lines.append("")
        lines.append(
            f"answer consistency: {consistency['items_per_s']} items/s alone "
            f"({consistency['items_per_request']} items/request), "
            f"{consistency['items_per_s_with_probe']} items/s with the probes; similarity probe "
            f"p50/p99 idle {consistency['idle']['similarity_probe'].get('p50_ms')}/"
            f"{consistency['idle']['similarity_probe'].get('p99_ms')} ms, during "
            f"{consistency['during']['similarity_probe'].get('p50_ms')}/"
            f"{consistency['during']['similarity_probe'].get('p99_ms')} ms; /healthz p99 during "
            f"{consistency['during']['healthz_probe'].get('p99_ms')} ms"
        )
    memory = results.get("memory", {})
    if "rss_end_mib" in memory:
        lines.append(
            f"memory (cache {memory['cache_mb']} MiB, {memory['rounds']} rounds of unique texts, "
            f"bound reached at round {memory['bound_reached_round']}): RSS start "
            f"{memory['rss_start_mib']} / at bound {memory['rss_at_bound_mib']} / middle "
            f"{memory['rss_middle_mib']} / end {memory['rss_end_mib']} MiB; max growth after bound "
            f"{_fmt(memory['max_over_bound'] * 100)}%"
        )
    int8 = results.get("int8", {})
    if int8.get("variants"):
        lines.append("")
        lines.append(
            f"| precision variant (in-process, G=8 dedup, vs fp32 {int8['fp32_seconds']} s) "
            "| speed-up | pairs/s | max abs score diff | pairs over 0.005 | max abs cosine diff |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|")
        for name, v in int8["variants"].items():
            over = v["score_diff_g8"]["over_0.005"] + v["score_diff_g32"]["over_0.005"]
            pairs = v["score_diff_g8"]["pairs"] + v["score_diff_g32"]["pairs"]
            cos = max(v["score_diff_g8"]["max_abs_cosine"], v["score_diff_g32"]["max_abs_cosine"])
            lines.append(
                f"| {name} | {v['speedup']} | {v['pairs_per_s_dedup_g8']} "
                f"| {v['max_abs_score_diff']} | {over}/{pairs} | {cos} |"
            )
    if "speedup_inproc" in int8:
        lines.append(
            f"int8 (dynamic, nn.Linear): in-process speed-up {int8['speedup_inproc']}x; max |score "
            f"diff| {int8['max_abs_score_diff']}; through the service: "
            f"{int8.get('service') or int8.get('service_note')}"
        )
    infinity = results.get("infinity", {})
    if infinity:
        lines.append(
            f"infinity-emb: {infinity.get('status')} {infinity.get('versions') or ''} "
            f"{infinity.get('equality_check') or ''} {infinity.get('why') or ''}"
        )
    lines.append("")
    lines.append("| target | value | goal | met |")
    lines.append("|---|---:|---|---|")
    for t in results.get("targets", []):
        met = {True: "yes", False: "NO", None: "-"}[t["met"]]
        lines.append(f"| {t['target']} | {_fmt(t['value'], 3)} | {t['goal']} | {met} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small workloads (~3 minutes)")
    parser.add_argument(
        "--render", metavar="JSON", help="alone: print the table of a saved run, targets recomputed"
    )
    parser.add_argument(
        "--modes",
        default=",".join(ALL_MODES),
        help=f"comma-separated, from: {', '.join(ALL_MODES + OPTIONAL_MODES)} (default: all but "
        f"{', '.join(OPTIONAL_MODES)})",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where JSON results go")
    parser.add_argument("--mgsm", default=str(DEFAULT_MGSM), help="MGSM folder (mgsm_XX.tsv)")
    parser.add_argument("--model", default="multilingual-e5-small", help="built-in name or folder")
    parser.add_argument(
        "--batch-sizes", default="16,32,64,128", help="in-process batch sizes to try"
    )
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra PIVOT_* settings for every service start (repeatable)",
    )
    parser.add_argument("--infinity-venv", default=str(inf.DEFAULT_VENV))
    parser.add_argument("--infinity-batch", type=int, default=32, help="infinity --batch-size")
    parser.add_argument("--translation-compute-type", default="int8")
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.10,
        help="repeat a measurement when other processes took more than this share of the CPU",
    )
    parser.add_argument(
        "--service-variant",
        default=None,
        help="run every service start through bench/service_variants.py with this patch",
    )
    parser.add_argument(
        "--variants",
        default="tokfix,tokfix:subbatch16+OMP_WAIT_POLICY=PASSIVE",
        help="for the `variants` mode, comma-separated specs: bench/service_variants.py patches "
        "joined by ':', then '+KEY=VALUE' environment additions",
    )
    parser.add_argument(
        "--noise-retries", type=int, default=2, help="most repeats of a noisy measurement"
    )
    parser.add_argument(
        "--mode-timeout", type=float, default=600.0, help="longest a load loop may run, seconds"
    )
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(ALL_MODES) - set(OPTIONAL_MODES)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    args.batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    return args


def write_results(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"{stamp}.json"
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    (out / "latest.json").write_text(text + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--render"] and len(argv) == 2:
        # Re-render the table (targets recomputed) of a saved run: --render FILE.json
        saved = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        saved["ratios"], saved["targets"] = compute_targets(saved)
        print(render_table(saved))
        return 0
    args = parse_args(argv)
    bench = Bench(args)
    results = bench.run()
    results["table"] = render_table(results)
    path = write_results(results, args.out)
    print(results["table"])
    print(f"\nresults: {path} (and {args.out / 'latest.json'}); server logs: {bench.log_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
