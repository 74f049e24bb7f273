"""The language-fidelity gate against the shared labelled gate cases (skips when ../shared is absent).

`../shared/data/gate_dev.jsonl`: 90 rollouts, each with its target language, English reference,
expected verdict (pass / fail) and a class (pasted_in_code_fence, romanized, think_then_native...).
Every case must be right; the per-class table and the misses are printed (run with -s). The
gate's own per-class tests, written independently of this file, are tests/unit/test_gate_hardening.py.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from service.scoring.fidelity import check_fidelity

pytestmark = pytest.mark.data

GATE_DEV = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gate_dev.jsonl"


def _load() -> list[dict[str, Any]]:
    if not GATE_DEV.is_file():
        pytest.skip(f"shared data not found: {GATE_DEV} (checked out without ../shared?)")
    with GATE_DEV.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_gate_dev_cases_are_all_right() -> None:
    rows = _load()
    assert len(rows) >= 90
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: list[str] = []
    for row in rows:
        assert row["expected"] in ("pass", "fail"), row["id"]
        verdict = check_fidelity(row["response"], row["lang"], reference=row["reference"])
        total[row["class"]] += 1
        if verdict.passed == (row["expected"] == "pass"):
            right[row["class"]] += 1
        else:
            misses.append(
                f"{row['id']} [{row['lang']} {row['class']}] expected {row['expected']}, got "
                f"{verdict.reason} (detected {verdict.detected_lang}, share {verdict.target_share}, "
                f"copy {verdict.copy_overlap}, containment {verdict.containment})"
            )
    print("\n| class | right |\n|---|---|")
    for name in sorted(total):
        print(f"| {name} | {right[name]}/{total[name]} |")
    print(f"| all | {sum(right.values())}/{len(rows)} |")
    print("\n".join(misses))
    assert not misses, "\n".join(misses)


def test_failing_cases_fail_for_a_reason_that_fits_their_class() -> None:
    # A paste must be caught as a copy, not by luck as the wrong language; an English answer
    # in its own words as the wrong language.
    expected_reason = {
        "pasted_in_code_fence": {"copied_reference"},
        "pasted_in_math": {"copied_reference"},
        "pasted_reference": {"copied_reference"},
        "pasted_with_native_wrapper": {"copied_reference"},
        "romanized": {"wrong_language"},
        "wrong_language_related": {"wrong_language"},
        "english_answer": {"wrong_language"},
    }
    wrong = []
    for row in _load():
        allowed = expected_reason.get(row["class"])
        if allowed is None:
            continue
        reason = check_fidelity(row["response"], row["lang"], reference=row["reference"]).reason
        if reason not in allowed:
            wrong.append(f"{row['id']} [{row['class']}]: {reason}")
    assert not wrong, wrong
