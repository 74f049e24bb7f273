"""Bounded CPU-bound work (answer extraction, the language gate, pivot splitting) off the event loop.

The one entry point is `CpuPool.run(func, items)`: `func` maps a list of items to a list of results
(the functions of `service.scoring.bulk`). The pool applies the model queue's rule to it:

- a request's items are admitted whole or not at all: more than `max_queue_items` waiting gives
  `QueueFullError` (429 with Retry-After), a request larger than the whole queue `InvalidInputError`
  (422: retrying could never help), and once draining `NotReadyError` (503);
- the items are cut into chunks of `chunk_items`; each request runs on at most `workers` chunks at
  a time and queues again for the next one, so concurrent requests take turns instead of one big
  request holding every worker;
- when the caller goes away (deadline 504, client disconnect), chunks not yet started are dropped
  and a running chunk keeps its worker until it ends (the pool never over-commits).

In `process` mode the chunks run in worker processes (forkserver, lowered priority): pure-Python
regexes there hold their own GIL, not the event loop's or the model thread's, and the scheduler
prefers the latency-bound model work. `thread` mode runs them in threads of this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from service.errors import InvalidInputError, ModelFailureError, NotReadyError, QueueFullError

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

logger = logging.getLogger(__name__)

# Modules the forkserver imports once, so each worker forks with the rules already loaded.
_PRELOAD = ["service.scoring.bulk", "service.scoring.answers", "service.scoring.fidelity"]


@dataclass(frozen=True)
class CpuPoolConfig:
    """Knobs of the CPU pool (README, "CPU-bound work")."""

    workers: int = 2
    mode: Literal["process", "thread"] = "process"
    max_queue_items: int = 8192
    chunk_items: int = 64
    retry_after_s: int = 1
    nice: int = 10  # process mode: added to the workers' nice value (0 = same priority)


class CpuObserver(Protocol):
    """Receives CPU-pool events (implemented by the metrics module)."""

    def cpu_pending(self, items: int) -> None: ...
    def cpu_rejected(self, reason: str) -> None: ...
    def cpu_chunk_done(self, items: int, seconds: float) -> None: ...
    def cpu_chunks_dropped(self, chunks: int) -> None: ...


class _NullObserver:
    def cpu_pending(self, items: int) -> None:
        pass

    def cpu_rejected(self, reason: str) -> None:
        pass

    def cpu_chunk_done(self, items: int, seconds: float) -> None:
        pass

    def cpu_chunks_dropped(self, chunks: int) -> None:
        pass


def _init_worker(nice: int, warm: Callable[[], None] | None) -> None:
    """Worker-process start: lower its priority, then build what the rules load lazily."""
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    if warm is not None:
        warm()


def _worker_pid(delay_s: float) -> int:
    """Start-up probe: which process ran it (the delay keeps one worker from taking every probe)."""
    time.sleep(delay_s)
    return os.getpid()


class CpuPool:
    """Runs list-in, list-out CPU work in chunks on a bounded pool of workers."""

    def __init__(
        self,
        config: CpuPoolConfig,
        observer: CpuObserver | None = None,
        warm: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._observer: CpuObserver = observer or _NullObserver()
        self._warm = warm
        self._executor: Executor | None = None
        self._slots: asyncio.Semaphore | None = None  # created on the loop that uses it
        self._pending = 0  # admitted items whose request has not finished
        self._draining = False
        self._closed = False

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def config(self) -> CpuPoolConfig:
        return self._config

    def _new_executor(self) -> Executor:
        if self._config.mode == "thread":
            return ThreadPoolExecutor(
                self._config.workers,
                thread_name_prefix="cpu-scoring",
                initializer=self._warm,
            )
        context = multiprocessing.get_context("forkserver")
        # A fresh interpreter serves the forks: nothing of this process (torch's threads, the
        # event loop) is inherited, and the rules are imported once there.
        context.set_forkserver_preload(_PRELOAD)
        return ProcessPoolExecutor(
            self._config.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self._config.nice, self._warm),
        )

    def _ensure_started(self) -> Executor:
        if self._closed:
            raise NotReadyError("the service is shutting down; send the request to another replica")
        if self._executor is None:
            self._executor = self._new_executor()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._config.workers)
        return self._executor

    async def start(self) -> None:
        """Start every worker and warm it (readiness waits for this)."""
        executor = self._ensure_started()
        loop = asyncio.get_running_loop()
        if isinstance(executor, ProcessPoolExecutor):
            # One probe per worker, all at once, so each process is spawned and initialised now.
            pids = await asyncio.gather(
                *(
                    asyncio.wrap_future(executor.submit(_worker_pid, 0.05))
                    for _ in range(self._config.workers)
                )
            )
            logger.info(
                "cpu workers ready",
                extra={"mode": "process", "workers": len(set(pids)), "nice": self._config.nice},
            )
        elif self._warm is not None:
            await loop.run_in_executor(executor, self._warm)

    def drain(self) -> None:
        """Refuse new work (503) from now on; admitted work goes on."""
        self._draining = True

    async def run(
        self,
        func: Callable[[list[ItemT]], list[ResultT]],
        items: Sequence[ItemT],
        *,
        loc: str = "items",
    ) -> list[ResultT]:
        """`func` over `items` in chunks; one result per item, in order.

        `func` must be picklable (a module-level function, or a `functools.partial` of one) and
        return one result per item of its chunk.
        """
        n = len(items)
        if n == 0:
            return []
        limit = self._config.max_queue_items
        if n > limit:
            raise InvalidInputError(
                f"the request needs {n} items of CPU work, more than the CPU queue can ever hold "
                f"({limit}, PIVOT_CPU_MAX_QUEUE_ITEMS); split it into smaller requests",
                loc,
            )
        if self._draining or self._closed:
            self._observer.cpu_rejected("draining")
            raise NotReadyError("the service is shutting down; send the request to another replica")
        if self._pending + n > limit:
            self._observer.cpu_rejected("queue_full")
            raise QueueFullError(
                f"the CPU queue is full ({self._pending} of {limit} items admitted); retry later",
                self._config.retry_after_s,
            )
        self._ensure_started()
        self._pending += n
        self._observer.cpu_pending(self._pending)
        size = self._config.chunk_items
        chunks = [list(items[i : i + size]) for i in range(0, n, size)]
        results: list[list[ResultT] | None] = [None] * len(chunks)
        order = iter(range(len(chunks)))  # shared by the lanes: each takes the next chunk
        started = 0

        async def lane() -> None:
            nonlocal started
            for index in order:
                started += 1
                results[index] = await self._run_chunk(func, chunks[index])

        lanes = [
            asyncio.ensure_future(lane()) for _ in range(min(len(chunks), self._config.workers))
        ]
        try:
            await asyncio.gather(*lanes)
        except BaseException:
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            if len(chunks) > started:
                self._observer.cpu_chunks_dropped(len(chunks) - started)
            raise
        finally:
            self._pending -= n
            self._observer.cpu_pending(self._pending)
        out: list[ResultT] = []
        for part in results:
            assert part is not None
            out.extend(part)
        return out

    async def _run_chunk(
        self, func: Callable[[list[ItemT]], list[ResultT]], chunk: list[ItemT]
    ) -> list[ResultT]:
        assert self._slots is not None
        for attempt in (1, 2):
            await self._slots.acquire()
            executor = self._ensure_started()
            started = time.perf_counter()
            try:
                future = executor.submit(func, chunk)
            except BaseException:
                self._slots.release()
                raise
            try:
                result = await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                self._release_when_done(future)
                raise
            except BrokenProcessPool:
                self._slots.release()
                self._replace(executor)
                if attempt == 1:
                    logger.warning("cpu worker died; retrying the chunk on a new pool")
                    continue
                logger.error("cpu worker died twice on one chunk", extra={"size": len(chunk)})
                raise ModelFailureError(
                    "a CPU worker process died on this request's items"
                ) from None
            except BaseException:
                self._slots.release()
                raise
            self._slots.release()
            self._observer.cpu_chunk_done(len(chunk), time.perf_counter() - started)
            if len(result) != len(chunk):
                raise RuntimeError(
                    f"{func!r} returned {len(result)} results for {len(chunk)} items"
                )
            return result
        raise AssertionError("unreachable")

    def _release_when_done(self, future: Future[Any]) -> None:
        """The caller is gone: drop the chunk if not started, else free its worker when it ends."""
        assert self._slots is not None
        if future.cancel() or future.done():
            self._slots.release()
            return
        loop = asyncio.get_running_loop()
        slots = self._slots

        def release(_: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone by then
                loop.call_soon_threadsafe(slots.release)

        future.add_done_callback(release)

    def _replace(self, broken: Executor) -> None:
        """A worker died (killed, out of memory): start a new pool; in-flight chunks retry there."""
        if self._executor is broken and not self._closed:
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()

    async def close(self, timeout_s: float = 30.0) -> None:
        """Refuse new work, let admitted work finish (up to `timeout_s`), stop the workers."""
        self._draining = True
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: executor.shutdown(wait=True, cancel_futures=True)
            )
