"""The CPU pool: order, admission (429 / 422 / 503), deadlines dropping queued chunks, turn-taking,
worker processes at lower priority, and recovery from a worker that dies."""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path

import pytest

from service.engine.cpu_pool import CpuPool, CpuPoolConfig
from service.errors import InvalidInputError, ModelFailureError, NotReadyError, QueueFullError
from tests.support import cpu_tasks


class Observer:
    def __init__(self) -> None:
        self.rejected: list[str] = []
        self.dropped = 0
        self.chunks = 0
        self.pending: list[int] = []

    def cpu_pending(self, items: int) -> None:
        self.pending.append(items)

    def cpu_rejected(self, reason: str) -> None:
        self.rejected.append(reason)

    def cpu_chunk_done(self, items: int, seconds: float) -> None:
        self.chunks += 1

    def cpu_chunks_dropped(self, chunks: int) -> None:
        self.dropped += chunks


def pool(mode: str = "thread", **kw: object) -> CpuPool:
    values: dict[str, object] = {"workers": 2, "mode": mode, "chunk_items": 3}
    values.update(kw)
    return CpuPool(CpuPoolConfig(**values), Observer())  # type: ignore[arg-type]


def observer_of(p: CpuPool) -> Observer:
    found = p._observer
    assert isinstance(found, Observer)
    return found


@pytest.mark.parametrize("mode", ["thread", "process"])
async def test_results_in_order_across_chunks(mode: str) -> None:
    p = pool(mode)
    await p.start()
    try:
        assert await p.run(cpu_tasks.square, list(range(20))) == [i * i for i in range(20)]
        assert await p.run(cpu_tasks.square, []) == []
        assert observer_of(p).chunks == 7  # ceil(20 / 3)
        assert p.pending == 0
    finally:
        await p.close()


async def test_process_mode_runs_in_other_processes_at_lower_priority() -> None:
    p = pool("process", nice=7, chunk_items=1)
    await p.start()
    try:
        seen = await p.run(cpu_tasks.where, list(range(8)))
    finally:
        await p.close()
    own_nice = os.nice(0)
    assert all(pid != os.getpid() for pid, _ in seen)
    assert all(nice == min(19, own_nice + 7) for _, nice in seen), seen


async def test_queue_full_is_429_too_big_is_422(tmp_path: Path) -> None:
    p = pool(max_queue_items=10, retry_after_s=3, workers=1, chunk_items=2)
    slow = functools.partial(cpu_tasks.slow_echo, delay_s=0.1)
    first = asyncio.ensure_future(p.run(slow, [f"a{i}" for i in range(8)]))
    await asyncio.sleep(0.02)
    assert p.pending == 8
    with pytest.raises(QueueFullError) as full:
        await p.run(slow, ["b"] * 3)
    assert full.value.headers["Retry-After"] == "3"
    with pytest.raises(InvalidInputError) as never:
        await p.run(slow, ["c"] * 11, loc="items")
    assert (
        never.value.fields[0].loc == "items" and "PIVOT_CPU_MAX_QUEUE_ITEMS" in never.value.message
    )
    assert await p.run(slow, ["d", "e"]) == ["d", "e"]  # fits beside the first: admitted
    assert await first == [f"a{i}" for i in range(8)]
    assert p.pending == 0
    assert await p.run(slow, ["b"] * 3) == ["b"] * 3  # room again
    assert observer_of(p).rejected == ["queue_full"]
    await p.close()


async def test_draining_refuses_new_work_but_finishes_admitted_work() -> None:
    p = pool(workers=1, chunk_items=1)
    slow = functools.partial(cpu_tasks.slow_echo, delay_s=0.05)
    admitted = asyncio.ensure_future(p.run(slow, ["a", "b", "c"]))
    await asyncio.sleep(0.01)
    p.drain()
    with pytest.raises(NotReadyError) as info:
        await p.run(slow, ["late"])
    assert info.value.error_type == "not_ready" and info.value.headers["Retry-After"]
    await p.close()  # waits for the admitted request
    assert admitted.result() == ["a", "b", "c"]
    with pytest.raises(NotReadyError):
        await p.run(slow, ["later"])


@pytest.mark.parametrize("mode", ["thread", "process"])
async def test_a_deadline_stops_queued_chunks(mode: str, tmp_path: Path) -> None:
    log = tmp_path / "ran.txt"
    p = pool(mode, workers=1, chunk_items=1)
    await p.start()
    slow = functools.partial(cpu_tasks.slow_echo, delay_s=0.1, log=str(log))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(p.run(slow, [f"x{i}" for i in range(30)]), timeout=0.25)
    assert p.pending == 0
    await asyncio.sleep(0.3)  # the chunk that was running when the deadline hit ends
    ran = log.read_text().split()
    assert 1 <= len(ran) <= 4, ran  # not 30: queued chunks never started
    assert observer_of(p).dropped >= 26
    # The worker the running chunk held is free again: new work runs at once.
    assert await asyncio.wait_for(p.run(slow, ["next"]), timeout=5) == ["next"]
    await p.close()


async def test_requests_take_turns_chunk_by_chunk() -> None:
    p = pool(workers=1, chunk_items=1)
    slow = functools.partial(cpu_tasks.slow_echo, delay_s=0.02)
    big = asyncio.ensure_future(p.run(slow, [f"big{i}" for i in range(40)]))
    await asyncio.sleep(0.05)
    small = await p.run(slow, ["small"])
    assert small == ["small"]
    assert not big.done(), "the small request waited for one chunk, not for the whole big request"
    assert len(await big) == 40
    await p.close()


async def test_a_dead_worker_fails_only_its_request_and_the_pool_recovers() -> None:
    p = pool("process", workers=2, chunk_items=1)
    await p.start()
    try:
        with pytest.raises(ModelFailureError):
            await p.run(functools.partial(cpu_tasks.die_on, marker="die"), ["a", "die", "b"])
        assert p.pending == 0
        assert await p.run(functools.partial(cpu_tasks.die_on, marker="die"), ["ok"]) == ["OK"]
    finally:
        await p.close()


async def test_errors_in_a_rule_propagate_and_release_the_queue() -> None:
    p = pool()
    with pytest.raises(ValueError, match="a bug in a rule"):
        await p.run(cpu_tasks.fail_on, ["a", "b", "c", "bad", "d"])
    assert p.pending == 0
    with pytest.raises(RuntimeError, match="results for"):
        await p.run(cpu_tasks.wrong_length, ["a", "b"])
    assert p.pending == 0
    assert await p.run(cpu_tasks.fail_on, ["fine"]) == ["fine"]
    await p.close()
