"""int8: reduced precision in-process (speed-up, score error vs fp32) and through the service."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.runner import Bench, log
from bench.targets import pairs_per_s, ratio


def run(bench: Bench) -> None:
    """int8 (and bf16) variants in-process: speed-up and score error vs fp32 on MGSM."""
    import warnings

    from bench import precision

    out: dict[str, Any] = {
        "method": "torch.ao.quantization.quantize_dynamic(nn.Linear, qint8), per tensor",
        "score_goal": "every |score - fp32 score| <= 0.005 (cosine within 0.005 * (high - low))",
    }
    calibration = bench.calibration()
    out["cosine_tolerance_equivalent"] = round(0.005 * (calibration.high - calibration.low), 6)
    batch_size = int(bench.results.get("inproc", {}).get("batch_size", 16))
    model = bench.st_model
    unique = bench.g8.unique_texts()
    everything = list(dict.fromkeys(unique + bench.g32.unique_texts()))
    fp32_seconds, fp32_vectors, fp32_cpu = bench.timed(
        "precision fp32", lambda: bench.encode(model, unique, batch_size)
    )
    fp32 = dict(zip(unique, fp32_vectors, strict=True))
    rest = [t for t in everything if t not in fp32]
    fp32.update(zip(rest, bench.encode(model, rest, batch_size), strict=True))
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
                    return bench.encode(m, texts, batch_size)

            run(texts=unique[:8])  # lazy initialisation
            seconds, vectors, cpu = bench.timed(f"precision {variant}", run)
            got = dict(zip(unique, vectors, strict=True))
            got.update(zip(rest, run(texts=rest), strict=True))
        entry: dict[str, Any] = {
            "seconds": round(seconds, 2),
            "speedup": round(fp32_seconds / seconds, 3),
            "pairs_per_s_dedup_g8": round(bench.g8.pairs / seconds, 2),
            "cpu": cpu,
            **bench.compute_figures(unique, seconds),
        }
        worst = 0.0
        for key, workload in (("g8", bench.g8), ("g32", bench.g32)):
            base = bench.pair_scores(workload, fp32)
            new = bench.pair_scores(workload, got)
            cos_base = np.array([float(np.dot(fp32[c], fp32[r])) for c, r in workload.iter_pairs()])
            cos_new = np.array([float(np.dot(got[c], got[r])) for c, r in workload.iter_pairs()])
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
    if "embedding_precision" in bench.settings_fields:
        options = [
            (f"PIVOT_EMBEDDING_PRECISION={p}", {"PIVOT_EMBEDDING_PRECISION": p})
            for p in ("int8", "bf16")
        ]
    elif "embedding_quantize" in bench.settings_fields:
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
        result = bench.http_mode(
            f"service-{short}-batched-g8",
            lambda env=env, short=short: bench.service(f"{short}-batched-g8", **env),
            bench.grouped_requests(bench.g8),
            bench.sizes.batched_concurrency,
            bench.g8.unique_texts(),
            keep=bench.keep_scores,
            extra={"form": f"grouped, G=8, {label}"},
        )
        if result is None:
            continue
        scores = np.array([s for r in result.responses if r for s in r])
        base = bench.reference_scores.get("service-g8")
        vs = "service fp32 (service-batched-g8)"
        if base is None:
            base, vs = bench.reference_scores.get("inproc-g8"), "in-process fp32"
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
        entry["pairs_per_s"] = bench.results["modes"][f"service-{short}-batched-g8"].get(
            "pairs_per_s"
        )
        entry["speedup_vs_service_fp32"] = ratio(
            entry["pairs_per_s"], pairs_per_s(bench.results, "service-batched-g8")
        )
        out["service"][short] = entry
    bench.results["int8"] = out
