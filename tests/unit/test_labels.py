"""OpenRLHF label parsing: every JSON type a dataset's label column can hold."""

from __future__ import annotations

import json

import pytest

from service.errors import InvalidInputError
from service.scoring.answers import score_consistency
from service.scoring.labels import Label, format_number, is_bare_number, parse_label

FULL_RESPONSE = (
    "Janet's ducks lay 16 eggs. She eats 3 and bakes with 4, so 16 - 3 - 4 = 9 eggs are left. "
    "She sells them at $2 each: 9 * 2 = 18. The answer is 18."
)
GSM8K_STYLE = "She has 16 - 3 - 4 = 9 eggs left.\nShe makes 9 * 2 = $18.\n#### 18"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # null and empty values: no label at all
        (None, Label("none")),
        ("", Label("none")),
        ("   ", Label("none")),
        ([], Label("none")),
        # numbers: the gold answer
        (18, Label("number", pivot_answer="18")),
        (-3, Label("number", pivot_answer="-3")),
        (18.0, Label("number", pivot_answer="18")),
        (1250.5, Label("number", pivot_answer="1250.5")),
        (1e-7, Label("number", pivot_answer="0.0000001")),
        (10**30, Label("number", pivot_answer=str(10**30))),
        # strings that are just a number: the gold answer
        ("18", Label("number", pivot_answer="18")),
        (" 1,250.5 ", Label("number", pivot_answer="1,250.5")),
        ("$18", Label("number", pivot_answer="$18")),
        ("3/4", Label("number", pivot_answer="3/4")),
        ("\\boxed{18}", Label("number", pivot_answer="\\boxed{18}")),
        ("-0.5", Label("number", pivot_answer="-0.5")),
        # other text: an English response, both reference and pivot response
        (FULL_RESPONSE, Label("text", reference=FULL_RESPONSE, pivot_response=FULL_RESPONSE)),
        (GSM8K_STYLE, Label("text", reference=GSM8K_STYLE, pivot_response=GSM8K_STYLE)),
        ("18 dollars", Label("text", reference="18 dollars", pivot_response="18 dollars")),
        ("eighteen", Label("text", reference="eighteen", pivot_response="eighteen")),
        # objects, and objects as JSON strings
        ({"answer": 18, "lang": "de"}, Label("object", pivot_answer="18", lang="de")),
        ('{"answer": 18, "lang": "DE"}', Label("object", pivot_answer="18", lang="de")),
        (
            {"reference": "The answer is 18.", "gold_answer": "18"},
            Label("object", reference="The answer is 18.", pivot_answer="18"),
        ),
        (
            {"reference": "The answer is 18.", "lang": "deu_Latn"},
            Label(
                "object",
                reference="The answer is 18.",
                pivot_response="The answer is 18.",  # the reference doubles as the pivot response
                lang="de",
            ),
        ),
        (
            {"reference": "r", "pivot_response": "The answer is 20.", "gold": 18.5},
            Label("object", reference="r", pivot_response="The answer is 20.", pivot_answer="18.5"),
        ),
        ({"pivot_answer": "18", "answer": 18}, Label("object", pivot_answer="18")),  # they agree
        ({"lang": "sw", "answer": None, "reference": ""}, Label("object", lang="sw")),
        ({}, Label("object")),
        # one-element lists: their element
        (["18"], Label("number", pivot_answer="18")),
        ([18], Label("number", pivot_answer="18")),
        ([{"answer": 18}], Label("object", pivot_answer="18")),
        ([FULL_RESPONSE], Label("text", reference=FULL_RESPONSE, pivot_response=FULL_RESPONSE)),
    ],
)
def test_labels_of_every_json_type(label: object, expected: Label) -> None:
    # the label also arrives after a JSON round trip, as OpenRLHF sends it
    assert parse_label(label, "labels[0]") == expected
    assert parse_label(json.loads(json.dumps(label)), "labels[0]") == expected


@pytest.mark.parametrize(
    ("label", "loc", "words"),
    [
        (True, "labels[3]", "true/false"),
        (False, "labels[3]", "true/false"),
        (float("nan"), "labels[3]", "finite"),
        (float("inf"), "labels[3]", "finite"),
        (["18", "20"], "labels[3]", "exactly one element"),
        ('{"answer": 18', "labels[3]", "does not parse"),
        ('{"answer": ' + "[" * 5000, "labels[3]", "does not parse"),
        ({"colour": "red"}, "labels[3]", "unknown label keys"),
        ('{"colour": "red"}', "labels[3]", "unknown label keys"),
        ({"answer": [1]}, "labels[3].answer", "string or a number"),
        ({"answer": {"value": 1}}, "labels[3].answer", "string or a number"),
        ({"answer": True}, "labels[3].answer", "string or a number"),
        ({"lang": 7}, "labels[3].lang", "language code must be a string"),
        ({"lang": "xx"}, "labels[3].lang", "unknown language code"),
        ({"pivot_answer": "18", "gold": "20"}, "labels[3]", "different answers"),
        ([True], "labels[3]", "true/false"),
        ("The answer is \ud800 18.", "labels[3]", "lone surrogate"),
        ({"reference": "\udfff"}, "labels[3].reference", "lone surrogate"),
    ],
)
def test_unusable_labels_are_refused_naming_the_label(label: object, loc: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_label(label, "labels[3]")
    assert info.value.fields[0].loc == loc
    assert words in info.value.message


def test_a_full_english_response_label_gives_its_final_answer() -> None:
    """The label's final answer is what the target response is compared with."""
    label = parse_label(FULL_RESPONSE, "labels[0]")
    right = score_consistency(
        "Sie verkauft 9 Eier zu je 2 $. Die Antwort lautet 18.",
        "de",
        pivot_response=label.pivot_response,
        pivot_answer=label.pivot_answer,
    )
    wrong = score_consistency(
        "Sie verkauft 10 Eier zu je 2 $. Die Antwort lautet 20.",
        "de",
        pivot_response=label.pivot_response,
        pivot_answer=label.pivot_answer,
    )
    assert (right.status, right.pivot_answer) == ("match", "18")
    assert (wrong.status, wrong.pivot_answer) == ("mismatch", "18")
    gsm8k = parse_label(GSM8K_STYLE, "labels[0]")
    assert score_consistency("Jibu ni 18.", "sw", pivot_response=gsm8k.pivot_response).status == (
        "match"
    )


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("18", True),
        ("১৮", True),  # native digits
        ("18%", True),
        ("#### 18", True),
        ("The answer is 18.", False),
        ("x = 18", False),
        ("18 apples", False),
        ("", False),
        ("[...]", False),
    ],
)
def test_bare_numbers(text: str, bare: bool) -> None:
    assert is_bare_number(text) is bare


def test_number_formatting() -> None:
    assert format_number(0.1 + 0.2, "l") == "0.30000000000000004"  # exact, never rounded
    assert format_number(2.5e-10, "l") == "0.00000000025"
    assert format_number(2**60, "l") == str(2**60)
