"""Composite-reward combination and Best-of-L agreement ranking (labels: tests/unit/test_labels.py)."""

from __future__ import annotations

import numpy as np
import pytest

from service.scoring.ranking import rank_by_agreement
from service.scoring.rewards import PRESETS, RewardSpec, combine, preset


def test_presets_exist_and_use_the_right_components() -> None:
    assert set(PRESETS) == {"pb-rlsvr-embedding", "pb-rlsvr-translation", "pasmr", "hybrid"}
    assert preset("pasmr").uses("answer") and not preset("pasmr").uses("semantic")
    assert preset("hybrid").combine == "product"
    with pytest.raises(KeyError, match="known"):
        preset("nope")


def test_mean_and_product() -> None:
    mean = RewardSpec("m", semantic=1.0, answer=3.0)
    assert combine(mean, {"semantic": 0.4, "answer": 1.0}, True) == pytest.approx((0.4 + 3.0) / 4)
    hybrid = preset("hybrid")
    assert combine(hybrid, {"semantic": 0.8, "answer": 1.0}, True) == pytest.approx(0.8)
    assert combine(hybrid, {"semantic": 0.8, "answer": 0.1}, True) == pytest.approx(0.08)
    assert combine(hybrid, {"semantic": 0.8, "answer": 0.0}, True) == 0.0


def test_gate_and_missing_components() -> None:
    spec = preset("pb-rlsvr-embedding")
    assert combine(spec, {"semantic": 0.9}, gate_passed=False) == 0.0
    assert combine(RewardSpec("g", semantic=1, gate_value=-1.0), {"semantic": 0.9}, False) == -1.0
    assert combine(RewardSpec("nogate", semantic=1, gate=False), {"semantic": 0.9}, False) == 0.9
    # no pivot answer: the trainer must drop the sample, even if the gate failed
    assert combine(preset("pasmr"), {"answer": None}, gate_passed=True) is None


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        RewardSpec("empty")
    with pytest.raises(ValueError):
        RewardSpec("neg", semantic=-1)


def test_agreement_ranking_prefers_the_consensus_answer() -> None:
    answers = ["18", "18", "20", None]
    similarity = np.full((4, 4), 0.6)
    np.fill_diagonal(similarity, 1.0)
    ranked, best = rank_by_agreement(answers, similarity)
    assert best in (0, 1) and best == 0  # ties go to the lower index
    assert ranked[0].answer_support == pytest.approx(1 / 3)
    assert ranked[2].answer_support == 0.0 and ranked[3].answer_support == 0.0
    assert ranked[0].score > ranked[2].score > 0


def test_reference_similarity_breaks_ties() -> None:
    answers = ["18", "18"]
    similarity = np.array([[1.0, 0.5], [0.5, 1.0]])
    _, best = rank_by_agreement(answers, similarity, np.array([0.2, 0.9]))
    assert best == 1
