"""Process-wide counts of what the adapters scored, and why rewards were left out.

A null reward (the service could not score an item: no pivot answer, language undetectable, ...)
becomes what each trainer expects (TRL: None; verl: 0.0 + `excluded`; OpenRLHF and slime: 0.0 +
a flag). These counters make the silent part visible: `snapshot()` returns them.
"""

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

_lock = threading.Lock()
_scored: Counter[str] = Counter()
_excluded: Counter[str] = Counter()
_reasons: Counter[str] = Counter()


def record(adapter: str, results: Iterable[Mapping[str, Any]]) -> int:
    """Count one batch of `/v1/rewards` results; returns how many were excluded (null reward)."""
    excluded = 0
    reasons: Counter[str] = Counter()
    total = 0
    for result in results:
        total += 1
        if result.get("reward") is None:
            excluded += 1
            reasons[str(result.get("reason") or "unknown")] += 1
    with _lock:
        _scored[adapter] += total
        _excluded[adapter] += excluded
        _reasons.update(reasons)
    return excluded


def record_flags(adapter: str, excluded_flags: Iterable[Any]) -> int:
    """Count a batch answered as flags (OpenRLHF's `extra_logs.excluded`: 1.0 = excluded)."""
    flags = [bool(f) for f in excluded_flags]
    with _lock:
        _scored[adapter] += len(flags)
        _excluded[adapter] += sum(flags)
    return sum(flags)


def snapshot() -> dict[str, Any]:
    """`{"scored": {adapter: n}, "excluded": {adapter: n}, "reasons": {reason: n}}`."""
    with _lock:
        return {
            "scored": dict(_scored),
            "excluded": dict(_excluded),
            "reasons": dict(_reasons),
        }


def reset() -> None:
    """Zero every counter."""
    with _lock:
        _scored.clear()
        _excluded.clear()
        _reasons.clear()
