"""How a response is laid out: markdown structure, lines, script tails, truncation, CJK
numerals and fractions, reasoning blocks, LaTeX and code in long rollouts.

Written independently of the shared dev files, in the 11 MGSM languages where the class applies.
"""

from __future__ import annotations

import pytest

from service.scoring.answers import extract_final_answer, score_consistency


def read(text: str, lang: str, **kwargs: str) -> tuple[str | None, str | None]:
    got = extract_final_answer(text, lang, **kwargs)
    assert (got.value is None) == (got.format_error is not None)
    return got.value, got.format_error


# --------------------------------------------------------------------------------------------
# Markdown headings, step labels, bold, bullets, lists and tables are structure, not numbers
# --------------------------------------------------------------------------------------------

STEP_HEADINGS = [
    ("en", "#### Step 1: Small packs\n3 × 12 = 36 cups\n\n#### Step 2: Large packs\n5 × 18 = 90 "
           "cups\n\n#### Step 3: Total\n36 + 90 = 126 cups"),
    ("de", "## Schritt 1\n3 × 12 = 36 Becher\n## Schritt 2\n5 × 18 = 90 Becher\n## Schritt 3\n"
           "36 + 90 = 126"),
    ("es", "**Paso 1.** 3 × 12 = 36 vasos.\n\n**Paso 2.** 5 × 18 = 90 vasos.\n\n**Paso 3.** Total: "
           "36 + 90 = 126 vasos."),
    ("fr", "### Étape 1\n3 × 12 = 36 gobelets\n### Étape 2\n5 × 18 = 90 gobelets\n### Étape 3\n"
           "36 + 90 = 126"),
    ("ru", "#### Шаг 1\n3 × 12 = 36 стаканов.\n\n#### Шаг 2\n5 × 18 = 90 стаканов.\n\n#### Шаг 3\n"
           "36 + 90 = 126."),
    ("sw", "Hatua ya 1: 3 × 12 = vikombe 36.\nHatua ya 2: 5 × 18 = vikombe 90.\nHatua ya 3: "
           "36 + 90 = 126."),
    ("bn", "ধাপ ১: ৩ × ১২ = ৩৬টি কাপ।\nধাপ ২: ৫ × ১৮ = ৯০টি কাপ।\nধাপ ৩: ৩৬ + ৯০ = ১২৬।"),
    ("te", "దశ 1: 3 × 12 = 36 కప్పులు.\nదశ 2: 5 × 18 = 90 కప్పులు.\nదశ 3: 36 + 90 = 126."),
    ("th", "ขั้นตอนที่ 1: 3 × 12 = 36 ใบ\nขั้นตอนที่ 2: 5 × 18 = 90 ใบ\nขั้นตอนที่ 3: 36 + 90 = 126"),
    ("ja", "### ステップ1\n3 × 12 = 36個\n### ステップ2\n5 × 18 = 90個\n### ステップ3\n36 + 90 = 126"),
    ("zh", "**第一步**：3 × 12 = 36 个。\n**第二步**：5 × 18 = 90 个。\n**第三步**：36 + 90 = 126。"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), STEP_HEADINGS)
def test_step_labels_are_structure(lang: str, text: str) -> None:
    assert read(text, lang) == ("126", None)
    # ... also with a bold answer line after them
    assert read(text + "\n\n**Answer: 126**", lang) == ("126", None)


def test_markdown_heading_is_not_the_gsm8k_marker() -> None:
    text = "#### Step 2: Large packs\n5 × 18 = 90 cups\n\n**Answer: 126 cups**"
    got = extract_final_answer(text, "en")
    assert (got.value, got.method) == ("126", "phrase")
    text = "#### 2. Compute the total\n36 + 90 = 126"
    assert read(text, "en") == ("126", None)
    got = extract_final_answer("Cups: 36 + 90 = 126\n#### 126", "en")
    assert (got.value, got.method) == ("126", "hash")


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The answer is 18\n- 16 eggs laid\n- 3 eaten\n- 4 baked", "18"),
        ("de", "Antwort: 18 $\n- 16 Eier gelegt\n- 3 gegessen", "18"),
        ("ru", "Ответ: 18\n- 16 яиц\n- 3 съедено", "18"),
        ("zh", "答案：18\n- 16 个鸡蛋\n- 吃掉 3 个", "18"),
        ("en", "Total cost: 4 × 12 = 48\n- 6 lost\n\nSo 48 - 6 = 42 markers.", "42"),
    ],
)
def test_lines_end_number_chains(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "1. Eggs left: 16 - 3 - 4 = 9\n2. Money: 9 × 2 = 18\n3. She makes $18 a day.", "18"),
        ("fr", "1. Œufs restants : 16 − 3 − 4 = 9\n2. Recette : 9 × 2 = 18 $\n3. Elle gagne 18 $.",
         "18"),
        ("th", "| รายการ | จำนวน | ราคา |\n|---|---|---|\n| ขนมปัง | 2 | 2 × 45 = 90 บาท |\n"
               "| นม | 3 | 3 × 25 = 75 บาท |\n| **รวม** | | **165 บาท** |\n\n**คำตอบ:** 165 บาท",
         "165"),
        ("en", "| item | cost |\n|---|---|\n| eggs | 9 × 2 = 18 |\n\n**Total: $18**", "18"),
        ("ja", "- **1つ目**：8 × 7 = 56\n- **2つ目**：検算 56 ÷ 7 = 8\n\n**答え：56**", "56"),
    ],
)  # fmt: skip
def test_lists_and_tables(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


# --------------------------------------------------------------------------------------------
# Script tails (th / ja / zh) are not truncation; real truncation is a format error
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("th", "ค่าอาหารคนละ 90 บาท 4 คน รวม 4 × 90 = 360 บาท\n\nดังนั้น คำตอบคือ 360บาทถ้วน", "360"),
        ("th", "มะม่วง 5 ลัง ลังละ 24 ผล รวม 5 × 24 = 120 ผล\n\nดังนั้นมีมะม่วงทั้งหมด 120 ผลค่ะ", "120"),
        ("th", "ซื้อไข่ 3 แผง แผงละ 9 ฟอง ได้ 3 × 9 = 27 ฟอง เก็บไว้ 27 ฟอง ในตะกร้า", "27"),
        ("th", "มีส้ม ๓๐ ลูก ให้เพื่อนไป ๑๒ ลูก\n\nดังนั้นเหลือส้ม ๑๘ ลูก", "18"),
        (
            "ja",
            "250 ÷ 40 = 6.25なので、6台では足りません。\n\nしたがって、必要なバスは全部で7台となります",
            "7",
        ),
        ("ja", "48 − 12 = 36枚、36 − 18 = 18枚。\n\n答えは18枚になります", "18"),
        ("zh", "他每天走600米，4天一共走了600 × 4 = 2400米。\n\n所以小明一共走了2400米", "2400"),
        ("zh", "每辆车坐40人，250 ÷ 40 = 6.25，所以一共需要7辆车", "7"),
    ],
)
def test_script_tails_are_not_truncation(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


TRUNCATED = [
    ("en", "Step 1: 5 × 12 = 60 cookies.\nStep 2: 60 − 18 = 42 left.\nStep 3: each friend gets 42 ÷"),
    ("en", "Each student pays 250 shillings, so 36 students pay"),
    ("de", "Am ersten Tag liest sie 3 × 15 = 45 Seiten, am zweiten doppelt so viele. Insgesamt 45 +"),
    ("es", "## Solución\n\n**Paso 1.** Entradas: 4 × 8,50 € = 34 €.\n\n**Respuesta final:**"),
    ("fr", "Le premier jour, Léa lit 3 × 15 = 45 pages. Au total, elle a lu 45 + 90 ="),
    ("ru", "Путь туда: 240 : 80 = 3 ч. Всего пройдено 240 × 2 = 480 км.\n\nОтвет:"),
    ("sw", "Kwanza, gharama ya tiketi: watu 4 × shilingi 1,500 = shilingi 6,000. Kisha tunaongeza "
           "gharama ya"),
    ("bn", "১২ কিলোমিটারে ১২ × ৬.৫ = ৭৮ টাকা। এর সাথে"),
    ("te", "8 పెట్టెల్లో 8 × 12 = 96 గుడ్లు. వాటిలో 1/4 వంతు పగిలిపోయాయి, అంటే"),
    ("th", "ค่าโดยสาร 12 × 6.5 = 78 บาท รวมกับค่าเรียก"),
    ("ja", "コーヒー3杯は 3 × 3.40 = 10.20ドルです。クロワッサン2個は"),
    ("zh", "每箱有24瓶水，5箱一共有24 × 5 = 120瓶。上午卖掉了其中的"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), TRUNCATED)
def test_truncated_rollouts_are_format_errors(lang: str, text: str) -> None:
    assert read(text, lang) == (None, "truncated")


# --------------------------------------------------------------------------------------------
# CJK fractions and numerals are numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("zh", "3升果汁平均分给4个人，每人分到 3 ÷ 4 升。\n\n答案是四分之三升。", "0.75"),
        ("zh", "答案是八分之五。", "0.625"),
        ("zh", "答案是三分之一。", "1/3"),
        ("zh", "每人吃了一又二分之一块。", "1.5"),
        ("zh", "打折后便宜了百分之二十。", "20"),
        ("ja", "6 ÷ 8 = 3/4 です。\n\n答えは4分の3リットルです。", "0.75"),
        ("ja", "答えは5分の2です。", "0.4"),
        ("ja", "3 ÷ 2 = 1.5時間かかります。\n\n答えは1と2分の1時間です。", "1.5"),
        ("ja", "答えは三分の二です。", "2/3"),
        ("ja", "妹に4分の1をあげたので、48 ÷ 4 = 12枚です。残りは36枚です。", "36"),
    ],
)
def test_cjk_fractions(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("zh", "每个班有五十名学生，一共七个班，五十乘以七等于三百五十。\n\n答案是三百五十名学生。", "350"),
        ("zh", "合计一千三百五十加七百，等于两千零五十元。\n\n一共是两千零五十元。", "2050"),
        ("zh", "体育场一共能坐 4 × 3000 = 12000 人。\n\n答案是1.2万人。", "12000"),
        ("zh", "一共有三百五十个。", "350"),
        ("ja", "毎月3千円ずつ貯金すると、4か月で3千 × 4 = 1万2千円になります。\n\n答えは1万2千円です。",
         "12000"),
        ("ja", "ノートは1冊五百円で六冊なので三千円、それにかばん六百円を足します。\n\n合計は三千六百円です。",
         "3600"),
        ("ja", "答えは二十四個です。", "24"),
        ("zh", "第一步：每排 8 个座位。第二步：一共 7 排，7 × 8 = 56。", "56"),
    ],
)  # fmt: skip
def test_cjk_numerals(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


def test_cjk_words_that_contain_numerals_are_not_numbers() -> None:
    assert read("他们一起去了公园。", "zh") == (None, "no_number")
    assert read("这道题十分简单，一共有 12 个。", "zh") == ("12", None)
    assert read("万一下雨，我们就一起在家。", "zh") == (None, "no_number")


# --------------------------------------------------------------------------------------------
# Reasoning blocks: the visible answer counts
# --------------------------------------------------------------------------------------------

THINK_CASES = [
    ("en", "<think>\n4 boxes of 12: 48. Lost 6 per box? 6 × 4 = 24, 48 − 24 = 24. No: 6 in total, "
           "48 − 6 = 42. Maybe the answer is 48?\n</think>\n\nThere are 4 × 12 = 48 markers and 6 "
           "are lost, so 48 − 6 = 42 remain.\n\nThe answer is 42.", "42"),
    ("de", "<think>3 × 25 = 75, plus 20 lose: 95. Also 95.</think>\n\nIn 3 Tüten sind 3 × 25 = 75."
           "\n\nDie Antwort ist 75.", "75"),
    ("zh", "<think>\nThe book has 240 pages, 15 a day: 16 days. Or 20 a day? No, 15.\n</think>\n\n"
           "这本书一共240页，每天读15页，需要 240 ÷ 15 = 16 天。\n\n答案是16。", "16"),
    ("ru", "<think>5 × 6 = 30. The answer is 30. Hmm, then 6 more: 36.</think>\n\nОтвет: 36.", "36"),
    ("sw", "<think>8 × 8 = 64. Is it 72? No.</think>\n\nJumla ni 8 × 8 = 64.\n\nJibu ni 64.", "64"),
    ("ja", "<think>12 × 3 = 36? いや 12 × 4 = 48。</think>\n\n全部で48個です。", "48"),
    ("en", "The answer is 30.</think>\n\nSo the answer is 31.", "31"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), THINK_CASES)
def test_answer_is_read_outside_the_thinking_block(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<think>\n7 × 8 = 56. So the answer is 56.\n</think>", "answer_only_in_reasoning"),
        ("<think>\n7 × 8 = 56. So the answer is 56.\n</think>\n\n   ", "answer_only_in_reasoning"),
        ("<think>\nFirst 60 × 2.5 = 150 km, then 40 × 1.5 = 60 km, total 210 km, but wait",
         "unclosed_reasoning"),
        ("The answer is 56. <think>checking 7 × 8", "unclosed_reasoning"),
    ],
)  # fmt: skip
def test_answer_only_in_reasoning_is_a_format_error(text: str, reason: str) -> None:
    assert read(text, "bn") == (None, reason)


def test_thinking_delimiters_are_parameters() -> None:
    text = "<reasoning>The answer is 30.</reasoning>\nThe answer is 36."
    assert read(text, "en", think_start="<reasoning>", think_end="</reasoning>") == ("36", None)
    # with the default delimiters the custom block is ordinary text (its last answer wins)
    assert read(text, "en") == ("36", None)
    assert read("<reasoning>The answer is 30.", "en", think_start="<reasoning>", think_end="x") == (
        None,
        "unclosed_reasoning",
    )
    # empty delimiters: no block at all
    assert read("<think>The answer is 30.", "en", think_start="", think_end="") == ("30", None)


def test_consistency_reads_both_sides_outside_their_thinking_blocks() -> None:
    res = score_consistency(
        "<think>3 × 25 = 75 + 20 = 95</think>\nDie Antwort ist 75.",
        "de",
        pivot_response="<think>75 + 20 = 95</think>\nThe answer is 95.",
    )
    assert (res.status, res.target_answer, res.pivot_answer) == ("mismatch", "75", "95")
    res = score_consistency(
        "Jibu ni 64.", "sw", pivot_response="<think>\n8 × 8 = 64. But wait, maybe 28."
    )
    assert (res.status, res.reward) == ("no_pivot_answer", None)
    assert "unclosed_reasoning" in res.detail
    res = score_consistency(
        "[r]The answer is 9.[/r] The answer is 8.",
        "en",
        pivot_answer="8",
        think_start="[r]",
        think_end="[/r]",
    )
    assert res.status == "match"


# --------------------------------------------------------------------------------------------
# Long realistic rollouts: LaTeX, code, markdown, chatty endings
# --------------------------------------------------------------------------------------------

LONG_ROLLOUTS = [
    ("en", "Let's break the problem down.\n\n**1. Eggs per day.** Janet's ducks lay 16 eggs.\n\n"
           "**2. Eggs used.** She eats 3 for breakfast and bakes muffins with 4, so she uses "
           "$3 + 4 = 7$ eggs.\n\n**3. Eggs sold.** $16 - 7 = 9$ eggs.\n\n**4. Revenue.**\n\\[\n"
           "9 \\times \\$2 = \\$18\n\\]\n\n```python\neggs = 16 - 3 - 4\nprint(eggs * 2)  # 18\n```"
           "\n\nSo she makes **$18** every day.\n\nThe final answer is $\\boxed{18}$. Let me know "
           "if you want me to explain the 2 other questions!", "18"),
    ("de", "Wir rechnen Schritt für Schritt.\n\n1. Eier pro Tag: 16\n2. Verbraucht: 3 + 4 = 7\n"
           "3. Übrig: 16 − 7 = 9\n4. Einnahmen: 9 × 2 $ = 18 $\n\n**Antwort:** Sie verdient "
           "täglich 18 $. Ich hoffe, das hilft!", "18"),
    ("fr", "Calculons : il reste 16 − 3 − 4 = 9 œufs, vendus 2 $ pièce, soit 9 × 2 = 18 $.\n\n"
           "La réponse est $\\boxed{18}$ dollars, soit 9 œufs à 2 $.", "18"),
    ("ru", "Решение:\n\n- яиц в день: 16;\n- съедено и испечено: 3 + 4 = 7;\n- продано: "
           "16 − 7 = 9;\n- выручка: 9 × 2 = 18 долларов.\n\n**Ответ:** 18", "18"),
    ("te", "మిగిలిన గుడ్లు 16 − 3 − 4 = 9. ఒక్కొక్కటి 2 డాలర్లకు అమ్మితే "
           "\\( 9 \\times 2 = 18 \\).\n\nకాబట్టి సమాధానం \\( \\boxed{18} \\).", "18"),
    ("bn", "১৬ − ৩ − ৪ = ৯টি ডিম বাকি থাকে। প্রতিটি ২ ডলারে বিক্রি করলে ৯ × ২ = ১৮ ডলার।\n\n"
           "উত্তর হল ১৮। আশা করি এটা তোমার কাজে লাগবে। আরও ১টি উদাহরণ দেখতে চাইলে জানিও।", "18"),
    ("sw", "Jibu la Hatua kwa Hatua: mayai yaliyobaki ni 16 − 3 − 4 = 9. Anauza kila yai kwa "
           "dola 2, hivyo 9 × 2 = dola 18.\n\nJibu ni 18. Natumaini hii imesaidia!", "18"),
    ("es", "Sea $x$ el número de cromos de Luis. Marta tiene $2x + 10 = 60$, así que $2x = 50$ y\n"
           "$$x = \\frac{50}{2} = 25.$$\nLa respuesta es $\\boxed{x = 25}$.", "25"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), LONG_ROLLOUTS)
def test_long_realistic_rollouts(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)
