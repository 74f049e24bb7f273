"""Calibration: the clipped linear map and deriving constants from data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.scoring.calibration import (
    Calibration,
    derive_calibration,
    load_calibration,
    save_calibration,
)


def test_score_is_clipped_linear_map() -> None:
    cal = Calibration(0.7, 0.9)
    scores = cal.score(np.array([0.5, 0.7, 0.8, 0.9, 0.99]))
    assert scores.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])


def test_low_must_be_below_high() -> None:
    with pytest.raises(ValueError):
        Calibration(0.9, 0.9)


def test_derive_from_parallel_and_non_parallel() -> None:
    rng = np.random.default_rng(0)
    parallel = rng.normal(0.88, 0.02, 500)
    non_parallel = rng.normal(0.72, 0.02, 500)
    cal = derive_calibration(parallel.tolist(), non_parallel.tolist())
    assert 0.74 < cal.low < 0.77 and 0.87 < cal.high < 0.89
    assert float(np.mean(cal.score(non_parallel))) < 0.05
    assert float(np.mean(cal.score(parallel))) > 0.8


def test_derive_refuses_a_model_that_does_not_separate() -> None:
    with pytest.raises(ValueError, match="does not separate"):
        derive_calibration([0.5, 0.6], [0.7, 0.8])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    save_calibration(tmp_path, Calibration(0.71, 0.86, "unit"))
    assert load_calibration(tmp_path) == Calibration(0.71, 0.86, "unit")
    assert load_calibration(tmp_path / "missing") is None
