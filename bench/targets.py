"""The run's ratios and its targets (goal and met/not met), computed from the results dict."""

from __future__ import annotations

from typing import Any


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def pairs_per_s(results: dict[str, Any], mode: str) -> float | None:
    entry = results.get("modes", {}).get(mode)
    if not entry or "error" in entry:
        return None
    return entry.get("pairs_per_s")


def compute_targets(results: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    inproc = results.get("inproc", {})
    ratios: dict[str, Any] = {}
    for key in ("g8", "g32"):
        svc = pairs_per_s(results, f"service-batched-{key}")
        ratios[f"service_batched_{key}_vs_inproc_dedup"] = ratio(
            svc, inproc.get(key, {}).get("dedup", {}).get("pairs_per_s")
        )
        ratios[f"service_batched_{key}_vs_inproc_nodedup"] = ratio(
            svc, inproc.get(key, {}).get("nodedup", {}).get("pairs_per_s")
        )
        ratios[f"service_batched_{key}_vs_naive_batched"] = ratio(
            svc, pairs_per_s(results, f"naive-batched-{key}")
        )
        ratios[f"naive_batched_{key}_vs_inproc_nodedup"] = ratio(
            pairs_per_s(results, f"naive-batched-{key}"),
            inproc.get(key, {}).get("nodedup", {}).get("pairs_per_s"),
        )
    for c in (64, 256):
        ratios[f"service_single_c{c}_vs_service_batched_g8"] = ratio(
            pairs_per_s(results, f"service-single-c{c}"), pairs_per_s(results, "service-batched-g8")
        )
    ratios["service_single_c64_vs_naive_single_c64"] = ratio(
        pairs_per_s(results, "service-single-c64"), pairs_per_s(results, "naive-single-c64")
    )
    ratios["service_single_c64_vs_infinity_single_c64"] = ratio(
        pairs_per_s(results, "service-single-c64"), pairs_per_s(results, "infinity-single-c64")
    )
    ratios["infinity_single_c64_vs_naive_single_c64"] = ratio(
        pairs_per_s(results, "infinity-single-c64"), pairs_per_s(results, "naive-single-c64")
    )
    fidelity = results.get("fidelity", {}).get("variants", {})
    for name, entry in fidelity.items():
        if entry.get("speedup_service") is not None:
            ratios[f"service_{name}_vs_fp32_batched_g8"] = entry["speedup_service"]
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
            ">= 0.9",
            at_least(ratios["service_batched_g8_vs_inproc_dedup"], 0.9),
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
            ">= 0.9",
            at_least(ratios["service_single_c256_vs_service_batched_g8"], 0.9),
        ),
        target(
            "one pair per request c=64 vs infinity-emb",
            ratios["service_single_c64_vs_infinity_single_c64"],
            ">= 1.5",
            at_least(ratios["service_single_c64_vs_infinity_single_c64"], 1.5),
        ),
        *fidelity_targets(fidelity),
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


def fidelity_targets(variants: dict[str, Any]) -> list[dict[str, Any]]:
    """Per fast path: exact paths stay exact, retrieval and AUC unchanged, the rest reported."""
    out: list[dict[str, Any]] = []
    for name, entry in variants.items():
        if name == "torch-fp32" or "error" in entry:
            continue
        diff = entry.get("max_abs_score_diff")
        if entry.get("precision") == "fp32":
            out.append(
                {
                    "target": f"{name}: max |score - torch fp32 score| (exact path)",
                    "value": diff,
                    "goal": "<= 0.001",
                    "met": None if diff is None else diff <= 0.001,
                }
            )
        else:
            out.append(
                {
                    "target": f"{name}: max |score - torch fp32 score| (report)",
                    "value": diff,
                    "goal": "report",
                    "met": None,
                }
            )
        retrieval = entry.get("retrieval", {})
        if "top1_delta" in retrieval and "dropped" not in name:
            out.append(
                {
                    "target": f"{name}: MGSM top-1 retrieval change",
                    "value": retrieval["top1_delta"],
                    "goal": "|delta| <= 0.005",
                    "met": abs(retrieval["top1_delta"]) <= 0.005,
                }
            )
            out.append(
                {
                    "target": f"{name}: parallel/non-parallel AUC change",
                    "value": retrieval["auc_delta"],
                    "goal": "|delta| <= 0.001",
                    "met": abs(retrieval["auc_delta"]) <= 0.001,
                }
            )
    return out
