"""`pivot-reward bench`: the built-in workloads replayed against a real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from service.cli import main
from service.loadgen.tool import BenchArgumentError, run
from service.loadgen.workloads import LANGS, MAX_GROUP, WORKLOADS, build_groups
from tests.conftest import REPO_ROOT, HashFactory


def test_groups_are_grpo_shaped_and_distinct_per_run() -> None:
    groups = build_groups(20, 32, "r1")
    for group in groups:
        assert len(group.rollouts) == 32 and len(set(group.rollouts)) == 32
        assert set(group.langs) == set(LANGS), "languages are mixed in every group"
        assert "en" not in group.langs
    texts = {t for g in groups for t in (g.reference, *g.rollouts)}
    assert len(texts) == 20 * 33, "no text repeats across prompts"
    other = {t for g in build_groups(20, 32, "r2") for t in (g.reference, *g.rollouts)}
    assert not texts & other, "a new run id defeats the embedding cache"
    with pytest.raises(ValueError):
        build_groups(1, MAX_GROUP + 1, "x")


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_each_workload_runs_against_a_loopback_server(
    name: str, fast_server: str, hash_factory: HashFactory
) -> None:
    report = run(fast_server, name, max_requests=12, duration_s=60)
    assert report["errors"] == {}
    assert report["requests_ok"] == report["requests_planned"] == 12
    expected_pairs = 12 * (1 if name == "openrlhf-c256" else WORKLOADS[name].group)
    assert report["pairs"] == expected_pairs
    assert report["pairs_per_s"] > 0 and report["p99_ms"] >= report["p50_ms"] > 0
    # The server really scored them: every text (plus the 2 warm-up requests') was embedded.
    assert len(hash_factory.encoder.calls) > 0


def test_the_command_prints_a_report_and_json(
    fast_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--url", fast_server + "/", "--requests", "4"]) == 0
    out = capsys.readouterr().out
    assert "grpo-g8 against" in out and "pairs/s" in out and "errors: none" in out
    assert (
        main(["bench", "--url", fast_server, "--workload", "grpo-g32", "--requests", "2", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["workload"] == "grpo-g32" and report["pairs"] == 64


def test_bounds_and_bad_urls_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["bench", "--url", "ftp://127.0.0.1:8000"],
        ["bench", "--url", "127.0.0.1:8000"],
        ["bench", "--requests", "0"],
        ["bench", "--requests", "100000"],
        ["bench", "--duration", "0"],
        ["bench", "--duration", "99999"],
    ):
        assert main(argv) == 2, argv
        assert "pivot-reward bench:" in capsys.readouterr().err
    with pytest.raises(BenchArgumentError):
        run("http://127.0.0.1:1", "no-such-workload")


def test_the_deadline_bounds_a_run(fast_server: str) -> None:
    report = run(fast_server, "openrlhf-c256", max_requests=2000, duration_s=0.5, warmup=0)
    assert report["requests_ok"] < 2000
    assert report["errors"].get("not_sent_deadline", 0) > 0


def test_an_unreachable_instance_is_an_error_not_a_hang() -> None:
    report = run("http://127.0.0.1:9", "grpo-g8", max_requests=3, duration_s=20, warmup=0)
    assert report["requests_ok"] == 0 and sum(report["errors"].values()) == 3


def test_runs_as_a_command_without_the_repository_bench_folder(fast_server: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # From another working directory, with only the service package importable: no bench/, no data.
    code = (
        "import sys; sys.modules['bench'] = None; "
        "from service.cli import main; raise SystemExit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "bench", "--url", fast_server, "--requests", "3", "--json"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pairs"] == 24
    assert httpx.get(fast_server + "/readyz").status_code == 200
