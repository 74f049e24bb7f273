"""The micro-batcher: size/wait closing, ordering, skipping cancelled items, back-pressure."""

from __future__ import annotations

import asyncio

import pytest

from service.engine.batching import BatchingConfig, MicroBatcher
from service.errors import ModelFailureError, NotReadyError, QueueFullError


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
    with pytest.raises(NotReadyError) as info:  # 503 not_ready, not 429: it is not overload
        await batcher.submit_many(["late"])
    assert info.value.error_type == "not_ready" and info.value.headers["Retry-After"]


class CountingObserver:
    """Records the batching events the metrics module would receive."""

    def __init__(self) -> None:
        self.isolated: list[int] = []
        self.retried: list[int] = []
        self.rejections: list[str] = []

    def queue_depth(self, model: str, depth: int) -> None:
        pass

    def batch_done(self, model: str, size: int, queue_waits: object, seconds: float) -> None:
        pass

    def rejected(self, model: str, reason: str) -> None:
        self.rejections.append(reason)

    def batch_retried(self, model: str, size: int) -> None:
        self.retried.append(size)

    def isolated_failure(self, model: str, cost: int) -> None:
        self.isolated.append(cost)


async def test_close_answers_the_batch_being_collected() -> None:
    """The race of issue 14: items popped into a batch that waits for company (max_wait > 0) were
    neither queued nor running, so close() cancelled the worker and they never resolved."""
    scorer = EchoScorer()
    batcher = MicroBatcher(scorer, config(max_batch_size=100, max_wait_s=2.0))
    batcher.start()
    pending = [asyncio.ensure_future(batcher.submit_many([f"t{i}", f"u{i}"])) for i in range(3)]
    for _ in range(100):  # until the worker has taken every item off the queue
        await asyncio.sleep(0.01)
        if batcher.depth == 0:
            break
    assert batcher.depth == 0 and not scorer.batches, "the items should be mid-collection"
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(batcher.close(), timeout=1.0)  # does not wait out max_wait either
    assert loop.time() - started < 1.0
    assert [p.result() for p in pending] == [[f"T{i}", f"U{i}"] for i in range(3)]
    assert sorted(t for b in scorer.batches for t in b) == sorted(
        f"{c}{i}" for c in "tu" for i in range(3)
    )


async def test_close_runs_queued_and_collecting_items_exactly_once() -> None:
    scorer = EchoScorer(delay_s=0.02)
    batcher = MicroBatcher(scorer, config(max_batch_size=4, max_wait_s=0.2, max_queue_size=1000))
    batcher.start()
    texts = [f"x{i}" for i in range(50)]
    pending = [asyncio.ensure_future(batcher.submit_many([t])) for t in texts]
    await asyncio.sleep(0.05)  # some batches done, one running, one collecting, many queued
    await asyncio.wait_for(batcher.close(), timeout=10)
    assert [p.result() for p in pending] == [[t.upper()] for t in texts]
    embedded = [t for batch in scorer.batches for t in batch]
    assert sorted(embedded) == sorted(texts), "every admitted item run exactly once"


async def test_a_cancelled_worker_answers_what_it_holds() -> None:
    batcher = MicroBatcher(EchoScorer(), config(max_batch_size=100, max_wait_s=5.0))
    batcher.start()
    pending = asyncio.ensure_future(batcher.submit_many(["a", "b"]))
    await asyncio.sleep(0.05)
    assert batcher.depth == 0  # held by the collecting worker
    assert batcher._worker is not None
    batcher._worker.cancel()  # as when the event loop shuts down
    with pytest.raises(NotReadyError):
        await asyncio.wait_for(pending, timeout=1)


class Poisoned(EchoScorer):
    """Fails any batch that contains an input starting with "poison"."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def predict_batch(self, items: list[str]) -> list[str]:
        self.calls.append(len(items))
        if any(item.startswith("poison") for item in items):
            raise ValueError(f"cannot embed {items}")  # a message quoting the input
        return super().predict_batch(items)


async def test_poison_input_fails_only_its_own_request(caplog: pytest.LogCaptureFixture) -> None:
    scorer = Poisoned()
    observer = CountingObserver()
    batcher = MicroBatcher(scorer, config(max_batch_size=64, max_wait_s=0.2), observer)
    batcher.start()
    texts = [f"ok {i}" for i in range(64)]
    texts[37] = "poison secret text"
    outcomes = await asyncio.gather(
        *(batcher.submit_many([t]) for t in texts), return_exceptions=True
    )
    for i, (text, outcome) in enumerate(zip(texts, outcomes)):
        if i == 37:
            assert isinstance(outcome, ModelFailureError), outcome
            assert "secret" not in str(outcome)
        else:
            assert outcome == [text.upper()], (i, outcome)
    assert scorer.calls[0] == 64, "one batch of all 64 first"
    assert len(scorer.calls) <= 1 + 2 * 6, f"bisection is logarithmic: {scorer.calls}"
    assert observer.isolated == [len("poison secret text")]
    assert observer.retried  # halves were re-run
    failed = [r for r in caplog.records if "failed on its own" in r.getMessage()]
    assert len(failed) == 1 and failed[0].size == len("poison secret text")  # type: ignore[attr-defined]
    logged = "\n".join(r.getMessage() + str(vars(r)) for r in caplog.records)
    assert "secret" not in logged, "the input's text must never be logged"
    await batcher.close()


async def test_several_poison_inputs_and_a_request_holding_two_texts() -> None:
    scorer = Poisoned()
    observer = CountingObserver()
    batcher = MicroBatcher(scorer, config(max_batch_size=64, max_wait_s=0.2), observer)
    batcher.start()
    requests = [[f"a{i}", f"b{i}"] for i in range(20)]
    requests[3] = ["a3", "poison 1"]
    requests[15] = ["poison 2", "b15"]
    outcomes = await asyncio.gather(
        *(batcher.submit_many(r) for r in requests), return_exceptions=True
    )
    for i, (request, outcome) in enumerate(zip(requests, outcomes)):
        if i in (3, 15):
            assert isinstance(outcome, ModelFailureError)
        else:
            assert outcome == [t.upper() for t in request]
    assert len(observer.isolated) == 2
    await batcher.close()


async def test_a_model_that_always_fails_fails_every_item_once() -> None:
    class Broken(EchoScorer):
        def predict_batch(self, items: list[str]) -> list[str]:
            raise RuntimeError("out of order")

    observer = CountingObserver()
    batcher = MicroBatcher(Broken(), config(max_batch_size=8, max_wait_s=0.1), observer)
    batcher.start()
    outcomes = await asyncio.gather(
        *(batcher.submit_many([f"t{i}"]) for i in range(8)), return_exceptions=True
    )
    assert all(isinstance(o, ModelFailureError) for o in outcomes)
    assert len(observer.isolated) == 8
    await batcher.close()
