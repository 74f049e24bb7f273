"""Calibration: map a raw cosine to a [0, 1] reward.

Multilingual encoders put unrelated sentences far above cosine 0 (multilingual-e5-small: ~0.70), so
a raw cosine is a poor reward. We use a clipped linear map between two per-model constants:

    score = clip((cosine - low) / (high - low), 0, 1)

`low` and `high` are derived from data by `derive_calibration`: `low` is a high percentile of the
cosines of *non-parallel* pairs (a question vs a different question in another language), so such
pairs score ~0; `high` is a central percentile of the cosines of *parallel* pairs (a question vs its
translation), so a faithful translation scores ~1 while worse ones keep a gradient below it.
`python -m models.calibrate` recomputes them from MGSM.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

CALIBRATION_FILE = "pivot_calibration.json"
# Percentiles used by derive_calibration (documented in the README).
NON_PARALLEL_PERCENTILE = 95.0
PARALLEL_PERCENTILE = 50.0


@dataclass(frozen=True)
class Calibration:
    """Clipped linear map from cosine to reward."""

    low: float
    high: float
    source: str = "manual"

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"calibration low ({self.low}) must be below high ({self.high})")

    def score(self, cosines: np.ndarray) -> np.ndarray:
        """Calibrated rewards in [0, 1] for an array of cosines."""
        scaled = (np.asarray(cosines, dtype=np.float64) - self.low) / (self.high - self.low)
        return np.clip(scaled, 0.0, 1.0)


# Constants for built-in models, from `python -m models.calibrate` (MGSM; see README, "Calibration").
# multilingual-e5-small: parallel cosine mean 0.901 (p5 0.860), non-parallel mean 0.798 (p95 0.833),
# 2,000 parallel and 6,000 non-parallel pairs.
BUILTIN_CALIBRATIONS: dict[str, Calibration] = {
    "multilingual-e5-small": Calibration(
        low=0.8335,
        high=0.9024,
        source="MGSM problems 50-249, 10 languages vs en (models/calibrate.py)",
    ),
}

# Identity-like fallback for models without constants: plain cosine clipped to [0, 1].
UNCALIBRATED = Calibration(low=0.0, high=1.0, source="uncalibrated (raw cosine clipped to [0, 1])")


def derive_calibration(
    parallel: Sequence[float], non_parallel: Sequence[float], *, source: str = "derived"
) -> Calibration:
    """Constants from cosines of parallel and non-parallel pairs (see module docstring)."""
    if len(parallel) == 0 or len(non_parallel) == 0:
        raise ValueError("need cosines of both parallel and non-parallel pairs")
    low = float(np.percentile(non_parallel, NON_PARALLEL_PERCENTILE))
    high = float(np.percentile(parallel, PARALLEL_PERCENTILE))
    if not low < high:
        raise ValueError(
            f"the model does not separate parallel from non-parallel pairs (low {low:.4f} >= "
            f"high {high:.4f}); it cannot be calibrated this way"
        )
    return Calibration(round(low, 4), round(high, 4), source)


def load_calibration(model_dir: Path) -> Calibration | None:
    """Constants stored beside a model (`pivot_calibration.json`), if any."""
    path = model_dir / CALIBRATION_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Calibration(float(data["low"]), float(data["high"]), str(data.get("source", str(path))))


def save_calibration(model_dir: Path, calibration: Calibration) -> Path:
    """Store constants beside a model so the service picks them up."""
    path = model_dir / CALIBRATION_FILE
    path.write_text(json.dumps(asdict(calibration), indent=2) + "\n", encoding="utf-8")
    return path
