"""Where to cut one model call's texts into forward passes, so that padding costs least.

A forward pass over a padded batch costs about `overhead + rows x longest` token-steps (plus
attention, which grows with the square of the length). sentence-transformers cuts its length-sorted
texts into fixed chunks of `batch_size`, which pads well only when it sees many texts (the
in-process limit sorts all 576 texts of a workload: 97% of the computed tokens are real). A service
batch holds a few requests' texts (18-36 for GRPO groups of 8), and fixed chunks of 16 compute only
76-80% real tokens there. Cutting the sorted texts where the padding would cost more than another
forward pass (a small dynamic programme: at most `max_rows` x 64 steps) brings that to ~90%.

The cost constants were measured on the CPU with e5-small (bench/README.md, "Where the time goes"):
a forward pass has a fixed cost of about 55 tokens' worth, and throughput drops past ~1,500 tokens
per pass (cache-bound matmuls). On a GPU a pass's fixed cost dominates and padding is nearly
free, so the encoder plans full chunks there (`GPU_PLAN`).
"""

from __future__ import annotations

from collections.abc import Sequence

# Fixed cost of one forward pass, in token-steps (~10 ms of 0.18 ms/token on 2 cores).
PASS_OVERHEAD_TOKENS = 55.0
# Attention's share grows with the length: cost per token x (1 + length / ATTENTION_SCALE).
ATTENTION_SCALE = 2300.0
# Padded tokens per pass beyond which a pass gets slower per token.
MAX_PASS_TOKENS = 1536
# (max_tokens, overhead) on CUDA: no token cap, a fixed cost that always favours full chunks.
GPU_PLAN = (10**9, 1e9)


def pass_cost(rows: int, longest: int, overhead: float = PASS_OVERHEAD_TOKENS) -> float:
    """Estimated cost (token-steps) of one padded forward pass."""
    return overhead + rows * longest * (1.0 + longest / ATTENTION_SCALE)


def plan(
    lengths: Sequence[int],
    max_rows: int,
    max_tokens: int = MAX_PASS_TOKENS,
    overhead: float = PASS_OVERHEAD_TOKENS,
) -> list[int]:
    """Sizes of consecutive chunks of `lengths` (sorted ascending) that minimise the total cost.

    Each chunk has at most `max_rows` texts and, unless it is a single text, at most `max_tokens`
    padded tokens. Chunks follow the given order, so their concatenation is the input.
    """
    n = len(lengths)
    if n == 0:
        return []
    best = [0.0] + [float("inf")] * n  # best[i]: cost of the first i texts
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = lengths[end - 1]  # sorted: the chunk's last text is its longest
        for rows in range(1, min(max_rows, end) + 1):
            if rows > 1 and rows * longest > max_tokens:
                break
            cost = best[end - rows] + pass_cost(rows, longest, overhead)
            if cost < best[end]:
                best[end], cut[end] = cost, rows
    sizes: list[int] = []
    end = n
    while end > 0:
        sizes.append(cut[end])
        end -= cut[end]
    return sizes[::-1]
