"""Unit tests for final-answer extraction and the PASMR consistency reward."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.scoring.answers import (
    DEFAULT_REWARDS,
    ConsistencyRewards,
    ExtractedAnswer,
    answers_equal,
    canonical_number,
    extract_final_answer,
    score_consistency,
)
from service.scoring.languages import UnknownLanguageError


def value(text: str, lang: str | None) -> str | None:
    return extract_final_answer(text, lang).value


# --------------------------------------------------------------------------------------------
# The 11 MGSM languages: answer phrases, natural variants, native digits
# --------------------------------------------------------------------------------------------

PER_LANGUAGE = [
    # en
    ("en", "Tom had 7 marbles and found 5 more. 7 + 5 = 12. The answer is 12.", "12"),
    ("en", "She bakes 4 trays of 9 cookies: 4 × 9 = 36.\n\nAnswer: 36 cookies", "36"),
    ("en", "Each ticket costs $8, so 3 tickets cost $24.\n\n**Final answer:** $24", "24"),
    # bn
    ("bn", "রিনার ৮টি কলম আছে, সে আরও ৪টি কিনল। ৮ + ৪ = ১২। উত্তর হল ১২।", "12"),
    ("bn", "প্রতিদিন 15 টাকা, 6 দিনে 15 × 6 = 90 টাকা।\n\nউত্তর: 90 টাকা", "90"),
    ("bn", "মোট আম = ৩ × ১৫ = ৪৫টি।\n\nউত্তরঃ ৪৫", "45"),
    # de
    ("de", "Lena hat 9 Äpfel und isst 2. 9 - 2 = 7. Die Antwort lautet 7.", "7"),
    ("de", "Ein Heft kostet 2,50 €, vier Hefte kosten 10 €. Die Antwort ist 10.", "10"),
    ("de", "3 Kisten mit je 12 Flaschen: 3 × 12 = 36.\n\nAntwort: 36 Flaschen", "36"),
    # es
    ("es", "Ana tiene 14 lápices y regala 5. 14 - 5 = 9. La respuesta es 9.", "9"),
    ("es", "Cada caja trae 6 huevos; 4 cajas son 24 huevos.\n\nRespuesta: 24", "24"),
    ("es", "El total es 8 + 7 = 15 euros. Respuesta final: 15 €", "15"),
    # fr
    ("fr", "Paul a 11 billes et en gagne 6. 11 + 6 = 17. La réponse est 17.", "17"),
    ("fr", "Il faut 3 × 4 = 12 œufs.\n\nRéponse : 12 œufs", "12"),
    ("fr", "Le prix total est de 9,60 €.\n\nRéponse finale : 9,60 €", "9.6"),
    # ja
    ("ja", "りんごが5個、みかんが3個あります。5+3=8。答えは8個です。", "8"),
    ("ja", "1冊300円のノートを4冊買うと300×4=1200円です。\n\n答え：1200円", "1200"),
    ("ja", "全部で２４本です。答えは２４本。", "24"),
    # ru
    ("ru", "У Маши 12 конфет, она отдала 4. 12 - 4 = 8. Ответ — 8.", "8"),
    ("ru", "Всего 5 × 20 = 100 рублей.\n\nОтвет: 100 руб.", "100"),
    ("ru", "Итак, ответ: 45 минут.", "45"),
    # sw
    ("sw", "Juma ana maembe 10, anakula 3. 10 - 3 = 7. Jibu ni 7.", "7"),
    ("sw", "Kila siku shilingi 500, kwa siku 4: 500 × 4 = 2,000.\n\nJibu: shilingi 2,000", "2000"),
    ("sw", "Jumla ni 6 + 9 = 15. Jibu la mwisho ni 15.", "15"),
    # te
    ("te", "రాముడి వద్ద 6 మామిడిపండ్లు ఉన్నాయి, మరో 4 కొన్నాడు. 6+4=10. సమాధానం 10.", "10"),
    ("te", "మొత్తం ఖర్చు 25 × 4 = 100 రూపాయలు.\n\nసమాధానం: ₹100", "100"),
    ("te", "సమాధానం: ౪౨", "42"),
    # th
    ("th", "มีแมว 4 ตัว ได้มาอีก 3 ตัว ดังนั้น 4 + 3 = 7 คำตอบคือ 7", "7"),
    ("th", "ราคารวม 12 × 5 = 60 บาท\n\nคำตอบ: 60 บาท", "60"),
    ("th", "เหลือไข่ ๒๕ ฟอง คำตอบคือ ๒๕ ฟอง", "25"),
    # zh
    ("zh", "小明有 6 个苹果，又买了 4 个。6 + 4 = 10。答案是 10。", "10"),
    ("zh", "每本书 12 元，3 本共 36 元。\n\n答案：36 元", "36"),
    ("zh", "所以一共有 48 只鸡。最终答案为 48。", "48"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), PER_LANGUAGE)
def test_answer_phrases_per_language(lang: str, text: str, expected: str) -> None:
    got = extract_final_answer(text, lang)
    assert got.value == expected
    assert got.method == "phrase"
    assert not got.fallback
    assert got.format_error is None


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Step-by-Step Answer: 3 boxes of 4 pens is 12 pens. The answer is 12."),
        (
            "de",
            "Schritt-für-Schritt-Antwort: 3 Kisten mit 4 Stiften sind 12. Die Antwort lautet 12.",
        ),
        ("es", "Respuesta paso a paso: 3 cajas de 4 lápices son 12. La respuesta es 12."),
        ("fr", "Réponse étape par étape : 3 boîtes de 4 stylos font 12. La réponse est 12."),
        ("ja", "ステップごとの答え：4本入りの箱が3つで12本です。答えは12です。"),
        ("sw", "Jibu la Hatua kwa Hatua: masanduku 3 ya kalamu 4 ni 12. Jibu ni 12."),
        ("te", "దశలవారీగా సమాధానం: 3 పెట్టెలలో 4 పెన్నులు అంటే 12. సమాధానం 12."),
        ("th", "คำตอบทีละขั้นตอน: กล่อง 3 กล่อง กล่องละ 4 แท่ง เป็น 12 แท่ง คำตอบคือ 12"),
        ("bn", "ধাপে ধাপে উত্তর: ৩টি বাক্সে ৪টি করে কলম মানে 12টি। উত্তর হল 12।"),
        ("zh", "逐步解答：3 盒，每盒 4 支，共 12 支。答案是 12。"),
        ("ru", "Пошаговое решение: 3 коробки по 4 ручки — это 12 ручек. Ответ — 12."),
    ],
)
def test_mgsm_header_is_not_the_answer(lang: str, text: str) -> None:
    got = extract_final_answer(text, lang)
    assert (got.value, got.method) == ("12", "phrase")


def test_header_alone_falls_back_to_last_number() -> None:
    got = extract_final_answer("Step-by-Step Answer: 3 boxes of 4 pens is 12 pens.", "en")
    assert (got.value, got.method, got.fallback) == ("12", "last_number", True)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("bn", "উত্তর: ১,২৫০", "1250"),
        ("th", "คำตอบคือ ๑๒๐", "120"),
        ("te", "సమాధానం: ౧౮౫", "185"),
        ("zh", "答案：７３５", "735"),
        ("ja", "答え：１，０５０円", "1050"),
        ("en", "The answer is ٤٢.", "42"),  # Arabic-Indic
        ("en", "The answer is ۴۲.", "42"),  # Extended Arabic-Indic (Persian)
        ("hi", "उत्तर है १२५।", "125"),  # Devanagari
        ("zh", "答案是 ３．５ 米。", "3.5"),  # full-width decimal point
        ("ja", "答え：－４℃", "-4"),  # full-width minus
    ],
)
def test_native_and_full_width_digits(lang: str, text: str, expected: str) -> None:
    assert value(text, lang) == expected


def test_raw_keeps_original_script() -> None:
    got = extract_final_answer("উত্তর: ১,৩৫,০০০ টাকা", "bn")
    assert got.value == "135000"
    assert got.raw == "১,৩৫,০০০"


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("zh", "答案是十二棵。", "12"),
        ("zh", "答案是一百零五。", "105"),
        ("zh", "答案是两千三百。", "2300"),
        ("zh", "答案是五分之二。", "0.4"),
        ("zh", "答案是三点五升。", "3.5"),
        ("ja", "答えは二十四個です。", "24"),
        ("en", "The answer is twelve.", "12"),
        ("en", "The answer is zero.", "0"),
        ("en", "The answer is one hundred and five.", "105"),
    ],
)
def test_number_words_after_an_answer_phrase(lang: str, text: str, expected: str) -> None:
    assert value(text, lang) == expected


# --------------------------------------------------------------------------------------------
# Locale separators (decided per language)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("de", "Die Antwort lautet 1.250.", "1250"),
        ("de", "Die Antwort lautet 1.250,5.", "1250.5"),
        ("de", "Die Antwort lautet 1,25.", "1.25"),
        ("de", "Die Antwort lautet 1,250.", "1.25"),  # decimal comma in German
        ("de", "Die Antwort lautet 1.250.000 Euro.", "1250000"),
        ("de", "Antwort: 1'250 Franken", "1250"),
        ("es", "La respuesta es 2.975 km.", "2975"),
        ("es", "La respuesta es 1,5 litros.", "1.5"),
        ("fr", "La réponse est 1 250,5 €.", "1250.5"),
        ("fr", "La réponse est 2\u202f975.", "2975"),  # narrow no-break space
        ("fr", "La réponse est 2\u00a0975.", "2975"),  # no-break space
        ("ru", "Ответ: 3 360 рублей.", "3360"),
        ("ru", "Ответ: 136,50 руб.", "136.5"),
        ("en", "The answer is 1,250.", "1250"),
        ("en", "The answer is 1.250.", "1.25"),  # dot decimal in English
        ("en", "The answer is 1,250.50.", "1250.5"),
        ("en", "The answer is 12,345,678.", "12345678"),
        ("en", "The answer is 1,25,000.", "125000"),  # Indian grouping
        ("bn", "উত্তর: ১,৩৫,০০০", "135000"),
        ("te", "సమాధానం: ₹1,35,000", "135000"),
        ("th", "คำตอบคือ 3,360 บาท", "3360"),
        ("sw", "Jibu ni 8,400.", "8400"),
        ("ja", "答えは1,050円です。", "1050"),
        ("zh", "答案是 2,500 元。", "2500"),
    ],
)
def test_separators_by_language(lang: str, text: str, expected: str) -> None:
    assert value(text, lang) == expected


def test_ascii_space_groups_only_in_space_grouping_languages() -> None:
    assert value("Ответ: 1 200", "ru") == "1200"
    assert value("The answer is 1 200.", "en") == "1"  # English does not group with spaces
    assert value("Ответ: 5 12 7", "ru") == "5"  # not three digits: separate numbers


def test_writers_own_convention_overrides_the_language_default() -> None:
    # German text written with English separators throughout: 0.86 proves the dot is decimal
    text = "0.86 × 1,450 = 1,247. Die Antwort lautet 1,247."
    assert value(text, "de") == "1247"
    # ... but proper German stays German
    assert value("0,86 × 1.450 = 1.247. Die Antwort lautet 1.247.", "de") == "1247"
    # mixed evidence: fall back to the language's convention
    assert value("0,5 und 0.5; die Antwort lautet 1.250.", "de") == "1250"


# --------------------------------------------------------------------------------------------
# LaTeX, GSM8K, markdown
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So each piece is \\(\\boxed{0.75}\\) m.", "0.75"),
        ("\\boxed{\\frac{3}{4}}", "0.75"),
        ("\\boxed{\\dfrac{7}{2}}", "3.5"),
        ("\\boxed{\\tfrac{1}{8}}", "0.125"),
        ("\\boxed{-\\frac{3}{4}}", "-0.75"),
        ("\\boxed{2\\frac{1}{2}}", "2.5"),
        ("\\boxed{\\frac{1}{3}}", "1/3"),
        ("\\boxed{18 \\text{ dollars}}", "18"),
        ("\\boxed{\\$1,250}", "1250"),
        ("\\boxed{50\\%}", "50"),
        ("\\boxed{3 \\times 45}", "135"),
        ("\\boxed{x = 12}", "12"),
        ("\\boxed{{12}}", "12"),
        ("The final answer is $\\boxed{42}$.", "42"),
        ("\\boxed{1\\,250}", "1250"),
    ],
)
def test_boxed(text: str, expected: str) -> None:
    got = extract_final_answer(text, "en")
    assert (got.value, got.method) == (expected, "boxed")


def test_boxed_decimal_comma_in_german() -> None:
    assert value("Also \\boxed{1{,}5} Liter.", "de") == "1.5"


def test_non_numeric_or_unclosed_box_is_a_format_error() -> None:
    assert extract_final_answer("\\boxed{\\sqrt{2}}", "en").format_error == "non_numeric_answer"
    assert extract_final_answer("The total is \\boxed{12", "en").format_error == "truncated"


def test_gsm8k_hash_answer() -> None:
    text = "Altitude: 1,250 + 380 = <<1250+380=1630>>1,630 m\n#### 1,630"
    got = extract_final_answer(text, "en")
    assert (got.value, got.method) == ("1630", "hash")


def test_calculator_annotations_are_ignored() -> None:
    text = "He pays 3 * 4 = <<3*4=12>>12 dollars"
    assert value(text, "en") == "12"


@pytest.mark.parametrize(
    "text",
    [
        "**Answer:** $14.70",
        "**Answer: 14.70**",
        "The answer is **14.7**.",
        "The answer is:\n\n**14.70**",
        "The answer is \\(14.70\\).",
    ],
)
def test_markdown_and_inline_math(text: str) -> None:
    assert value(text, "en") == "14.7"


def test_latest_explicit_answer_wins() -> None:
    text = "The answer is 145.\n\nOh wait, 25 were sold: 145 - 25 = 120.\n\nThe answer is 120."
    assert value(text, "en") == "120"
    assert value("\\boxed{40}. Rechecking the sum... The answer is 42.", "en") == "42"
    assert value("The answer is 40. Corrected: \\boxed{42}", "en") == "42"


def test_later_mention_of_answer_without_number_does_not_hide_it() -> None:
    text = "Answer: 53.\n\nThis answer is correct because the broken eggs were removed."
    assert value(text, "en") == "53"


# --------------------------------------------------------------------------------------------
# Currencies, units, percentages, fractions, signs, trailing zeros
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The answer is $1,250.", "1250"),
        ("de", "Die Antwort lautet 14,70 €.", "14.7"),
        ("te", "సమాధానం: ₹450", "450"),
        ("ja", "答えは¥1050です。", "1050"),
        ("zh", "答案：26元", "26"),
        ("bn", "উত্তর: ৳৫০০", "500"),
        ("th", "คำตอบ: ฿113", "113"),
        ("ru", "Ответ: 136,5 руб.", "136.5"),
        ("sw", "Jibu: TSh 1,400", "1400"),
        ("de", "Die Antwort lautet 18 US-Dollar.", "18"),
        ("en", "The answer is Rs.500.", "500"),
        ("ru", "Ответ: 12 км/ч", "12"),
        ("fr", "Réponse : 4,5 m²", "4.5"),
        ("zh", "答案是 1.5万元。", "15000"),
        ("en", "The answer is 1.2 million.", "1200000"),
        ("bn", "উত্তর: 2 লাখ টাকা", "200000"),
    ],
)
def test_currencies_units_and_multipliers(lang: str, text: str, expected: str) -> None:
    assert value(text, lang) == expected


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The answer is 50%."),
        ("fr", "Réponse : 50 %"),
        ("zh", "答案是 50%。"),
        ("sw", "Jibu ni 50%."),
        ("ar", "الإجابة هي ٥٠٪"),
    ],
)
def test_percentages_keep_the_number(lang: str, text: str) -> None:
    assert value(text, lang) == "50"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 3/4.", "0.75"),
        ("The answer is 1 3/4 cups.", "1.75"),
        ("The answer is 2½ hours.", "2.5"),
        ("The answer is ¾.", "0.75"),
        ("The answer is 2/3.", "2/3"),
        ("The answer is 3⁄8.", "0.375"),  # fraction slash
    ],
)
def test_fractions(text: str, expected: str) -> None:
    assert value(text, "en") == expected


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The answer is -3.", "-3"),
        ("ru", "Ответ: −4 °C", "-4"),  # Unicode minus
        ("fr", "La réponse est −80.", "-80"),
        ("en", "Her balance is −$80. The answer is -$80.", "-80"),
        ("bn", "উত্তর: -80", "-80"),
        ("en", "The answer is 6 - 10 = -4.", "-4"),
        ("en", "So 10 - 4 = 6. The answer is 6.", "6"),  # subtraction is not a sign
        ("en", "COVID-19 cases rose from 10 to 30, so 20 more.", "20"),  # hyphen is not a sign
    ],
)
def test_negative_numbers(lang: str, text: str, expected: str) -> None:
    assert value(text, lang) == expected


@pytest.mark.parametrize(
    "text", ["The answer is 18.", "The answer is 18.0.", "The answer is 18.00."]
)
def test_trailing_zeros_are_equal(text: str) -> None:
    assert value(text, "en") == "18"


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The answer is 135 + 50 = 185.", "185"),
        ("en", "Answer: 3 × $45 = $135", "135"),
        ("de", "Die Antwort lautet 3 × 45 $ = 135 $.", "135"),
        ("zh", "答案是 18 + 8 = 26 元。", "26"),
        ("fr", "Réponse : 53 œufs (5 douzaines achetées, 7 œufs cassés).", "53"),
        ("ja", "答えは 5 × 12 − 7 = 53 個です。", "53"),
        ("en", "The answer is 135 + 50.", "185"),  # no "=": the expression is evaluated
        ("sw", "Jibu ni 3 × 4.", "12"),
    ],
)
def test_answer_phrase_followed_by_an_expression_takes_the_result(
    lang: str, text: str, expected: str
) -> None:
    assert value(text, lang) == expected


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("sw", "Jibu: mita 0.75"),
        ("sw", "Jibu ni mita 0.75."),
        ("es", "La respuesta es de 0,75 metros."),
        ("fr", "La réponse est donc 0,75 m."),
    ],
)
def test_unit_words_between_phrase_and_number(lang: str, text: str) -> None:
    assert value(text, lang) == "0.75"


def test_phrase_used_as_a_sentence_opener_is_not_an_answer() -> None:
    text = "To find the answer, we compute 5 × 12 = 60. Then 60 - 7 = 53."
    got = extract_final_answer(text, "en")
    assert (got.value, got.method) == ("53", "last_number")
    text = "Answer: First, 5 × 12 = 60 eggs. Then 60 - 7 = 53 eggs remain."
    assert value(text, "en") == "53"


# --------------------------------------------------------------------------------------------
# Fallback and format errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "6 ÷ 8 = 0.75, so each piece is 0.75 m long.", "0.75"),
        ("bn", "৩০ × ২ ÷ ৫ = ১২। সুতরাং বাগানে আপেল গাছ আছে ১২টি।", "12"),
        ("th", "ดังนั้นต้องใช้สี 18 ÷ 4 = 4.5 ลิตร", "4.5"),
        ("de", "Die Temperatur beträgt also 6 − 10 = −4 °C.", "-4"),
        ("ja", "合計は 120 + 30 = 150円です", "150"),
        ("en", "The total is 12 apples.\n\nHope this helps!", "12"),
    ],
)
def test_fallback_to_last_number(lang: str, text: str, expected: str) -> None:
    got = extract_final_answer(text, lang)
    assert got == ExtractedAnswer(got.value, got.raw, "last_number", True, None)
    assert got.value == expected


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Daily charge: 3 days × $45 = $135\nDistance charge: 250 km × $0.20 ="),
        ("ru", "Сложим количество страниц во всех трёх книгах: 240 + 315 ="),
        ("es", "Cada litro cubre 4 m². Para saber cuántos litros necesita, dividimos"),
        ("bn", "১২ কিলোমিটারে ১২ × ৬.৫ = ৭৮ বাত। এর সাথে"),
        ("ja", "コーヒー3杯は 3 × 3.40 = 10.20ドルです。クロワッサン2個は"),
        ("en", "There are 5 beds with 24 tulips each, so the total number of tulips is"),
        ("en", "He has 5 apples and buys 3 more, so he has 8 and"),
        ("en", "We compute 30 ×"),
        ("en", "The answer is"),
        ("sw", "Kuna mimea 36 na kila mmea unahitaji lita 2.5. Ili kupata jumla, tunazidisha"),
    ],
)
def test_truncated_rollouts_are_format_errors(lang: str, text: str) -> None:
    got = extract_final_answer(text, lang)
    assert got.value is None
    assert got.format_error == "truncated"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("th", "ค่าโดยสาร 12 × 6.5 = 78 บาท และ"),  # Thai has no full stop: dangling "and"
        ("th", "ค่าโดยสาร 12 × 6.5 = 78 บาท รวมกับค่าเรียก"),
        ("zh", "买 5 本：3.6 × 5 = 18 元，再加上"),  # a new clause after the number
        ("zh", "买 5 本：3.6 × 5 = 18 元再加上一支"),
        ("en", "So he has 12 apples, and"),
    ],
)
def test_truncation_without_sentence_punctuation(lang: str, text: str) -> None:
    assert extract_final_answer(text, lang).format_error == "truncated"


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("ja", "合計は 120 + 30 = 150円です", "150"),
        ("en", "Each piece is\n\\[\n\\frac{6}{8} = 0.75 \\text{ m}\n\\]", "0.75"),
        ("en", "So 5 × 12 − 7 = 53 eggs (5 dozen minus 7 broken).", "53"),
    ],
)
def test_unterminated_but_complete_fallbacks(lang: str, text: str, expected: str) -> None:
    assert value(text, lang) == expected


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("zh", "抱歉，我无法回答这个问题。"),
        ("en", "I'm sorry, but I can't help with that."),
        ("fr", "Il reste 120 moutons, sinon 145. Je ne peux pas trancher avec l'énoncé."),
        ("de", "Leider kann ich diese Frage nicht beantworten."),
        ("sw", "Samahani, siwezi kujibu swali hili."),
        ("en", "I'm sorry, but I cannot solve this problem with 3 unknowns."),
        ("te", "క్షమించండి, నేను ఈ ప్రశ్నకు సమాధానం ఇవ్వలేను."),
        ("ja", "申し訳ありませんが、この質問には答えられません。"),
    ],
)
def test_refusals_are_format_errors(lang: str, text: str) -> None:
    got = extract_final_answer(text, lang)
    assert got.value is None
    assert got.format_error == "refusal"


def test_apology_before_the_answer_is_not_a_refusal() -> None:
    assert value("Sorry, I made a mistake earlier: 5 + 7 = 12.", "en") == "12"
    assert value("Sorry, I made a mistake earlier: the total is 12.", "en") == "12"
    assert value("5 + 7 = 12. I can't simplify it further.", "en") == "12"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "32 ÷ 12 = 2.67. So the school needs either 2 or 3 minibuses."),
        ("en", "The answer is 2 or 3."),
        ("sw", "Jibu ni 2 au 3."),
        ("es", "La respuesta es 120 o 145."),
        ("fr", "Il en reste 120, sinon il y en a toujours 145."),
        ("zh", "答案是 120 或 145。"),
        ("en", "The answer is 2-3 buses."),
        ("en", "The answer is 2 – 3 buses."),
        ("ja", "答えは2～3台です。"),
    ],
)
def test_hedged_answers_are_format_errors(lang: str, text: str) -> None:
    got = extract_final_answer(text, lang)
    assert got.value is None
    assert got.format_error == "ambiguous_answer"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Each plant needs 2.5 liters of water. " * 8 + "Each plant needs"),
        ("th", "ร้านค้ามีรายได้ต่อวัน " * 7 + "ร้านค้ามี"),
        ("de", "5 Dutzend sind 5 × 12 Eier. " * 5 + "5 Dutzend sind 5 ×"),
        ("zh", "每天卖出的数量是一样的。" * 6),
        ("en", "The answer is 5.\n" * 6),
        ("ja", "同じ計算を繰り返します。" * 4 + "同じ計算"),
    ],
)
def test_repetition_loops_are_format_errors(lang: str, text: str) -> None:
    got = extract_final_answer(text, lang)
    assert got.value is None
    assert got.format_error == "repetition_loop"


def test_short_repetition_is_not_a_loop() -> None:
    text = "సమాధానం 39.చాక్లెట్‌లుచాక్లెట్‌లుచాక్లెట్‌లు"  # MGSM te exemplar noise
    assert value(text, "te") == "39"
    steps = "".join(f"Day {i}: {i} × 5 = {i * 5}.\n" for i in range(1, 8))
    assert value(steps + "The answer is 35.", "en") == "35"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("To find the weekly cost, multiply the fare by the number of trips.", "no_number"),
    ],
)
def test_no_answer_reasons(text: str, reason: str) -> None:
    assert extract_final_answer(text, "en") == ExtractedAnswer(None, None, "none", False, reason)


def test_unknown_language_raises() -> None:
    with pytest.raises(UnknownLanguageError):
        extract_final_answer("The answer is 5.", "xx")


def test_lang_none_uses_english_conventions() -> None:
    assert value("The answer is 1,250.", None) == "1250"
    assert value("Die Antwort lautet 7.", None) == "7"


# --------------------------------------------------------------------------------------------
# canonical_number / answers_equal
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        ("1,250", "en", "1250"),
        ("1,250", None, "1250"),
        ("1.250", "de", "1250"),
        ("1,250", "de", "1.25"),
        ("1 250,5", "fr", "1250.5"),
        ("$3,360.00", "en", "3360"),
        ("18", "en", "18"),
        ("18.0", "en", "18"),
        ("-0", "en", "0"),
        ("−4", "en", "-4"),
        ("3/4", "en", "0.75"),
        ("1/3", "en", "1/3"),
        ("\\frac{3}{4}", "en", "0.75"),
        ("\\boxed{2\\frac{1}{2}}", "en", "2.5"),
        ("50%", "en", "50"),
        ("১,৩৫,০০০", "bn", "135000"),
        ("十二", "zh", "12"),
        ("twelve", "en", "12"),
        ("", "en", None),
        ("abc", "en", None),
        ("2 or 3", "en", None),
    ],
)
def test_canonical_number(raw: str, lang: str | None, expected: str | None) -> None:
    assert canonical_number(raw, lang) == expected


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("18", "18.0", True),
        ("18", "18.00", True),
        ("1250", "1,250", True),
        ("0.75", "3/4", True),
        ("-4", "−4", True),
        ("1/3", "0.33", True),
        ("1/3", "0.333", True),
        ("2/3", "0.67", True),
        ("2/3", "0.66", True),  # truncated is within one unit of the last place
        ("8/3", "2.67", True),
        ("1/3", "0.3", False),  # one decimal is too coarse
        ("8/3", "3", False),  # a rounded-up integer is a different answer
        ("2.67", "3", False),
        ("1247", "1250", False),
        ("20", "0.2", False),
        ("x", "1", False),
        ("", "", False),
    ],
)
def test_answers_equal(a: str, b: str, equal: bool) -> None:
    assert answers_equal(a, b) is equal
    assert answers_equal(b, a) is equal


# --------------------------------------------------------------------------------------------
# score_consistency
# --------------------------------------------------------------------------------------------


def test_match_mismatch_and_defaults() -> None:
    pivot = "5 dozen = 60 eggs, 7 broken: 60 - 7 = 53.\n\nThe answer is 53."
    res = score_consistency("答案是 53。", "zh", pivot_response=pivot)
    assert (res.status, res.reward, res.target_answer, res.pivot_answer) == (
        "match",
        1.0,
        "53",
        "53",
    )
    res = score_consistency("答案是 60。", "zh", pivot_response=pivot)
    assert (res.status, res.reward) == ("mismatch", 0.1)
    assert ConsistencyRewards(1.0, 0.1, 0.0) == DEFAULT_REWARDS


def test_format_error_and_no_pivot_answer() -> None:
    res = score_consistency("Сложим: 240 + 315 =", "ru", pivot_answer="735")
    assert (res.status, res.reward, res.target_answer) == ("format_error", 0.0, None)
    assert "truncated" in res.detail
    res = score_consistency("Antwort: 102", "de", pivot_response="There are 5 beds with")
    assert (res.status, res.reward, res.target_answer) == ("no_pivot_answer", None, "102")
    res = score_consistency("Antwort: 102", "de")
    assert res.status == "no_pivot_answer"
    res = score_consistency(None, "de", pivot_answer="102")
    assert res.status == "format_error"


def test_target_format_error_wins_over_missing_pivot() -> None:
    res = score_consistency("抱歉，我无法回答。", "zh", pivot_response="I cannot answer.")
    assert res.status == "format_error"


def test_gold_pivot_answer_takes_precedence_and_uses_english_rules() -> None:
    res = score_consistency(
        "Antwort: 1.250", "de", pivot_answer="1,250", pivot_response="The answer is 7."
    )
    assert (res.status, res.pivot_answer, res.pivot_fallback) == ("match", "1250", False)
    res = score_consistency("Antwort: 1,25", "de", pivot_answer="1.25")
    assert res.status == "match"


def test_fallback_flags_are_reported() -> None:
    res = score_consistency(
        "6 ÷ 8 = 0.75, so each piece is 0.75 m long.",
        "en",
        pivot_response="Each piece is 6/8 m, so 0.75 m.",
    )
    assert (res.status, res.target_fallback, res.pivot_fallback) == ("match", True, True)


def test_custom_rewards() -> None:
    rewards = ConsistencyRewards(match=2.0, mismatch=-0.5, format_error=-1.0)
    assert score_consistency("Jibu ni 3.", "sw", pivot_answer="4", rewards=rewards).reward == -0.5
    assert score_consistency("Jibu ni", "sw", pivot_answer="4", rewards=rewards).reward == -1.0
    with pytest.raises(ValueError):
        ConsistencyRewards(match=float("nan"))


def test_unknown_target_language_raises() -> None:
    with pytest.raises(UnknownLanguageError):
        score_consistency("The answer is 5.", "klingon", pivot_answer="5")


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


def _group(digits: str, sep: str, indian: bool = False) -> str:
    if not indian or len(digits) <= 3:
        head, rest = digits[: len(digits) % 3 or 3], digits[len(digits) % 3 or 3 :]
        return sep.join([head, *(rest[i : i + 3] for i in range(0, len(rest), 3))])
    head, last = digits[:-3], digits[-3:]
    pairs = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
    return sep.join([*pairs, last])


LOCALES = {
    # lang: (thousands separator, decimal separator, indian grouping)
    "en": (",", ".", False),
    "de": (".", ",", False),
    "es": (".", ",", False),
    "fr": ("\u202f", ",", False),
    "ru": ("\u00a0", ",", False),
    "bn": (",", ".", True),
    "te": (",", ".", True),
    "th": (",", ".", False),
    "sw": (",", ".", False),
    "ja": (",", ".", False),
    "zh": (",", ".", False),
}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(LOCALES)),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=99),
    st.booleans(),
)
def test_locale_formatted_numbers_round_trip(
    lang: str, whole: int, cents: int, with_cents: bool
) -> None:
    thousands, decimal, indian = LOCALES[lang]
    text = _group(str(whole), thousands, indian)
    expected = Decimal(whole)
    if with_cents:
        text += f"{decimal}{cents:02d}"
        expected += Decimal(cents) / 100
    want = format(expected.normalize(), "f") if expected else "0"
    assert canonical_number(text, lang) == want
    phrase = {"en": "The answer is", "de": "Die Antwort lautet", "ru": "Ответ:"}.get(lang, "")
    if phrase:
        assert value(f"{phrase} {text}.", lang) == want


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(sorted(LOCALES)))
def test_extraction_is_total_and_deterministic(text: str, lang: str) -> None:
    first = extract_final_answer(text, lang)
    assert first == extract_final_answer(text, lang)
    assert (first.value is None) == (first.format_error is not None)
    if first.value is not None:
        assert canonical_number(first.value, None) == first.value
        assert answers_equal(first.value, first.value)
