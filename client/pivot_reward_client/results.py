"""Reading `/v1/rewards` results the same way in every adapter."""

from collections.abc import Mapping, Sequence
from typing import Any

# Components each preset reports, so log keys are the same on every call even before the
# first answer arrives (multi-process loggers gather metrics by key).
PRESET_COMPONENTS: dict[str, tuple[str, ...]] = {
    "pb-rlsvr-embedding": ("semantic",),
    "pb-rlsvr-translation": ("translation",),
    "pasmr": ("answer",),
    "hybrid": ("semantic", "answer"),
}
DETAIL_KEYS = ("reason", "answer_status", "detected_lang", "gate")


def component_names(preset: str | None, results: Sequence[Mapping[str, Any]]) -> list[str]:
    """The preset's components, then any other component the results carry, in order."""
    names = list(PRESET_COMPONENTS.get(preset or "", ()))
    for result in results:
        for name in result.get("components") or {}:
            if name not in names:
                names.append(name)
    return names


def checked(response: Mapping[str, Any], expected: int) -> list[Mapping[str, Any]]:
    """The answer's result list, which must hold one result per item sent."""
    results = response.get("results")
    if not isinstance(results, list) or len(results) != expected:
        got = len(results) if isinstance(results, list) else "no"
        raise RuntimeError(f"pivot-reward returned {got} results for {expected} items")
    return results


def reward_of(result: Mapping[str, Any]) -> float | None:
    value = result.get("reward")
    return None if value is None else float(value)


def truncated(result: Mapping[str, Any]) -> bool:
    """Whether the service truncated or windowed any text of this item."""
    return bool(result.get("truncated"))
