"""Thinking blocks are split from the visible answer."""

from __future__ import annotations

import pytest

from service.scoring.reasoning import split_reasoning


@pytest.mark.parametrize(
    ("text", "visible", "reasoning", "unclosed"),
    [
        ("no thinking here", "no thinking here", "", False),
        (
            "<think>12 + 6 = 18</think>\nDie Antwort ist 18.",
            "Die Antwort ist 18.",
            "12 + 6 = 18",
            False,
        ),
        ("<think>try 17... no, 18</think>Antwort: 18", "Antwort: 18", "try 17... no, 18", False),
        # template put <think> in the prompt: the completion starts inside the block
        ("so it is 18\n</think>\n\nAntwort: 18", "Antwort: 18", "so it is 18", False),
        # cut off while thinking: no visible answer
        (
            "<think>Janet has 16 eggs, she eats 3, the answer is",
            "",
            "Janet has 16 eggs, she eats 3, the answer is",
            True,
        ),
        ("Intro <think>a</think> middle <think>b</think> end", "Intro  middle  end", "a\nb", False),
        ("<think></think>Antwort: 5", "Antwort: 5", "", False),
    ],
)
def test_split_reasoning(text: str, visible: str, reasoning: str, unclosed: bool) -> None:
    split = split_reasoning(text)
    assert (split.visible, split.reasoning, split.unclosed) == (visible, reasoning, unclosed)


def test_custom_delimiters() -> None:
    split = split_reasoning("[R]x = 2[/R] La respuesta es 2.", "[R]", "[/R]")
    assert split.visible == "La respuesta es 2." and split.reasoning == "x = 2"


def test_has_reasoning() -> None:
    assert not split_reasoning("plain").has_reasoning
    assert split_reasoning("<think>cut").has_reasoning
