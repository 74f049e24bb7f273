"""Picklable CPU-pool tasks for the tests (a worker process imports them by module name)."""

from __future__ import annotations

import os
import time


def square(items: list[int]) -> list[int]:
    return [i * i for i in items]


def where(items: list[int]) -> list[tuple[int, int]]:
    """(pid, niceness) of the process that ran each item."""
    return [(os.getpid(), os.nice(0)) for _ in items]


def slow_echo(items: list[str], delay_s: float = 0.05, log: str | None = None) -> list[str]:
    """Sleep per chunk; append each item to `log` (a file) so tests can see what ran."""
    time.sleep(delay_s)
    if log is not None:
        with open(log, "a", encoding="utf-8") as handle:
            handle.writelines(f"{item}\n" for item in items)
    return list(items)


def die_on(items: list[str], marker: str = "die") -> list[str]:
    """Kill the worker process when the chunk holds `marker` (a crash, an OOM kill)."""
    if marker in items:
        os._exit(1)
    return [item.upper() for item in items]


def fail_on(items: list[str]) -> list[str]:
    if "bad" in items:
        raise ValueError("a bug in a rule")
    return list(items)


def wrong_length(items: list[str]) -> list[str]:
    return items[:-1]
