"""A server's process tree (the server and its CPU workers): members, memory."""

from __future__ import annotations

import os


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                ppid = int(handle.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by forked workers counted once across them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return _rss_kib(pid)


def tree_rss_mib(pid: int) -> tuple[float, float]:
    """(RSS of `pid`, PSS of `pid` and all its descendants: the CPU workers), in MiB."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        total += _pss_kib(current)
        stack.extend(_children(current))
    return _rss_kib(pid) / 1024, total / 1024


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the forkserver and the CPU workers it forked)."""
    found, stack = [], _children(pid)
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(_children(current))
    return found


def thread_count(pid: int) -> int:
    """Threads of `pid` (new threads get their own malloc arena: RSS steps with them)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
