"""Dynamic micro-batching: many concurrent requests, few efficient model calls.

Each queued item carries its payload, a future and its enqueue time. A worker takes the first
waiting item, then keeps collecting until the batch is full (by count or by cost budget) or
`max_wait` has passed since that first item, whichever comes first. Items whose client has gone
(cancelled future) are skipped; the rest are sorted by cost (text length) so padding is small,
and the model runs in a dedicated thread so the event loop never blocks.

A failed model call is retried in halves until the failing items are found (poison isolation):
only the requests holding them fail; every other item of the batch gets its result. On close, the
batch being collected and everything queued are still run: every admitted item is answered once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from service.errors import InvalidInputError, ModelFailureError, NotReadyError, QueueFullError

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
CallT = TypeVar("CallT")

logger = logging.getLogger(__name__)


class Scorer(Protocol[ItemT, ResultT]):
    """The one model interface: synchronous, batched, run in an executor."""

    name: str

    def warmup(self) -> None:
        """Run the model once so the first real request does not pay for lazy initialisation."""

    def predict_batch(self, items: list[ItemT]) -> list[ResultT]:
        """One result per item, in order."""
        ...

    def cost(self, item: ItemT) -> int:
        """Relative cost of an item (e.g. characters or tokens), for sorting and budgets."""
        ...


class BatchObserver(Protocol):
    """Receives batching events (implemented by the metrics module)."""

    def queue_depth(self, model: str, depth: int) -> None: ...
    def batch_done(
        self, model: str, size: int, queue_waits: Sequence[float], seconds: float
    ) -> None: ...
    def rejected(self, model: str, reason: str) -> None: ...
    def batch_retried(self, model: str, size: int) -> None: ...
    def isolated_failure(self, model: str, cost: int) -> None: ...


class _NullObserver:
    def queue_depth(self, model: str, depth: int) -> None:
        pass

    def batch_done(
        self, model: str, size: int, queue_waits: Sequence[float], seconds: float
    ) -> None:
        pass

    def rejected(self, model: str, reason: str) -> None:
        pass

    def batch_retried(self, model: str, size: int) -> None:
        pass

    def isolated_failure(self, model: str, cost: int) -> None:
        pass


@dataclass
class _Queued(Generic[ItemT, ResultT]):
    payload: ItemT
    future: asyncio.Future[ResultT]
    enqueued_at: float
    cost: int = field(default=1)
    # The submitter's context: a failure of this item is logged with its request id.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    waited: float = 0.0  # seconds in the queue before its first model call


@dataclass(frozen=True)
class BatchingConfig:
    """Knobs of one batcher (documented in README, "Batching knobs")."""

    max_batch_size: int
    max_wait_s: float
    max_queue_size: int
    max_batch_cost: int | None = None  # e.g. a token budget for translation
    retry_after_s: int = 1


class MicroBatcher(Generic[ItemT, ResultT]):
    """Queues items from many requests and feeds them to a `Scorer` in batches."""

    def __init__(
        self,
        scorer: Scorer[ItemT, ResultT],
        config: BatchingConfig,
        observer: BatchObserver | None = None,
    ) -> None:
        self._scorer = scorer
        self._config = config
        self._observer: BatchObserver = observer or _NullObserver()
        self._queue: deque[_Queued[ItemT, ResultT]] = deque()
        self._wakeup = asyncio.Event()
        # One thread per model: model calls are serialised, torch parallelises inside each call.
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"model-{scorer.name}"
        )
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        # Items taken off the queue and not yet answered (collecting or running): close() and
        # a cancelled worker must still resolve them.
        self._held: list[_Queued[ItemT, ResultT]] = []

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def name(self) -> str:
        return self._scorer.name

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), name=f"batcher-{self.name}"
            )

    async def run_sync(self, func: Callable[[], CallT]) -> CallT:
        """Run a one-off call (e.g. warm-up) on the model thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    async def submit_many(self, payloads: Sequence[ItemT]) -> list[ResultT]:
        """Queue all payloads at once (admitted together or not at all) and await their results.

        Raises `QueueFullError` when the queue cannot take them all; a cancelled caller's items
        are skipped by the worker.
        """
        if not payloads:
            return []
        if len(payloads) > self._config.max_queue_size:
            # Retrying could never help: say so instead of answering 429.
            raise InvalidInputError(
                f"the request needs {len(payloads)} model inputs, more than the queue of model "
                f"'{self.name}' can ever hold ({self._config.max_queue_size}, PIVOT_MAX_QUEUE_SIZE); "
                "split it into smaller requests"
            )
        if self._closing:
            self._observer.rejected(self.name, "closing")
            raise NotReadyError("the service is shutting down; send the request to another replica")
        if len(self._queue) + len(payloads) > self._config.max_queue_size:
            self._observer.rejected(self.name, "queue_full")
            raise QueueFullError(
                f"queue for model '{self.name}' is full ({len(self._queue)} of "
                f"{self._config.max_queue_size} items waiting); retry later",
                self._config.retry_after_s,
            )
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        queued = [
            _Queued(payload, loop.create_future(), now, max(1, self._scorer.cost(payload)))
            for payload in payloads
        ]
        self._queue.extend(queued)
        self._observer.queue_depth(self.name, len(self._queue))
        self._wakeup.set()
        try:
            return list(await asyncio.gather(*(item.future for item in queued)))
        except BaseException:
            for item in queued:
                item.future.cancel()  # the client is gone: let the worker skip what is left
            raise

    async def close(self) -> None:
        """Stop taking work; run the batch being collected and everything queued; then stop."""
        self._closing = True
        self._wakeup.set()  # a worker waiting for a first item or for company stops waiting
        try:
            if self._worker is not None:
                await asyncio.shield(self._worker)  # it returns once the queue is empty
        except asyncio.CancelledError:
            if self._worker is not None:
                self._worker.cancel()
            raise
        finally:
            self._fail_unanswered("the service stopped before this input was scored")
        self._executor.shutdown(wait=True)

    def _fail_unanswered(self, message: str) -> None:
        """Last resort (the worker was cancelled or crashed): no admitted item stays unanswered."""
        for item in [*self._held, *self._queue]:
            if not item.future.done():
                item.future.set_exception(NotReadyError(message))
        self._held = []
        self._queue.clear()

    async def _collect(self) -> list[_Queued[ItemT, ResultT]]:
        """Wait for the first item, then gather more until full or `max_wait` elapsed.

        Returns an empty batch only when closing with nothing queued. While closing, a batch is
        closed at once (no waiting for company). Collected items are in `_held` from the moment
        they leave the queue.
        """
        while not self._queue:
            if self._closing:
                return []
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = self._queue[0].enqueued_at + self._config.max_wait_s
        batch = self._held = []
        cost = 0
        budget = self._config.max_batch_cost
        while True:
            while self._queue and len(batch) < self._config.max_batch_size:
                head = self._queue[0]
                if head.future.done():  # client gone (cancelled) before we got to it
                    self._queue.popleft()
                    continue
                if budget is not None and batch and cost + head.cost > budget:
                    return batch
                batch.append(self._queue.popleft())
                cost += head.cost
            if len(batch) >= self._config.max_batch_size or self._closing:
                return batch
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return batch
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=remaining)
            except TimeoutError:
                return batch

    async def _run(self) -> None:
        try:
            while True:
                batch = await self._collect()
                if not batch and self._closing and not self._queue:
                    return
                self._observer.queue_depth(self.name, len(self._queue))
                live = [item for item in batch if not item.future.done()]
                if live:
                    live.sort(key=lambda item: item.cost)
                    started = time.perf_counter()
                    for item in live:
                        item.waited = started - item.enqueued_at
                    await self._score(live)
                self._held = []
        finally:
            # Cancelled (event loop shutting down) or crashed: answer what this worker holds.
            self._fail_unanswered("the service stopped before this input was scored")

    async def _predict(self, items: list[_Queued[ItemT, ResultT]]) -> list[ResultT]:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(
            self._executor, self._scorer.predict_batch, [item.payload for item in items]
        )
        if len(results) != len(items):
            raise RuntimeError(
                f"model '{self.name}' returned {len(results)} outputs for {len(items)} inputs"
            )
        return results

    async def _score(self, items: list[_Queued[ItemT, ResultT]]) -> None:
        """Run the model on `items` and answer them; on failure, retry each half on its own.

        A batch of n items with one poison input costs about 2 log2(n) extra model calls; only
        the poison item's request fails.
        """
        started = time.perf_counter()
        try:
            results = await self._predict(items)
        except Exception as exc:  # the model's fault, not the client's
            if len(items) == 1:
                self._isolated_failure(items[0], exc)
                return
            logger.warning(
                "model batch failed; retrying it in halves",
                extra={"model": self.name, "size": len(items), "error_type": type(exc).__name__},
            )
            middle = len(items) // 2
            for half in (items[:middle], items[middle:]):
                half = [item for item in half if not item.future.done()]
                if half:
                    self._observer.batch_retried(self.name, len(half))
                    await self._score(half)
            return
        self._observer.batch_done(
            self.name, len(items), [item.waited for item in items], time.perf_counter() - started
        )
        for item, result in zip(items, results):
            if not item.future.done():
                item.future.set_result(result)

    def _isolated_failure(self, item: _Queued[ItemT, ResultT], exc: BaseException) -> None:
        """One input fails on its own: fail its request(s) only; log its size, never its text."""
        self._observer.isolated_failure(self.name, item.cost)
        item.context.run(
            logger.error,
            "model input failed on its own; only the requests holding it fail",
            extra={
                "model": self.name,
                "size": item.cost,
                "error_type": type(exc).__name__,
                # Frames only: an exception's message may quote the input.
                "stack": "".join(traceback.format_tb(exc.__traceback__)),
            },
        )
        if not item.future.done():
            item.future.set_exception(
                ModelFailureError(
                    f"model '{self.name}' failed on one of this request's inputs "
                    f"(size {item.cost}); the rest of its batch was scored"
                )
            )
