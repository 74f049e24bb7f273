"""Answer extraction never fails and never hangs, whatever the text (up to the body limit).

Python's int() refuses strings over 4,300 digits and regexes can backtrack for ever: either
would turn one odd rollout into a 500 for the whole batch. The generator builds texts from
fragments that stress exactly that - long digit runs, fractions, leading-dot numbers, \\frac
parts, CJK numerals, separators, answer phrases of every language, LaTeX, markdown, reasoning
blocks - repeated up to PIVOT_MAX_TEXT_CHARS, and calls the pure functions directly (>= 10,000
inputs) and the HTTP endpoints on a loopback server.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.api.app import create_app
from service.scoring.answers import (
    answers_equal,
    canonical_number,
    extract_final_answer,
    score_consistency,
)
from service.scoring.languages import MGSM_LANGUAGES
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

MAX_CHARS = 20_000  # the default PIVOT_MAX_TEXT_CHARS
FUZZ_EXAMPLES = 10_000
# A safety bound against catastrophic backtracking or quadratic loops, far above the typical
# cost (a few ms; bench/ has the speed figures). One call over it means an algorithmic bug.
MAX_SECONDS_PER_CALL = 3.0

DIGITS = "0123456789"
NATIVE_DIGITS = "০১২৩৪৫৬৭৮৯๐๑๒๓๔๕๖๗๘๙౦౧౨౩౪౫౬౭౮౯０１２３４５６７８９"
CJK_NUMERALS = "零〇一二两三四五六七八九十百千万亿"
FRAGMENTS = [
    "The answer is ", "Answer: ", "**Answer:** ", "#### ", "#### Step 2: ", "Die Antwort lautet ",
    "La respuesta es ", "La réponse est ", "Ответ: ", "Jibu ni ", "উত্তর: ", "సమాధానం ",
    "คำตอบคือ ", "答えは", "答案是", "答案：", "\\boxed{", "\\frac{", "}{", "}", "{", "$", "\\(",
    "\\)", "\\[", "\\]", "\\times ", "\\dfrac{", "\\text{ dollars}", " = ", " + ", " - ", " × ",
    " ÷ ", "/", ".", ",", " ", "\n", "\n\n", "- ", "1. ", "| ", "|---|", "**", "(", ")", "%",
    "万", "分の", "分之", "と", "又", "第", "个", "円", "or ", " o ", " ou ", " oder ", " или ",
    " au ", " अथवा ", "或", "か", " to ", " до ", " entre ", " et ", " between ", " and ",
    "about ", "约", "左右", "Wait, ", "No, that is wrong. ", "I forgot ", "Moment, ", "いや、",
    "不对，", "Check: ", "yes. ", "<think>", "</think>", "?", "Could you clarify which one? ",
    "I cannot answer. ", "Sorry, ", "ফেরার পথ ", "ในตะกร้า ", "บาท", "ค่ะ", "です。", "。", "、",
    "soit ", "o sea ", "also ", "yaani ", "hundred ", "twelve ", "−", "–", "~", "^", "0.", "'",
    "\u00a0", "\u202f", "½", "¾", "٫", "１", "２",
]  # fmt: skip


KINDS = ("digits", "number", "mixed", "script", "repeat")
SCRIPT_RANGES = [(0x20, 0x7E), (0x980, 0x9FF), (0xC00, 0xC7F), (0xE00, 0xE7F), (0x3040, 0x30FF),
                 (0x4E00, 0x4FFF), (0x400, 0x4FF), (0xFF00, 0xFF5E), (0x2000, 0x206F), (0x300, 0x36F)]  # fmt: skip


def generated_text(rng: random.Random, kind: str) -> str:
    """One stress text of the given kind (digit runs, numerals, fragments, scripts, repeats)."""
    if kind == "digits":  # one long run in some number shape
        run = "".join(
            rng.choice(DIGITS)
            for _ in range(rng.choice([1, 40, 41, 300, 4300, 4301, 5000, MAX_CHARS - 40]))
        )
        shape = rng.choice(["{}", "3/{}", "{}/7", ".{}", "\\frac{{{}}}{{3}}", "\\boxed{{\\frac{{1}}{{{}}}}}",
                            "1.{}", "{},5", "The answer is {}."])  # fmt: skip
        return shape.format(run)[:MAX_CHARS]
    if kind == "number":  # long numerals of other scripts and groupings
        alphabet = rng.choice([NATIVE_DIGITS, CJK_NUMERALS, DIGITS + ",", DIGITS + ". ",
                               DIGITS + "万千百", "0\u00a0"])  # fmt: skip
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6000)))
        return rng.choice(["", "答案是", "Answer: ", "Ответ: "]) + body
    if kind == "script":  # arbitrary characters of mixed scripts
        ranges = [rng.choice(SCRIPT_RANGES) for _ in range(3)]
        return "".join(
            chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.choice([50, 500, 3000]))
        )
    pieces = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40))]
    text = "".join(
        p
        + (
            "".join(rng.choice(DIGITS) for _ in range(rng.choice([1, 2, 3, 45, 400])))
            if rng.random() < 0.5
            else ""
        )
        for p in pieces
    )
    if kind == "repeat":  # long texts: the same pattern many times, lengths log-uniform
        most = MAX_CHARS // max(1, len(text)) + 1
        text *= int(math.exp(rng.uniform(0, math.log(most)))) + 1
    return text[:MAX_CHARS]


@st.composite
def answer_texts(draw: st.DrawFn) -> str:
    """Hypothesis picks the kind and the seed; unicode text of its own choosing as well."""
    kind = draw(st.sampled_from([*KINDS, "hypothesis"]))
    if kind == "hypothesis":
        return draw(st.text(max_size=draw(st.sampled_from([50, 500, 3000]))))
    return generated_text(random.Random(draw(st.integers(0, 2**32))), kind)


_SEEN = {"inputs": 0.0, "slowest_ms": 0.0}


def _timed(fn: object, *args: object, **kwargs: object) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - start


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=answer_texts(), lang=st.sampled_from(MGSM_LANGUAGES))
def test_extraction_never_fails_on_generated_inputs(
    text: str, lang: str, figures: dict[str, str]
) -> None:
    """Each generated text is read as a target (its language's rules), as a pivot response
    (English rules) and, cut to the API's 200 characters, as a gold pivot answer."""
    slowest = max(
        _timed(extract_final_answer, text, lang),
        _timed(score_consistency, "Answer: 5", lang, pivot_response=text),
        _timed(score_consistency, "Jibu ni 5", "sw", pivot_answer=text[:200]),
        _timed(answers_equal, text[:200], "5"),
    )
    assert slowest < MAX_SECONDS_PER_CALL
    _SEEN["inputs"] += 1
    _SEEN["slowest_ms"] = max(_SEEN["slowest_ms"], 1000 * slowest)
    figures["answer fuzz (pure functions)"] = (
        f"{_SEEN['inputs']:.0f} inputs, slowest call {_SEEN['slowest_ms']:.0f} ms"
    )
    got = extract_final_answer(text, lang)
    assert (got.value is None) == (got.format_error is not None)
    if got.value is not None:
        assert canonical_number(got.value, None) == got.value
        assert answers_equal(got.value, got.value)


LONG_INPUTS = [
    "9" * MAX_CHARS,
    "The answer is 3/" + "7" * 5000,
    "The answer is ." + "1" * 5000,
    "\\boxed{\\frac{" + "1" * 5000 + "}{3}}",
    "答案是" + "二" * 5000,
    "答案是" + "三千" * 3000,
    "Answer: " + " × ".join(["9" * 39] * 400) + " = 5",
    "The answer is " + "hundred " * 2000,
    "Answer: x " * 1999 + "5",
    "The answer is 5. " + "Wait, let me check. " * 900 + "I forgot: 7.",
    "1个二个" * 3000,
    "<think>" * 2500,
    "\\boxed{" + "(" * 190 + "1" + ")" * 190 + "}",
]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=5), encoder_factory=HashFactory())
    with running_server(app) as base_url:
        yield base_url


def test_http_endpoints_never_500_on_generated_inputs(server: str, figures: dict[str, str]) -> None:
    texts = list(LONG_INPUTS)
    rng = random.Random(13)
    texts += [generated_text(rng, KINDS[k % len(KINDS)]) for k in range(40)]
    texts = [t if t.strip() else "x" for t in texts]  # empty strings are a 422, tested elsewhere
    sent = 0
    with httpx.Client(base_url=server, timeout=120) as client:
        for i in range(0, len(texts), 8):
            batch = texts[i : i + 8]
            langs = [MGSM_LANGUAGES[(i + k) % len(MGSM_LANGUAGES)] for k in range(len(batch))]
            consistency = {
                "items": [
                    {"target_response": t, "pivot_response": batch[-1 - k], "lang": lang}
                    for k, (t, lang) in enumerate(zip(batch, langs, strict=True))
                ]
                + [
                    {"target_response": "Answer: 5", "pivot_answer": t[:200], "lang": "en"}
                    for t in batch
                ]
            }
            response = client.post("/v1/answer-consistency", json=consistency)
            assert response.status_code == 200, response.text[:500]
            results = response.json()["results"]
            assert len(results) == 2 * len(batch)
            assert all(
                r["status"] in ("match", "mismatch", "format_error", "no_pivot_answer")
                for r in results
            )
            rewards = {
                "preset": "pasmr",
                "items": [
                    {"response": t, "lang": lang, "pivot_response": batch[0]}
                    for t, lang in zip(batch, langs, strict=True)
                ],
            }
            response = client.post("/v1/rewards", json=rewards)
            assert response.status_code == 200, response.text[:500]
            assert len(response.json()["results"]) == len(batch)
            sent += 3 * len(batch)
    figures["answer fuzz over HTTP (items)"] = str(sent)
