"""fidelity: every backend x precision of the service's encoder, against torch fp32 (the exact path).

For each fast path (torch bf16 autocast, torch bf16 feed-forward, OpenVINO f32, OpenVINO bf16) and
for the dropped int8 (torch dynamic quantisation, in-process only, to show why it went):

* in-process: the service's own encoder class (`predict_batch` over all unique G=8 texts in one
  call, so its length planning sees them all), speed-up vs torch fp32 measured the same way;
* reward fidelity on both MGSM workloads: max and p99 |score - fp32 score| over every pair, and
  how many pairs move by more than 0.005;
* MGSM retrieval: top-1 accuracy of each language's question among the English ones, and the AUC of
  parallel vs non-parallel calibrated scores, next to torch fp32's;
* through the service (`PIVOT_EMBEDDING_BACKEND` / `PIVOT_EMBEDDING_PRECISION`), the grouped G=8
  workload: pairs/s vs the fp32 service of the service-batched mode, and the score differences.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.runner import Bench, log
from bench.targets import pairs_per_s, ratio
from bench.workload import load_problems

# (name, backend, precision); the first is the reference.
VARIANTS = (
    ("torch-fp32", "torch", "fp32"),
    ("torch-bf16", "torch", "bf16"),
    ("torch-bf16-ffn", "torch", "bf16-ffn"),
    ("openvino-fp32", "openvino", "fp32"),
    ("openvino-bf16", "openvino", "bf16"),
    ("torch-int8 (dropped)", "torch", "int8"),
)
SCORE_TOLERANCE = 0.005


def _encoder(bench: Bench, backend: str, precision: str) -> Callable[[list[str]], np.ndarray]:
    """predict_batch of the service's encoder for (backend, precision), as one array."""
    from service.engine.encoder import SentenceTransformerEncoder

    if backend == "openvino":
        from models.registry import ensure_openvino
        from service.engine.openvino_encoder import OpenVinoEncoder

        ir = ensure_openvino(bench.model_dir, bench.cache_dir)
        encoder: Any = OpenVinoEncoder(bench.model_dir, ir, "e5", precision=precision)
    elif precision == "int8":
        import torch

        encoder = SentenceTransformerEncoder(bench.model_dir, "e5", device="cpu")
        torch.ao.quantization.quantize_dynamic(
            encoder._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
    else:
        encoder = SentenceTransformerEncoder(
            bench.model_dir, "e5", device="cpu", precision=precision
        )
    encoder.warmup()
    return lambda texts: np.stack(encoder.predict_batch(list(texts)))


def _retrieval(vectors: dict[str, np.ndarray], problems: list[Any], bench: Bench) -> dict[str, Any]:
    english = np.stack([vectors[p.questions["en"]] for p in problems])
    calibration = bench.calibration()
    top1: dict[str, float] = {}
    parallel, other = [], []
    n = len(problems)
    for lang in [lang for lang in problems[0].questions if lang != "en"]:
        native = np.stack([vectors[p.questions[lang]] for p in problems])
        cosines = native @ english.T
        top1[lang] = float(np.mean(cosines.argmax(axis=1) == np.arange(n)))
        parallel += list(np.diag(cosines))
        other += [cosines[i, (i + 17) % n] for i in range(n)]
    p = np.asarray(calibration.score(np.array(parallel)))
    o = np.asarray(calibration.score(np.array(other)))
    auc = float(np.mean(p[:, None] > o[None, :]) + 0.5 * np.mean(p[:, None] == o[None, :]))
    return {
        "problems": n,
        "top1_mean": round(float(np.mean(list(top1.values()))), 4),
        "top1_by_lang": {k: round(v, 3) for k, v in top1.items()},
        "auc": round(auc, 5),
    }


def _diff(base: np.ndarray, new: np.ndarray) -> dict[str, Any]:
    diff = np.abs(np.asarray(base) - np.asarray(new))
    return {
        "pairs": len(diff),
        "max_abs": round(float(diff.max()), 5),
        "p99_abs": round(float(np.percentile(diff, 99)), 5),
        "mean_abs": round(float(diff.mean()), 6),
        f"over_{SCORE_TOLERANCE}": int((diff > SCORE_TOLERANCE).sum()),
    }


def run(bench: Bench) -> None:
    problems = load_problems(bench.mgsm)[: bench.sizes.retrieval_problems]
    retrieval_texts = [q for p in problems for q in p.questions.values()]
    timed = bench.g8.unique_texts()
    rest = [
        t for t in dict.fromkeys(bench.g32.unique_texts() + retrieval_texts) if t not in set(timed)
    ]
    out: dict[str, Any] = {
        "reference": "torch-fp32",
        "texts_timed": len(timed),
        "score_tolerance": SCORE_TOLERANCE,
        "cosine_tolerance_equivalent": round(
            SCORE_TOLERANCE * (bench.calibration().high - bench.calibration().low), 6
        ),
        "variants": {},
    }
    bench.results["fidelity"] = out
    reference: dict[str, np.ndarray] = {}
    base_seconds: float | None = None
    for name, backend, precision in VARIANTS:
        entry: dict[str, Any] = {"backend": backend, "precision": precision}
        out["variants"][name] = entry
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                encode = _encoder(bench, backend, precision)
                seconds, vectors, cpu = bench.timed(
                    f"fidelity {name}", lambda encode=encode: encode(timed)
                )
                by_text = dict(zip(timed, vectors, strict=True))
                by_text.update(zip(rest, encode(rest), strict=True))
        except Exception as exc:  # e.g. no OpenVINO: record it, go on with the others
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log(f"fidelity {name}: FAILED {entry['error']}")
            continue
        finally:
            encode = None  # type: ignore[assignment]
            gc.collect()
        if not reference:
            reference, base_seconds = by_text, seconds
        entry.update(
            {
                "seconds": round(seconds, 2),
                "speedup_inproc": round((base_seconds or seconds) / seconds, 3),
                "pairs_per_s_dedup_g8": round(bench.g8.pairs / seconds, 2),
                "cpu": cpu,
                **bench.compute_figures(timed, seconds),
            }
        )
        worst = 0.0
        for key, workload in (("g8", bench.g8), ("g32", bench.g32)):
            entry[f"score_diff_{key}"] = _diff(
                bench.pair_scores(workload, reference), bench.pair_scores(workload, by_text)
            )
            worst = max(worst, entry[f"score_diff_{key}"]["max_abs"])
        entry["max_abs_score_diff"] = worst
        entry["p99_abs_score_diff"] = max(
            entry["score_diff_g8"]["p99_abs"], entry["score_diff_g32"]["p99_abs"]
        )
        entry["min_cosine_to_fp32"] = round(
            float(min(np.dot(reference[t], by_text[t]) for t in by_text)), 7
        )
        entry["retrieval"] = _retrieval(by_text, problems, bench)
        log(
            f"fidelity {name}: in-process speed-up {entry['speedup_inproc']}x, max |score diff| "
            f"{worst:.4f}, top-1 {entry['retrieval']['top1_mean']}, AUC {entry['retrieval']['auc']}"
        )
    base_retrieval = out["variants"]["torch-fp32"].get("retrieval", {})
    for entry in out["variants"].values():
        if "retrieval" in entry and base_retrieval:
            entry["retrieval"]["top1_delta"] = round(
                entry["retrieval"]["top1_mean"] - base_retrieval["top1_mean"], 4
            )
            entry["retrieval"]["auc_delta"] = round(
                entry["retrieval"]["auc"] - base_retrieval["auc"], 5
            )
    _through_the_service(bench, out)


def _through_the_service(bench: Bench, out: dict[str, Any]) -> None:
    base = bench.reference_scores.get("service-g8")
    for name, backend, precision in VARIANTS[1:]:
        if precision == "int8":
            continue  # no longer a setting
        mode = f"service-{backend}-{precision}-batched-g8"
        env = {"PIVOT_EMBEDDING_BACKEND": backend, "PIVOT_EMBEDDING_PRECISION": precision}
        result = bench.http_mode(
            mode,
            lambda env=env, mode=mode: bench.service(mode.removeprefix("service-"), **env),
            bench.grouped_requests(bench.g8),
            bench.sizes.batched_concurrency,
            bench.g8.unique_texts(),
            keep=bench.keep_scores,
            extra={"form": f"grouped, G=8, {backend} {precision}", "variant": name},
        )
        entry = out["variants"][name]
        entry["service_mode"] = mode
        entry["service_pairs_per_s"] = pairs_per_s(bench.results, mode)
        entry["speedup_service"] = ratio(
            entry["service_pairs_per_s"], pairs_per_s(bench.results, "service-batched-g8")
        )
        if result is not None and base is not None:
            scores = np.array([s for r in result.responses if r for s in r])
            if len(scores) == len(base):
                entry["service_score_diff_g8"] = _diff(base, scores)
