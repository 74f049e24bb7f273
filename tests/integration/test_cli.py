"""The `pivot-reward` CLI: score (offline JSONL), info, and configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REFERENCE = "She sells 9 eggs at $2 each. The answer is 18."


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PIVOT_EMBEDDING_MODEL": "test-hash-encoder", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def test_score_jsonl_matches_the_service_pipeline(tmp_path: Path) -> None:
    rows = [
        {
            "id": 1,
            "response": "Sie verkauft 9 Eier zu je 2 $. Die Antwort lautet 18.",
            "lang": "de",
            "reference": REFERENCE,
            "pivot_answer": "18",
        },
        {
            "id": 2,
            "response": REFERENCE,
            "lang": "de",
            "reference": REFERENCE,
            "pivot_answer": "18",
        },
        {
            "id": 3,
            "response": "La réponse est 20.",
            "lang": "fr",
            "reference": REFERENCE,
            "pivot_answer": "18",
        },
    ]
    source = tmp_path / "rollouts.jsonl"
    source.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    output = tmp_path / "scored.jsonl"
    result = run_cli("score", str(source), "-o", str(output), "--preset", "hybrid")
    assert result.returncode == 0, result.stderr
    assert "scoring" in result.stderr  # the progress bar
    scored = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [s["id"] for s in scored] == [1, 2, 3]
    assert scored[0]["answer_status"] == "match" and scored[0]["reward"] > 0
    assert scored[1]["gate"] != "ok" and scored[1]["reward"] == 0.0
    assert scored[2]["answer_status"] == "mismatch"


def test_score_reports_the_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(
        '{"response": "x", "lang": "de", "reference": "r"}\n{"response": "x", "lang": 7}\n',
        encoding="utf-8",
    )
    result = run_cli("score", str(source), "--quiet")
    assert result.returncode == 2
    assert "bad.jsonl:2" in result.stderr and "lang" in result.stderr


def test_info_and_bad_configuration() -> None:
    info = run_cli("info")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["settings"]["embedding_model"] == "test-hash-encoder"
    bad = run_cli("info", env={"PIVOT_PORT": "99999"})
    assert bad.returncode == 2 and "PIVOT_PORT" in bad.stderr


def test_score_flags_long_and_unscorable_lines_instead_of_failing(tmp_path: Path) -> None:
    long_response = (
        " ".join(f"Schritt {i}: {i} + {i} = {2 * i}." for i in range(8_000))
        + " Die Antwort lautet 18."
    )
    rows = [
        {"response": long_response, "lang": "de", "reference": REFERENCE, "pivot_answer": "18"},
        {"response": "Die Antwort lautet 18.", "lang": "de", "pivot_answer": "18"},
        {"response": "18", "reference": REFERENCE, "pivot_answer": "18"},
    ]
    assert len(long_response) > 100_000  # over the schema's old hard ceiling, too
    source = tmp_path / "rollouts.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = run_cli("score", str(source), "--quiet", "--preset", "hybrid")
    assert result.returncode == 0, result.stderr
    scored = [json.loads(line) for line in result.stdout.splitlines()]
    assert scored[0]["truncated"] is True and scored[0]["reward"] is not None
    assert scored[0]["original_chars"] == {"response": len(long_response)}
    assert scored[0]["answer_status"] == "match" and scored[0]["reason"] is None
    assert (scored[1]["reward"], scored[1]["reason"]) == (None, "no_reference")
    assert (scored[2]["reward"], scored[2]["reason"]) == (None, "language_unknown")
