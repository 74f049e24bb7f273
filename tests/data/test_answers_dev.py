"""Answer extraction against the shared labelled data (skips when ../shared is absent).

The thresholds are on the whole file; the per-language table and the misses are printed
(run with -s) so regressions are easy to read.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from service.scoring.answers import (
    answers_equal,
    canonical_number,
    extract_final_answer,
    score_consistency,
)
from service.scoring.languages import MGSM_LANGUAGES

pytestmark = pytest.mark.data

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DEV_FILE = SHARED / "answers_dev.jsonl"
MGSM_DIR = SHARED / "mgsm"
EXEMPLARS = MGSM_DIR / "exemplars.json"
MIN_STATUS_ACCURACY = 0.98


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"shared data not found: {path.resolve()} (checked out without ../shared?)")


def _load_dev() -> list[dict[str, Any]]:
    _require(DEV_FILE)
    with DEV_FILE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_dev_status_accuracy() -> None:
    rows = _load_dev()
    assert rows, "answers_dev.jsonl is empty"
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: list[str] = []
    for row in rows:
        res = score_consistency(
            row["target_response"], row["lang"], pivot_response=row["pivot_response"]
        )
        total[row["lang"]] += 1
        if res.status == row["expected"]:
            correct[row["lang"]] += 1
        else:
            misses.append(
                f"{row['id']} [{row['lang']}] expected {row['expected']}, got {res.status} "
                f"({res.detail}) - {row['note']}"
            )
    print("\nper-language status accuracy:")
    for lang in sorted(total):
        print(f"  {lang}: {correct[lang]}/{total[lang]} = {correct[lang] / total[lang]:.1%}")
    accuracy = sum(correct.values()) / len(rows)
    print(f"  all: {sum(correct.values())}/{len(rows)} = {accuracy:.1%}")
    for miss in misses:
        print("  MISS", miss)
    assert accuracy >= MIN_STATUS_ACCURACY, "\n".join(misses)


def test_dev_extracted_values() -> None:
    """Where the labels name the answers, the extracted values must equal them numerically."""
    rows = _load_dev()
    wrong = []
    for row in rows:
        for side, text, lang in (
            ("target", row["target_response"], row["lang"]),
            ("pivot", row["pivot_response"], "en"),
        ):
            label = row[f"{side}_answer"]
            got = extract_final_answer(text, lang).value
            ok = got is None if label is None else got is not None and answers_equal(got, label)
            if not ok:
                wrong.append(f"{row['id']} {side}: label {label!r}, got {got!r} - {row['note']}")
    assert len(wrong) <= 0.02 * 2 * len(rows), "\n".join(wrong)


def _load_exemplars() -> dict[str, Any]:
    _require(EXEMPLARS)
    with EXEMPLARS.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.mark.parametrize("lang", MGSM_LANGUAGES)
def test_mgsm_exemplars(lang: str) -> None:
    """MGSM's native few-shot answers end with the language's phrase; it must be found."""
    data = _load_exemplars()
    exemplars = data["exemplars"].get(lang)
    if not exemplars:
        pytest.skip(f"no exemplars for {lang}")
    for key, exemplar in sorted(exemplars.items()):
        got = extract_final_answer(exemplar["a"], lang)
        expected = str(data["number_answers"][int(key) - 1])
        assert got.value == expected, (lang, key, got)
        assert got.method == "phrase" and not got.fallback, (lang, key, got)


@pytest.mark.parametrize("lang", MGSM_LANGUAGES)
def test_mgsm_gold_answers_parse_and_agree_across_languages(lang: str) -> None:
    """Gold answers (e.g. "114,200") canonicalise, and the parallel files agree with English."""
    path, english = MGSM_DIR / f"mgsm_{lang}.tsv", MGSM_DIR / "mgsm_en.tsv"
    _require(path)
    _require(english)

    def answers(p: Path) -> list[str]:
        with p.open(encoding="utf-8", newline="") as fh:
            return [row[-1] for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]

    gold, gold_en = answers(path), answers(english)
    assert len(gold) == len(gold_en) == 250
    for raw, raw_en in zip(gold, gold_en, strict=True):
        # MGSM writes its gold answers with English conventions in every file
        value = canonical_number(raw, "en")
        assert value is not None, raw
        assert answers_equal(value, canonical_number(raw_en, "en") or ""), (raw, raw_en)
