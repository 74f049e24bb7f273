"""Reasoning-model outputs: the thinking block before the visible answer.

Reasoning models write `<think> ... </think>` (the delimiters are settings: PIVOT_THINK_START /
PIVOT_THINK_END) before the answer they commit to. Rewards read the visible part; an answer that only
appears inside the thinking block was never given.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THINK_START = "<think>"
DEFAULT_THINK_END = "</think>"


@dataclass(frozen=True)
class ReasoningSplit:
    """A response cut into its thinking block(s) and the visible text around them."""

    visible: str  # the text outside every thinking block (what the model commits to)
    reasoning: str  # the text inside the thinking block(s), joined by newlines
    unclosed: bool  # a block was opened and never closed (truncated while thinking)

    @property
    def has_reasoning(self) -> bool:
        return bool(self.reasoning) or self.unclosed


def split_reasoning(
    text: str, start: str = DEFAULT_THINK_START, end: str = DEFAULT_THINK_END
) -> ReasoningSplit:
    """Separate thinking blocks from the visible answer.

    - `<think>a</think>b` -> visible `b`, reasoning `a`.
    - A block opened and never closed swallows the rest (the rollout was cut while thinking):
      visible is what came before it, `unclosed` is true.
    - A closing delimiter with no opening one (chat templates often put `<think>` in the prompt, so
      the completion starts inside the block) ends a block that began at the start of the text.
    - Several blocks are all removed; case of the delimiters matters (they are literal tokens).
    """
    if not start or not end:
        return ReasoningSplit(text, "", False)
    visible: list[str] = []
    reasoning: list[str] = []
    position = 0
    first_start = text.find(start)
    first_end = text.find(end)
    if first_end != -1 and (first_start == -1 or first_end < first_start):
        reasoning.append(text[:first_end])
        position = first_end + len(end)
    while True:
        opened = text.find(start, position)
        if opened == -1:
            visible.append(text[position:])
            return ReasoningSplit("".join(visible).strip(), "\n".join(reasoning).strip(), False)
        visible.append(text[position:opened])
        closed = text.find(end, opened + len(start))
        if closed == -1:
            reasoning.append(text[opened + len(start) :])
            return ReasoningSplit("".join(visible).strip(), "\n".join(reasoning).strip(), True)
        reasoning.append(text[opened + len(start) : closed])
        position = closed + len(end)
