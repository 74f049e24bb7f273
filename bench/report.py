"""The printed report of a run (tables and one-line summaries) and the JSON files it writes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from bench.targets import pairs_per_s, ratio


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
                naive = pairs_per_s(results, f"naive-batched-{key}")
            else:
                naive = pairs_per_s(results, "naive-single-c64")
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
    lines += fidelity_table(results.get("fidelity", {}))
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


def fidelity_table(fidelity: dict[str, Any]) -> list[str]:
    """Backend x precision: speed and what each fast path costs in reward fidelity."""
    variants = fidelity.get("variants")
    if not variants:
        return []
    lines = [
        "",
        f"| backend x precision (vs torch fp32; in-process = encoder over the "
        f"{fidelity.get('texts_timed')} G=8 texts) | in-process speed-up | service G=8 pairs/s "
        "| service speed-up | max / p99 abs score diff g8 | g32 | pairs over 0.005 "
        "| service max / p99 abs score diff | min cosine | MGSM top-1 (delta) | AUC (delta) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, v in variants.items():
        if "error" in v:
            lines.append(f"| {name} | failed: {v['error'][:80]} | | | | | | | | | |")
            continue
        g8, g32 = v["score_diff_g8"], v["score_diff_g32"]
        over = g8["over_0.005"] + g32["over_0.005"]
        service = v.get("service_score_diff_g8")
        service_text = f"{service['max_abs']} / {service['p99_abs']}" if service else "-"
        retrieval = v.get("retrieval", {})
        lines.append(
            f"| {name} | {_fmt(v.get('speedup_inproc'), 2)} | {_fmt(v.get('service_pairs_per_s'))} "
            f"| {_fmt(v.get('speedup_service'), 2)} | {g8['max_abs']} / {g8['p99_abs']} "
            f"| {g32['max_abs']} / {g32['p99_abs']} | {over}/{g8['pairs'] + g32['pairs']} "
            f"| {service_text} "
            f"| {v.get('min_cosine_to_fp32')} "
            f"| {retrieval.get('top1_mean')} ({_fmt(retrieval.get('top1_delta'), 4)}) "
            f"| {retrieval.get('auc')} ({_fmt(retrieval.get('auc_delta'), 5)}) |"
        )
    return lines


def write_results(results: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"{stamp}.json"
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    (out / "latest.json").write_text(text + "\n", encoding="utf-8")
    return path
