"""The micro-batcher: size/wait closing, ordering, skipping cancelled items, back-pressure."""

from __future__ import annotations

import asyncio

import pytest

from service.engine.batching import BatchingConfig, MicroBatcher
from service.errors import ModelFailureError, QueueFullError


class EchoScorer:
    name = "echo"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay_s = delay_s

    def warmup(self) -> None:
        pass

    def cost(self, item: str) -> int:
        return len(item)

    def predict_batch(self, items: list[str]) -> list[str]:
        import time

        time.sleep(self.delay_s)
        self.batches.append(list(items))
        return [item.upper() for item in items]


def config(**kw: object) -> BatchingConfig:
    values: dict[str, object] = {"max_batch_size": 4, "max_wait_s": 0.05, "max_queue_size": 100}
    values.update(kw)
    return BatchingConfig(**values)  # type: ignore[arg-type]


async def test_results_in_order_and_batches_bounded_by_size() -> None:
    scorer = EchoScorer()
    batcher = MicroBatcher(scorer, config())
    batcher.start()
    items = ["ccc", "a", "bb", "dddd", "e", "ff"]
    assert await batcher.submit_many(items) == [i.upper() for i in items]
    assert all(len(b) <= 4 for b in scorer.batches)
    assert sum(len(b) for b in scorer.batches) == len(items)
    # each batch is sorted by cost (length) to limit padding
    assert all(b == sorted(b, key=len) for b in scorer.batches)
    await batcher.close()


async def test_concurrent_requests_share_a_batch() -> None:
    scorer = EchoScorer()
    batcher = MicroBatcher(scorer, config(max_batch_size=64, max_wait_s=0.1))
    batcher.start()
    results = await asyncio.gather(*(batcher.submit_many([f"t{i}"]) for i in range(10)))
    assert [r[0] for r in results] == [f"T{i}" for i in range(10)]
    assert len(scorer.batches) == 1 and len(scorer.batches[0]) == 10
    await batcher.close()


async def test_batch_closes_on_max_wait_without_filling() -> None:
    scorer = EchoScorer()
    batcher = MicroBatcher(scorer, config(max_batch_size=1000, max_wait_s=0.02))
    batcher.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await batcher.submit_many(["x"]) == ["X"]
    assert loop.time() - started < 1.0
    await batcher.close()


async def test_queue_full_rejects_whole_request_without_partial_admission() -> None:
    scorer = EchoScorer(delay_s=0.2)
    batcher = MicroBatcher(scorer, config(max_queue_size=5, max_batch_size=1, max_wait_s=0))
    batcher.start()
    first = asyncio.ensure_future(batcher.submit_many(["a", "b", "c", "d"]))
    await asyncio.sleep(0.01)
    with pytest.raises(QueueFullError) as info:
        await batcher.submit_many(["x", "y", "z"])
    assert info.value.headers["Retry-After"] == "1"
    assert await first == ["A", "B", "C", "D"]
    assert all("x" not in b for b in scorer.batches)
    await batcher.close()


async def test_cancelled_items_are_skipped() -> None:
    scorer = EchoScorer(delay_s=0.1)
    batcher = MicroBatcher(scorer, config(max_batch_size=1, max_wait_s=0))
    batcher.start()
    blocker = asyncio.ensure_future(batcher.submit_many(["first"]))
    await asyncio.sleep(0.02)  # the model thread is now busy with "first"
    gone = asyncio.ensure_future(batcher.submit_many(["gone"]))
    await asyncio.sleep(0.01)
    gone.cancel()
    kept = await batcher.submit_many(["kept"])
    await blocker
    assert kept == ["KEPT"]
    assert ["gone"] not in scorer.batches
    await batcher.close()


async def test_model_failure_fails_only_that_batch() -> None:
    class Flaky(EchoScorer):
        def predict_batch(self, items: list[str]) -> list[str]:
            if "boom" in items:
                raise RuntimeError("boom")
            return super().predict_batch(items)

    batcher = MicroBatcher(Flaky(), config(max_batch_size=1, max_wait_s=0))
    batcher.start()
    with pytest.raises(ModelFailureError):
        await batcher.submit_many(["boom"])
    assert await batcher.submit_many(["ok"]) == ["OK"]
    await batcher.close()


async def test_output_count_mismatch_is_an_error() -> None:
    class Short(EchoScorer):
        def predict_batch(self, items: list[str]) -> list[str]:
            return super().predict_batch(items)[:-1]

    batcher = MicroBatcher(Short(), config())
    batcher.start()
    with pytest.raises(ModelFailureError):
        await batcher.submit_many(["a", "b"])
    await batcher.close()


async def test_cost_budget_closes_batch() -> None:
    scorer = EchoScorer()
    batcher = MicroBatcher(scorer, config(max_batch_size=100, max_batch_cost=6, max_wait_s=0.05))
    batcher.start()
    await batcher.submit_many(["aaa", "bbb", "ccc", "ddd"])
    assert all(sum(len(i) for i in b) <= 6 for b in scorer.batches)
    await batcher.close()


async def test_close_finishes_accepted_work() -> None:
    scorer = EchoScorer(delay_s=0.05)
    batcher = MicroBatcher(scorer, config(max_batch_size=2, max_wait_s=0))
    batcher.start()
    pending = asyncio.ensure_future(batcher.submit_many(["a", "b", "c", "d", "e"]))
    await asyncio.sleep(0.01)
    await batcher.close()
    assert await pending == ["A", "B", "C", "D", "E"]
    with pytest.raises(QueueFullError):
        await batcher.submit_many(["late"])
