"""Answer extraction against the shared labelled data (skips when ../shared is absent).

Two dev files: `answers_dev.jsonl` (80 pairs) and `answers_dev_2.jsonl` (110 pairs in
reasoning-model styles, each with the `class` of trap it sets). Both must be read right in full,
statuses and extracted values alike; the per-class (or per-language) table and the misses are
printed (run with -s) so a regression is easy to read.
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
DEV_FILES = ("answers_dev.jsonl", "answers_dev_2.jsonl")
MGSM_DIR = SHARED / "mgsm"
EXEMPLARS = MGSM_DIR / "exemplars.json"


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"shared data not found: {path.resolve()} (checked out without ../shared?)")


def _load_dev(name: str) -> list[dict[str, Any]]:
    path = SHARED / name
    _require(path)
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    assert rows, f"{name} is empty"
    return rows


def _group(row: dict[str, Any]) -> str:
    """The trap class where the file names one, else the language."""
    return str(row.get("class") or row["lang"])


def _table(title: str, correct: Counter[str], total: Counter[str]) -> None:
    print(f"\n{title}")
    for group in sorted(total):
        print(f"  {group:24} {correct[group]:3d}/{total[group]:<3d}")
    print(f"  {'all':24} {sum(correct.values()):3d}/{sum(total.values()):<3d}")


@pytest.mark.parametrize("name", DEV_FILES)
def test_dev_statuses(name: str) -> None:
    rows = _load_dev(name)
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: list[str] = []
    for row in rows:
        res = score_consistency(
            row["target_response"], row["lang"], pivot_response=row["pivot_response"]
        )
        total[_group(row)] += 1
        if res.status == row["expected"]:
            correct[_group(row)] += 1
        else:
            misses.append(
                f"{row['id']} [{row['lang']}] expected {row['expected']}, got {res.status} "
                f"({res.detail}) - {row['note']}"
            )
    _table(f"{name}: status accuracy", correct, total)
    assert not misses, "\n".join(misses)


@pytest.mark.parametrize("name", DEV_FILES)
def test_dev_extracted_values(name: str) -> None:
    """Where the labels name the answers, the extracted values must equal them numerically;
    where they say there is none (null), nothing may be extracted."""
    rows = _load_dev(name)
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong = []
    for row in rows:
        for side, text, lang in (
            ("target", row["target_response"], row["lang"]),
            ("pivot", row["pivot_response"], "en"),
        ):
            label = row[f"{side}_answer"]
            got = extract_final_answer(text, lang).value
            ok = got is None if label is None else got is not None and answers_equal(got, label)
            total[_group(row)] += 1
            correct[_group(row)] += ok
            if not ok:
                wrong.append(f"{row['id']} {side}: label {label!r}, got {got!r} - {row['note']}")
    _table(f"{name}: answer accuracy (target and pivot)", correct, total)
    assert not wrong, "\n".join(wrong)


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
