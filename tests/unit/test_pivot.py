"""Unit tests for splitting PASMR rollouts into pivot question and target answer."""

from __future__ import annotations

import pytest

from service.scoring.pivot import DEFAULT_END, DEFAULT_START, PivotExtraction, extract_pivot

Q = "Janet has 16 eggs and eats 3. How many are left?"
A = "Janet hat 16 Eier und isst 3. 16 - 3 = 13. Die Antwort lautet 13."


def test_defaults() -> None:
    assert (DEFAULT_START, DEFAULT_END) == ("<pivot>", "</pivot>")


def test_well_formed() -> None:
    got = extract_pivot(f"<pivot>{Q}</pivot>{A}")
    assert got == PivotExtraction(Q, A, None)
    assert got.ok


def test_whitespace_is_stripped() -> None:
    got = extract_pivot(f"\n  <pivot>\n  {Q}\n</pivot>\n\n{A}\n  ")
    assert (got.pivot_question, got.target_answer) == (Q, A)


def test_custom_delimiters() -> None:
    got = extract_pivot(f"[EN]{Q}[/EN]{A}", start="[EN]", end="[/EN]")
    assert (got.pivot_question, got.target_answer) == (Q, A)


def test_identical_delimiters() -> None:
    got = extract_pivot(f"###{Q}###{A}", start="###", end="###")
    assert (got.pivot_question, got.target_answer) == (Q, A)
    assert extract_pivot(f"###{Q}###{A}###", start="###", end="###").format_error == (
        "duplicated_delimiters"
    )


@pytest.mark.parametrize(
    ("rollout", "reason"),
    [
        ("", "empty_rollout"),
        ("   ", "empty_rollout"),
        (f"{Q} {A}", "missing_start_delimiter"),
        (f"{Q}</pivot>{A}", "missing_start_delimiter"),
        (f"<pivot>{Q} {A}", "missing_end_delimiter"),
        (f"</pivot>{Q}<pivot>{A}", "delimiters_out_of_order"),
        (f"<pivot>  </pivot>{A}", "empty_pivot"),
        (f"<pivot>{Q}</pivot>   ", "empty_answer"),
        (f"<pivot><pivot>{Q}</pivot></pivot>{A}", "nested_delimiters"),
        (f"<pivot>{Q}</pivot><pivot>{Q}</pivot>{A}", "duplicated_delimiters"),
        (f"<pivot>{Q}</pivot>{A}</pivot>", "duplicated_delimiters"),
    ],
)
def test_format_errors(rollout: str, reason: str) -> None:
    got = extract_pivot(rollout)
    assert got.format_error == reason
    assert not got.ok
    assert got.target_answer is None


def test_empty_answer_keeps_the_question() -> None:
    got = extract_pivot(f"<pivot>{Q}</pivot>")
    assert (got.pivot_question, got.format_error) == (Q, "empty_answer")


def test_preamble() -> None:
    rollout = f"Sure! <pivot>{Q}</pivot>{A}"
    assert extract_pivot(rollout).ok
    assert extract_pivot(rollout, allow_preamble=False).format_error == "text_before_pivot"
    assert extract_pivot(f"  <pivot>{Q}</pivot>{A}", allow_preamble=False).ok


def test_start_delimiter_in_prompt() -> None:
    got = extract_pivot(f"{Q}</pivot>{A}", require_start=False)
    assert (got.pivot_question, got.target_answer) == (Q, A)
    got = extract_pivot(f"{Q} {A}", require_start=False)
    assert got.format_error == "missing_end_delimiter"


def test_delimiters_are_case_sensitive_tokens() -> None:
    assert extract_pivot(f"<PIVOT>{Q}</PIVOT>{A}").format_error == "missing_start_delimiter"


def test_empty_delimiters_are_a_caller_error() -> None:
    with pytest.raises(ValueError):
        extract_pivot("x", start="")
