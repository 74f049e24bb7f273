"""Composite rewards: named presets, component weights and the language-fidelity gate (pure logic).

A reward spec names the components and how they combine:

- `semantic`: calibrated embedding similarity of the response to the English reference (PB-RLSVR).
- `translation`: translate the response into English, then the same similarity (PB-RLSVR).
- `answer`: PASMR's answer consistency, 1 / 0.1 / 0 (null when there is no pivot answer).

`combine="mean"` is the weighted mean of the components; `combine="product"` multiplies them, each
raised to its weight (so `hybrid`, semantic x answer agreement, rewards a response only when it is
both faithful and right). A component the spec needs but cannot compute (no pivot answer) makes the
reward null, so the trainer drops the sample instead of learning from a made-up value.

The gate: when enabled and the response fails the language-fidelity check (wrong language,
code-switching, or a pasted English reference), the reward is `gate_value` (default 0) whatever
the components say; the components are still reported for logging.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

Combine = Literal["mean", "product"]
COMPONENTS = ("semantic", "translation", "answer")


@dataclass(frozen=True)
class RewardSpec:
    """Weights per component (0 = not used), how to combine them, and the gate."""

    name: str
    semantic: float = 0.0
    translation: float = 0.0
    answer: float = 0.0
    combine: Combine = "mean"
    gate: bool = True
    gate_value: float = 0.0

    def __post_init__(self) -> None:
        weights = self.weights()
        if any(w < 0 or not math.isfinite(w) for w in weights.values()):
            raise ValueError("component weights must be finite and >= 0")
        if not any(w > 0 for w in weights.values()):
            raise ValueError("a reward spec needs at least one component with a positive weight")
        if not math.isfinite(self.gate_value):
            raise ValueError("gate_value must be finite")

    def weights(self) -> dict[str, float]:
        return {"semantic": self.semantic, "translation": self.translation, "answer": self.answer}

    def uses(self, component: str) -> bool:
        return self.weights()[component] > 0


PRESETS: Mapping[str, RewardSpec] = {
    "pb-rlsvr-embedding": RewardSpec("pb-rlsvr-embedding", semantic=1.0),
    "pb-rlsvr-translation": RewardSpec("pb-rlsvr-translation", translation=1.0),
    "pasmr": RewardSpec("pasmr", answer=1.0),
    "hybrid": RewardSpec("hybrid", semantic=1.0, answer=1.0, combine="product"),
}


def preset(name: str) -> RewardSpec:
    """A built-in spec by name (KeyError names the known presets)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset '{name}'; known: {', '.join(PRESETS)}") from None


def custom_spec(base: RewardSpec, **overrides: object) -> RewardSpec:
    """`base` with some fields replaced (validated again)."""
    return replace(base, name=str(overrides.pop("name", "custom")), **overrides)  # type: ignore[arg-type]


def combine(
    spec: RewardSpec, components: Mapping[str, float | None], gate_passed: bool
) -> float | None:
    """The final reward of one item from its component values."""
    used = {name: w for name, w in spec.weights().items() if w > 0}
    values = {name: components.get(name) for name in used}
    if any(v is None for v in values.values()):
        return None
    if spec.gate and not gate_passed:
        return spec.gate_value
    present = {name: float(v) for name, v in values.items() if v is not None}
    if spec.combine == "product":
        reward = 1.0
        for name, value in present.items():
            reward *= max(value, 0.0) ** used[name]
        return reward
    total = sum(used.values())
    return sum(present[name] * used[name] for name in used) / total
