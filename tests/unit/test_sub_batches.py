"""The sub-batch planner: chunks follow the order, respect the limits, and pad less than fixed chunks."""

from __future__ import annotations

import random

from service.engine.sub_batches import GPU_PLAN, MAX_PASS_TOKENS, pass_cost, plan


def _padded(lengths: list[int], sizes: list[int]) -> int:
    total, start = 0, 0
    for size in sizes:
        chunk = lengths[start : start + size]
        total += max(chunk) * len(chunk)
        start += size
    return total


def test_chunks_cover_the_input_in_order_within_the_limits() -> None:
    rng = random.Random(7)
    for n in (1, 2, 17, 36, 64):
        lengths = sorted(rng.randint(20, 200) for _ in range(n))
        sizes = plan(lengths, max_rows=16)
        assert sum(sizes) == n and all(1 <= s <= 16 for s in sizes)
        start = 0
        for size in sizes:
            assert size == 1 or size * lengths[start + size - 1] <= MAX_PASS_TOKENS
            start += size


def test_plan_costs_no_more_than_fixed_chunks_of_the_same_size() -> None:
    rng = random.Random(11)
    for _ in range(50):
        lengths = sorted(rng.randint(30, 180) for _ in range(rng.randint(2, 64)))
        sizes = plan(lengths, max_rows=16, max_tokens=10**9)
        fixed = [16] * (len(lengths) // 16) + ([len(lengths) % 16] if len(lengths) % 16 else [])

        def cost(chunks: list[int], lengths: list[int] = lengths) -> float:
            start, total = 0, 0.0
            for size in chunks:
                total += pass_cost(size, lengths[start + size - 1])
                start += size
            return total

        assert cost(sizes) <= cost(fixed) + 1e-9
        assert _padded(lengths, sizes) <= _padded(lengths, fixed)


def test_equal_lengths_fill_whole_chunks_and_a_long_text_goes_alone() -> None:
    assert plan([76] * 32, max_rows=16) == [16, 16]
    assert plan([40, 41, 42, 500], max_rows=16) == [3, 1]
    assert plan([], max_rows=16) == []


def test_on_a_gpu_the_plan_uses_the_fewest_passes() -> None:
    lengths = sorted([30, 31, 40, 90, 120, 150, 170, 180] * 5)
    gpu = plan(lengths, 16, *GPU_PLAN)
    assert len(gpu) == 3 and sum(gpu) == 40  # as few passes as fixed chunks of 16
    assert len(plan(lengths, 16)) > 3  # on CPU, padding is worth more passes
