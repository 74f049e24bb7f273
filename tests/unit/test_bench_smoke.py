"""Smoke test of the benchmark harness (bench/): the workload builder, the load generator against
the hash-encoder app on loopback, and the targets/table code. Not a timed test: no speed asserts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.load import load
from bench.run import Bench, compute_targets, render_table
from bench.workload import MAX_G, PIVOT, TARGET_LANGS, build_workload

LANGS = (PIVOT, *TARGET_LANGS)


def _fake_mgsm(root: Path, problems: int = 6, exemplars: bool = True) -> Path:
    for lang in LANGS:
        rows = [
            f"[{lang}] Problem {i}: Tom has {i} apples. How many?\t{i * 3}" for i in range(problems)
        ]
        (root / f"mgsm_{lang}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if exemplars:
        data = {
            "number_answers": [11, 29],
            "exemplars": {
                lang: {
                    "1": {"q": "Q1", "a": f"[{lang}] Step by step: 5 + 6 = 11. The answer is 11."},
                    "2": {"q": "Q2", "a": f"[{lang}] Step by step: 9 + 20 = 29. The answer is 29."},
                }
                for lang in LANGS
            },
        }
        (root / "exemplars.json").write_text(json.dumps(data), encoding="utf-8")
    return root


@pytest.mark.parametrize("with_exemplars", [True, False])
def test_workload_is_grpo_shaped(tmp_path: Path, with_exemplars: bool) -> None:
    mgsm = _fake_mgsm(tmp_path, exemplars=with_exemplars)
    workload = build_workload(4, 32, mgsm_dir=mgsm, start=1)
    assert workload.pairs == 4 * 32
    for prompt in workload.prompts:
        assert prompt.reference.startswith(f"[{PIVOT}]")
        assert len(prompt.rollouts) == 32
        assert len(set(prompt.rollouts)) == 32, "rollouts of a prompt are distinct texts"
        assert len(set(prompt.langs)) == len(TARGET_LANGS), "languages are mixed"
        assert PIVOT not in prompt.langs
    # The only duplicates are each prompt's reference, sent once per rollout.
    assert len(workload.unique_texts()) == 4 * (32 + 1)
    assert len(workload.all_texts()) == 2 * workload.pairs
    salted = build_workload(4, 8, mgsm_dir=mgsm, salt="x")
    assert not set(salted.unique_texts()) & set(build_workload(4, 8, mgsm_dir=mgsm).unique_texts())
    with pytest.raises(ValueError):
        build_workload(1, MAX_G + 1, mgsm_dir=mgsm)


def test_one_tiny_mode_against_the_hash_encoder(tmp_path: Path, fast_server: str) -> None:
    workload = build_workload(3, 8, mgsm_dir=_fake_mgsm(tmp_path))
    grouped = load(fast_server, Bench.grouped_requests(workload), 2, keep=Bench.keep_scores)
    single = load(fast_server, Bench.single_requests(workload), 8, deadline_s=60)
    for result in (grouped, single):
        assert result.errors == {}
        assert result.items == workload.pairs
        summary = result.summary()
        assert summary["items_per_s"] > 0 and summary["p99_ms"] >= summary["p50_ms"]
    scores = [s for r in grouped.responses for s in r]
    assert len(scores) == workload.pairs and all(0.0 <= s <= 1.0 for s in scores)


def test_targets_and_table_from_partial_results() -> None:
    results = {
        "inproc": {"g8": {"dedup": {"pairs_per_s": 40.0}, "nodedup": {"pairs_per_s": 25.0}}},
        "modes": {
            "service-batched-g8": {
                "pairs_per_s": 36.0,
                "p50_ms": 1.0,
                "p99_ms": 2.0,
                "peak_rss_mib": 1.0,
            },
            "naive-batched-g8": {
                "pairs_per_s": 20.0,
                "p50_ms": 1.0,
                "p99_ms": 2.0,
                "peak_rss_mib": 1.0,
            },
            "service-single-c256": {"error": "RuntimeError: boom"},
        },
    }
    ratios, targets = compute_targets(results)
    assert ratios["service_batched_g8_vs_inproc_dedup"] == 0.9
    assert ratios["service_batched_g8_vs_naive_batched"] == 1.8
    by_name = {t["target"]: t for t in targets}
    assert by_name["batched HTTP G=8 vs in-process limit with dedup"]["met"] is True
    assert by_name["one pair per request c=256 vs batched G=8"]["met"] is None
    results["ratios"], results["targets"] = ratios, targets
    table = render_table(results)
    assert "service-batched-g8" in table and "failed" in table


def test_fidelity_targets_and_table() -> None:
    diff = {"pairs": 8, "max_abs": 0.0001, "p99_abs": 0.0001, "mean_abs": 0.0, "over_0.005": 0}
    bf16 = {**diff, "max_abs": 0.008, "p99_abs": 0.004, "over_0.005": 2}
    retrieval = {"top1_mean": 0.9, "auc": 0.99, "top1_delta": 0.0, "auc_delta": 0.0}
    results = {
        "fidelity": {
            "texts_timed": 9,
            "variants": {
                "torch-fp32": {
                    "precision": "fp32",
                    "speedup_inproc": 1.0,
                    "score_diff_g8": diff,
                    "score_diff_g32": diff,
                    "max_abs_score_diff": 0.0,
                    "retrieval": retrieval,
                },
                "openvino-fp32": {
                    "precision": "fp32",
                    "speedup_inproc": 1.1,
                    "score_diff_g8": diff,
                    "score_diff_g32": diff,
                    "max_abs_score_diff": 0.0001,
                    "retrieval": retrieval,
                    "speedup_service": 1.05,
                    "service_pairs_per_s": 40.0,
                },
                "openvino-bf16": {
                    "precision": "bf16",
                    "speedup_inproc": 2.8,
                    "score_diff_g8": bf16,
                    "score_diff_g32": bf16,
                    "max_abs_score_diff": 0.008,
                    "retrieval": {**retrieval, "top1_delta": -0.01},
                },
                "torch-int8 (dropped)": {"error": "RuntimeError: no engine"},
            },
        }
    }
    ratios, targets = compute_targets(results)
    by_name = {t["target"]: t for t in targets}
    assert by_name["openvino-fp32: max |score - torch fp32 score| (exact path)"]["met"] is True
    assert by_name["openvino-bf16: max |score - torch fp32 score| (report)"]["met"] is None
    assert by_name["openvino-bf16: MGSM top-1 retrieval change"]["met"] is False
    assert ratios["service_openvino-fp32_vs_fp32_batched_g8"] == 1.05
    results["targets"] = targets
    table = render_table(results)
    assert "| openvino-bf16 | 2.80 |" in table and "failed: RuntimeError" in table
