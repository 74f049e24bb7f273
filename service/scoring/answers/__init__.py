"""Final-answer extraction and PASMR's answer-consistency reward. Pure functions, no I/O.

PASMR rewards a target-language rollout A_T against the model's own English answer A_en:
1.0 when the final answers are equal, 0.1 when both have one but they differ, 0.0 when the
rollout has a format error. Everything here is deterministic and thread-safe (no global
mutable state, no signals), so it can run inside a thread pool.

The package, by job:

* `normalize` - same-length character normalisation, markdown structure, language conventions;
* `numbers` / `numerals` - number lexing (digits with separators, fractions, CJK numerals,
  English number words) and canonical strings;
* `latex` - \\boxed{} contents and a small exact arithmetic evaluator;
* `lexicon` - answer phrases, hedge / range / correction / refusal words;
* `degenerate` - repetition loops and truncated rollouts;
* `extract` - what a response commits to (see its docstring for the reading order);
* `values` - standalone answers and numeric equality;
* `consistency` - the PASMR reward.

Number conventions (documented decisions):

* Digits of every script (Bengali, Thai, Telugu, Devanagari, Arabic-Indic, full-width, ...) are
  mapped to ASCII; full-width punctuation and the Unicode minus are mapped to ASCII too.
* Decimal separator BY LANGUAGE: comma for de/es/fr/ru (and most other European languages,
  Turkish, Indonesian, Vietnamese), dot for en/bn/te/th/ja/zh/sw and the rest. An ambiguous
  ``1.250`` / ``1,250`` (one separator followed by exactly three digits) is read with the
  language's convention (de 1.250 = 1250, en 1.250 = 1.25, de 1,250 = 1.25, en 1,250 = 1250)
  UNLESS the same text unambiguously uses the other convention elsewhere and never its own
  (e.g. a German answer writing ``0.86 × 1,450``): the writer's own convention wins.
* Thousands: ``1,250,000`` / ``1.250.000``, Indian ``1,25,000``, apostrophe ``1'250`` and
  NBSP / narrow NBSP / thin space everywhere; a plain ASCII space only in languages whose norms
  allow space grouping (fr, ru, de, es, it, pt, Slavic/Nordic/Baltic languages), and only
  before exactly three digits ("3 360"), so "5 12" stays two numbers.
* Percentages keep the number: ``50%`` -> ``"50"`` (MGSM gold answers never carry the unit, and
  20% vs 0.2 is treated as a different answer); ``百分之二十`` likewise reads 20.
* Fractions are exact: ``3/4`` -> ``"0.75"``, mixed ``1 3/4`` / ``1¾`` / ``1\\frac{3}{4}`` ->
  ``"1.75"``, CJK ``四分之三`` / ``4分の3`` -> ``"0.75"``, ``1と2分の1`` -> ``"1.5"``; a fraction
  without a finite decimal expansion is kept as ``"p/q"`` in lowest terms (``1/3`` -> ``"1/3"``).
  :func:`answers_equal` accepts such a fraction as equal to a decimal with at least two decimals
  within one unit of its last place (1/3 == 0.33 == 0.333, 2/3 == 0.67 == 0.66), but never to an
  integer (8/3 != 3).
* CJK numerals are numbers (``三百五十``, ``两千零五十``, ``1万2千``, ``1.2万``); a lone ``一`` is
  only read right after an answer phrase (elsewhere it is mostly an article), ordinals (``第二步``)
  and step labels (``Step 2:``, ``Шаг 3``, ``ขั้นตอนที่ 2``) are structure, as are list numbers.
* ``18``, ``18.0`` and ``18.00`` are the same canonical value ``"18"``; ``-0`` is ``"0"``.
* Currency symbols/words and units around a number are ignored (``Sh. 15,000/=``, ``Rs. 500/-``);
  ``万``/``亿``, lakh/crore and million/billion multipliers right after a number are applied.
* Every digit string is bounded (40 digits, values below 2**1400), so no input reaches Python's
  4,300-digit ``int()`` limit.

math-verify is deliberately not used: its timeout relies on signals (unusable in the worker
threads that score requests), its sympy import costs ~0.4 s and each parse 10-60 ms, and
grade-school answers need exact numbers, not symbolic equivalence. The small Fraction evaluator
in `latex` covers \\frac, \\dfrac, mixed numbers, + - × ÷ ^ and \\text units with bounded input.
"""

from __future__ import annotations

from service.scoring.answers.consistency import (
    DEFAULT_REWARDS,
    ConsistencyResult,
    ConsistencyRewards,
    ConsistencyStatus,
    score_consistency,
)
from service.scoring.answers.extract import AnswerMethod, ExtractedAnswer, extract_final_answer
from service.scoring.answers.values import answers_equal, canonical_number

__all__ = [
    "DEFAULT_REWARDS",
    "AnswerMethod",
    "ConsistencyResult",
    "ConsistencyRewards",
    "ConsistencyStatus",
    "ExtractedAnswer",
    "answers_equal",
    "canonical_number",
    "extract_final_answer",
    "score_consistency",
]
