"""inproc: the in-process limit, sentence-transformers `encode` with the batch size tuned, with and
without deduplication."""

from __future__ import annotations

from typing import Any

from bench.runner import Bench, loadavg, log


def run(bench: Bench) -> None:
    model = bench.st_model
    out: dict[str, Any] = {}
    sample = bench.g8.unique_texts()[: bench.sizes.tune_texts]
    bench.encode(model, sample[:8], 8)  # lazy initialisation
    tuning: dict[str, float] = {}
    for batch_size in bench.args.batch_sizes:
        seconds, _, _ = bench.timed(
            f"inproc batch size {batch_size}",
            lambda b=batch_size: bench.encode(model, sample, b),
        )
        tuning[str(batch_size)] = round(len(sample) / seconds, 2)
        log(f"inproc: batch size {batch_size}: {tuning[str(batch_size)]} texts/s")
    best = int(max(tuning, key=lambda k: tuning[k]))
    out["tuning_texts_per_s"] = tuning
    out["tuning_texts"] = len(sample)
    out["batch_size"] = best
    bench.fp32_vectors.clear()
    for key, workload in (("g8", bench.g8), ("g32", bench.g32)):
        entry: dict[str, Any] = {"pairs": workload.pairs, "loadavg_before": loadavg()}
        unique = workload.unique_texts()
        seconds, vectors, cpu = bench.timed(
            f"inproc {key} dedup", lambda u=unique: bench.encode(model, u, best)
        )
        by_text = dict(zip(unique, vectors, strict=True))
        bench.reference_scores[f"inproc-{key}"] = bench.pair_scores(workload, by_text)
        bench.fp32_vectors.update(by_text)
        entry["dedup"] = {
            "seconds": round(seconds, 2),
            "pairs_per_s": round(workload.pairs / seconds, 2),
            "cpu": cpu,
            **bench.compute_figures(unique, seconds),
        }
        everything = workload.all_texts()
        seconds, _, cpu = bench.timed(
            f"inproc {key} no dedup", lambda e=everything: bench.encode(model, e, best)
        )
        entry["nodedup"] = {
            "seconds": round(seconds, 2),
            "pairs_per_s": round(workload.pairs / seconds, 2),
            "cpu": cpu,
            **bench.compute_figures(everything, seconds),
        }
        entry["loadavg_after"] = loadavg()
        out[key] = entry
        log(
            f"inproc {key}: dedup {entry['dedup']['pairs_per_s']} pairs/s, "
            f"no dedup {entry['nodedup']['pairs_per_s']} pairs/s"
        )
    bench.results["inproc"] = out
