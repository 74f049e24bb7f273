"""Smoke runs of bench/cpu_isolation.py and bench/soak.py against the hash-encoder service: the
harnesses run end to end and write their JSON. Not timed tests: no speed is asserted here (the
figures come from the real runs, see bench/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import cpu_isolation, soak
from tests.conftest import MGSM_DIR

pytestmark = pytest.mark.skipif(
    not MGSM_DIR.is_dir(), reason=f"MGSM not found at {MGSM_DIR} (the workloads are built from it)"
)


def test_cpu_isolation_harness_runs_both_pools(tmp_path: Path) -> None:
    result = cpu_isolation.main(
        [
            "--model=test-hash-encoder",
            "--probes=5",
            "--during-s=1",
            "--items=48",
            f"--out={tmp_path}",
        ]
    )
    assert set(result["runs"]) == {"process", "thread"}
    for run in result["runs"].values():
        assert "error" not in run, run
        assert run["idle"]["similarity"]["n"] == 5
        assert run["during"]["similarity"]["n"] >= 1
        assert run["during"]["consistency"]["requests"] >= 1
        assert run["during"]["consistency"]["statuses"] == {
            "200": run["during"]["consistency"]["requests"]
        }
        assert run["p99_ratio"] is not None
    saved = json.loads((tmp_path / "cpu_isolation-latest.json").read_text())
    assert saved["items_per_request"] == 48


def test_soak_harness_reports_errors_drift_and_memory(tmp_path: Path) -> None:
    result = soak.main(
        [
            "--model=test-hash-encoder",
            "--duration-s=12",
            "--warmup-s=2",
            "--window-s=4",
            "--rate=8",
            "--sample-s=0.5",
            f"--out={tmp_path}",
        ]
    )
    summary = result["summary"]
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["requests"] == 96
    assert set(summary["per_route"]) == {
        "/v1/similarity",
        "/v1/answer-consistency",
        "/v1/rewards",
        "/v1/rank",
    }
    assert summary["p99_drift"] is not None
    assert result["rss"]["server"]["samples"] >= 1
    assert result["rss"]["tree"]["first_mib"] >= result["rss"]["server"]["first_mib"]
    assert json.loads((tmp_path / "soak-latest.json").read_text())["bench"] == "soak"
