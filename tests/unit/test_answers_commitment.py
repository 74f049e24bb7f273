"""What a response commits to: working after an answer phrase, direct answers, corrections,
real hedges vs look-alikes, ranges, estimates, unit restatements, pivots that never commit.

Written independently of the shared dev files, in the 11 MGSM languages, with rollouts shaped
like real model output (several sentences, checks, chatty endings, markdown).
"""

from __future__ import annotations

import pytest

from service.scoring.answers import extract_final_answer, score_consistency


def read(text: str, lang: str) -> tuple[str | None, str | None]:
    got = extract_final_answer(text, lang)
    assert (got.value is None) == (got.format_error is not None)
    return got.value, got.format_error


# --------------------------------------------------------------------------------------------
# An answer phrase that introduces working takes the result the working ends in
# --------------------------------------------------------------------------------------------

WORKING_AFTER_PHRASE = [
    ("en", "The answer is calculated as follows: 16 - 3 - 4 = 9 eggs, 9 x 2 = $18."),
    ("en", "The answer is calculated as follows:\n16 − 3 − 4 = 9\n9 × 2 = 18"),
    ("en", "Answer:\n\n16 − 3 − 4 = 9 eggs\n9 × $2 = $18"),
    ("de", "Die Antwort ergibt sich so: Zuerst 16 − 3 − 4 = 9 Eier. Dann 9 × 2 = 18 $."),
    ("es", "Respuesta: primero 16 − 3 − 4 = 9 huevos, luego 9 × 2 = 18 $."),
    ("fr", "Réponse : on calcule d'abord 16 − 3 − 4 = 9 œufs, puis 9 × 2 = 18 $."),
    ("ru", "Ответ: сначала 16 − 3 − 4 = 9 яиц, затем 9 × 2 = 18 долларов."),
    ("sw", "Jibu: kwanza 16 − 3 − 4 = mayai 9, kisha 9 × 2 = dola 18."),
    ("bn", "উত্তর: প্রথমে ১৬ − ৩ − ৪ = ৯টি ডিম, তারপর ৯ × ২ = ১৮ ডলার।"),
    ("te", "సమాధానం: ముందుగా 16 − 3 − 4 = 9 గుడ్లు, తర్వాత 9 × 2 = 18 డాలర్లు."),
    ("th", "คำตอบ: เริ่มจาก 16 − 3 − 4 = 9 ฟอง แล้ว 9 × 2 = 18 ดอลลาร์"),
    ("ja", "答え：まず16 − 3 − 4 = 9個、次に9 × 2 = 18ドルです。"),
    ("zh", "答案：先算 16 − 3 − 4 = 9 个鸡蛋，再算 9 × 2 = 18 美元。"),
]


@pytest.mark.parametrize(("lang", "text"), WORKING_AFTER_PHRASE)
def test_phrase_that_introduces_working_takes_its_result(lang: str, text: str) -> None:
    assert read(text, lang) == ("18", None)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("zh", "答案：小明有3个苹果和5个梨，一共8个", "8"),
        ("ja", "答え：りんごが3個とみかんが5個で、合わせて8個です。", "8"),
        ("th", "**คำตอบ:** แม่ซื้อขนม 2 ชิ้นและนม 3 กล่อง จ่ายทั้งหมด 165 บาท", "165"),
        (
            "en",
            "**Answer:** She keeps 3 for breakfast and bakes 4, so she sells 9 and earns $18.",
            "18",
        ),
        ("de", "Antwort: Sie hat 3 Äpfel und 5 Birnen, zusammen also 8 Früchte.", "8"),
        ("es", "Respuesta: tiene 3 manzanas y 5 peras, en total 8 frutas.", "8"),
    ],
)
def test_phrase_followed_by_a_sentence_takes_the_sentence_result(
    lang: str, text: str, expected: str
) -> None:
    assert read(text, lang) == (expected, None)


# --------------------------------------------------------------------------------------------
# A phrase directly followed by a value commits to it; later working does not override it
# --------------------------------------------------------------------------------------------

ANSWER_THEN_WORKING = [
    ("en", "**Answer: 65 pencils**\n\nWorking: 4 boxes × 18 = 72 pencils; she gives away 7, so "
           "72 − 7 = 65. Check: 65 + 7 = 72 and 72 ÷ 4 = 18 per box."),
    ("de", "Antwort: 65 Stifte.\n\nBegründung: 4 × 18 = 72 Stifte, davon verschenkt sie 7: "
           "72 − 7 = 65. Probe: 65 + 7 = 72, und 72 : 4 = 18."),
    ("es", "Respuesta: 65 lápices.\n\nExplicación: 4 × 18 = 72 lápices y regala 7, así que "
           "72 − 7 = 65. Comprobación: 72 ÷ 4 = 18."),
    ("fr", "Réponse : 65 crayons.\n\nExplication : 4 × 18 = 72 crayons, elle en donne 7 : "
           "72 − 7 = 65. Vérification : 72 ÷ 4 = 18."),
    ("ru", "Ответ: 65 карандашей.\n\nРешение: 4 × 18 = 72, она отдала 7, значит 72 − 7 = 65. "
           "Проверка: 72 : 4 = 18."),
    ("sw", "Jibu: penseli 65.\n\nMaelezo: 4 × 18 = 72, anatoa 7, hivyo 72 − 7 = 65. "
           "Uhakiki: 72 ÷ 4 = 18."),
    ("bn", "উত্তর: ৬৫টি পেন্সিল।\n\nব্যাখ্যা: ৪ × ১৮ = ৭২, সে ৭টি দিয়ে দেয়, তাই ৭২ − ৭ = ৬৫। "
           "যাচাই: ৭২ ÷ ৪ = ১৮।"),
    ("te", "సమాధానం: 65 పెన్సిళ్లు.\n\nవివరణ: 4 × 18 = 72, ఆమె 7 ఇచ్చేసింది, కాబట్టి "
           "72 − 7 = 65. సరిచూడటం: 72 ÷ 4 = 18."),
    ("th", "คำตอบ: 65 แท่ง\n\nวิธีคิด: 4 × 18 = 72 แท่ง ให้เพื่อนไป 7 แท่ง เหลือ 72 − 7 = 65 "
           "ตรวจสอบ: 72 ÷ 4 = 18"),
    ("ja", "答え：65本\n\n考え方：4 × 18 = 72本、7本あげたので72 − 7 = 65本。確認：72 ÷ 4 = 18。"),
    ("zh", "答案：65支。\n\n解释：4 × 18 = 72支，送出7支，72 − 7 = 65。验算：72 ÷ 4 = 18。"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), ANSWER_THEN_WORKING)
def test_direct_answer_is_not_overridden_by_later_working(lang: str, text: str) -> None:
    got = extract_final_answer(text, lang)
    assert (got.value, got.method, got.fallback) == ("65", "phrase", False)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "Answer: Janet makes $18 per day from 9 eggs.", "18"),
        ("en", "Answer: she has 27 marbles, 9 more than Tom.", "27"),
        ("de", "Antwort: Sie verdient 18 $ mit 9 Eiern.", "18"),
        ("sw", "Jibu: abiria 45, kwenye viti 60.", "45"),
        ("ru", "Ответ: Джанет зарабатывает 18 долларов в день на 9 яйцах.", "18"),
    ],
)
def test_words_then_a_value_commit_when_no_result_follows(
    lang: str, text: str, expected: str
) -> None:
    assert read(text, lang) == (expected, None)


def test_explanation_about_an_answer_is_no_new_answer() -> None:
    text = "The answer is 18.\n\nA common wrong answer is 16, from forgetting the 4 muffins."
    assert read(text, "en") == ("18", None)
    text = "Answer: 53.\n\nThis answer is correct because the 7 broken eggs were removed."
    assert read(text, "en") == ("53", None)


# --------------------------------------------------------------------------------------------
# Explicit self-corrections win; re-checks, polite endings and explanations do not
# --------------------------------------------------------------------------------------------

SELF_CORRECTIONS = [
    ("en", "The trip there is 40 km.\n\nThe answer is 40.\n\nWait, I forgot the way back: "
           "2 × 40 = 80 km."),
    ("en", "So the answer is 40. No, that is wrong: the trip is there and back, 2 × 40 = 80."),
    ("de", "Die Antwort ist 40.\n\nMoment, ich habe die Rückfahrt vergessen: 2 × 40 = 80 km."),
    ("es", "La respuesta es 40.\n\nEspera, me equivoqué: es ida y vuelta, 2 × 40 = 80 km."),
    ("fr", "La réponse est 40.\n\nAttendez, je me suis trompé : aller-retour, 2 × 40 = 80 km."),
    ("ru", "Ответ: 40.\n\nХотя нет, я забыл про обратный путь: 2 × 40 = 80 км."),
    ("sw", "Jibu ni 40.\n\nSubiri, nimekosea: ni kwenda na kurudi, 2 × 40 = km 80."),
    ("bn", "উত্তর: ৪০।\n\nনা, ভুল হয়েছে — ফেরার পথও আছে, ২ × ৪০ = ৮০ কিলোমিটার।"),
    ("te", "సమాధానం: 40.\n\nకాదు, తప్పు: తిరుగు ప్రయాణం కూడా ఉంది, 2 × 40 = 80 కి.మీ."),
    ("th", "คำตอบคือ 40\n\nเดี๋ยวนะ ผิดแล้ว ต้องไปและกลับ 2 × 40 = 80 กิโลเมตร"),
    ("ja", "答えは40です。\n\nいや、待ってください。往復なので2 × 40 = 80キロです。"),
    ("zh", "答案是40。\n\n不对，我算错了：要往返，2 × 40 = 80公里。"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text"), SELF_CORRECTIONS)
def test_explicit_self_correction_wins(lang: str, text: str) -> None:
    assert read(text, lang) == ("80", None)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The answer is 48.\n\nWait, let me verify: 48 ÷ 4 = 12 per box. Yes, that's right."),
        ("en", "So the answer is 48. Actually, let me double-check: 4 × 12 = 48. Correct."),
        ("en", "The answer is 48. I hope I didn't make a mistake!"),
        ("de", "Die Antwort ist 48. Moment, ich prüfe das: 4 × 12 = 48. Stimmt."),
        ("es", "La respuesta es 48. Espera, lo compruebo: 4 × 12 = 48. Correcto."),
        ("ru", "Ответ: 48. Подождите, проверим: 48 : 4 = 12. Верно."),
        ("ja", "答えは48個です。待って、確認します：48 ÷ 4 = 12。正しいです。"),
        ("zh", "答案是48。等等，检查一下：48 ÷ 4 = 12，正确。"),
        ("en", "The answer is 48. No more boxes are needed, since 12 fit in each of the 4."),
        ("en", "The answer is 48.\n\nNo, she does not need the 4 spare boxes for that."),
    ],
)
def test_recheck_or_chatter_after_the_answer_is_no_correction(lang: str, text: str) -> None:
    assert read(text, lang) == ("48", None)


def test_latest_explicit_answer_after_a_correction_wins() -> None:
    text = (
        "В 6 пакетах по 8 конфет: 6 × 8 = 48.\n\nОтвет: 48.\n\nХотя нет, я забыл про 4 конфеты "
        "без пакета: 48 + 4 = 52.\n\nИтоговый ответ: 52."
    )
    assert read(text, "ru") == ("52", None)


# --------------------------------------------------------------------------------------------
# Hedges are real hedges only
# --------------------------------------------------------------------------------------------

HEDGE_LOOKALIKES = [
    ("fr", "Les cahiers coûtent 6 × 2,50 = 15 €, le stylo 3 €.\n\nLa réponse est 18 €, soit 15 € "
           "pour les cahiers et 3 € pour le stylo.", "18"),
    ("fr", "50 ÷ 6 = 8 reste 2 : avec 8 boîtes on ne range que 48 œufs. Il faut donc bien "
           "9 boîtes.", "9"),
    ("es", "Trabajó 3 horas y cuarto, o sea, 3,25 horas. Gana 3,25 × 12 = 39 €, o sea, "
           "treinta y nueve euros.", "39"),
    ("es", "Compró 3 docenas, o sea, 3 × 12 = 36 huevos. Se rompieron 4, le quedan 36 − 4 = 32."
           "\n\nLa respuesta es 32.", "32"),
    ("pt", "Ela tem 9 ovos e vende cada um por 2 reais, o que dá 9 × 2 = 18 reais.", "18"),
    ("pt", "A resposta é 18, o dobro de 9.", "18"),
    ("de", "60 × 2/5 = 24 Äpfel werden verkauft. Also bleiben 60 − 24 = 36 übrig.\n\nDie Antwort "
           "ist also 36.", "36"),
    ("sw", "Jumla ni 8 × 1.5 = lita 12.\n\nJibu ni lita 12, yaani chupa 8 zilizojaa.", "12"),
    ("ru", "Всего 4 × 3 = 12 яиц.\n\nОтвет: 12, то есть ровно одна дюжина.", "12"),
    ("bn", "মোট ৪ × ৩ = ১২টি ডিম।\n\nউত্তর: ১২টি, অর্থাৎ এক ডজন।", "12"),
    ("te", "మొత్తం 4 × 3 = 12 గుడ్లు.\n\nసమాధానం: 12, అంటే ఒక డజను.", "12"),
    ("th", "ไข่ทั้งหมด 4 × 3 = 12 ฟอง\n\nคำตอบคือ 12 ฟอง คือหนึ่งโหลพอดี", "12"),
    ("ja", "4 × 3 = 12個です。\n\n答えは12個、つまりちょうど1ダースです。", "12"),
    ("zh", "一共 4 × 3 = 12 个。\n\n答案是12个，即正好一打。", "12"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), HEDGE_LOOKALIKES)
def test_ordinary_words_are_not_hedges(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


REAL_HEDGES = [
    ("en", "If the folding chairs count it is 52, if not 48. So the answer is either 48 or 52."),
    ("de", "Antwort: 25 oder 35 Minuten – je nachdem, ob die Pause mitzählt."),
    ("es", "92 ÷ 6 ≈ 15,3.\n\nLa respuesta es 15 o 16, según se redondee."),
    ("fr", "La réponse est 15 ou 16 selon l'arrondi."),
    ("ru", "Ответ: 15 или 16, в зависимости от округления."),
    ("sw", "Jibu ni 15 au 16, inategemea jinsi tunavyokadiria."),
    ("bn", "উত্তর: 105 অথবা 70।"),
    ("te", "సమాధానం 15 లేదా 16."),
    ("th", "ดังนั้นคำตอบคือ 250 บาท หรือ 300 บาท ขึ้นอยู่กับว่ารวมค่าส่งหรือไม่"),
    ("ja", "答えは15台か16台です。"),
    ("zh", "答案是15或16辆。"),
    ("en", "Il en reste 120, sinon il y en a toujours 145."),
    ("en", "She needs 32 ÷ 12 = 2.67, so either 2 or 3 minibuses."),
]


@pytest.mark.parametrize(("lang", "text"), REAL_HEDGES)
def test_choice_between_values_is_a_format_error(lang: str, text: str) -> None:
    assert read(text, lang) == (None, "ambiguous_answer")


RANGES = [
    ("en", "Each bag holds 8 to 10 oranges, so 5 bags hold between 40 and 50 oranges."),
    ("en", "The answer is 20-25 minutes."),
    ("en", "The answer is 2–3 buses."),
    ("de", "Die Antwort liegt zwischen 3 und 4 Stunden."),
    ("es", "La respuesta es de 3 a 4 horas."),
    ("fr", "Il lui faudra entre 3 et 4 heures."),
    ("ru", "Ответ: от 20 до 25 минут."),
    ("sw", "Jibu: kati ya 40 na 50."),
    ("bn", "উত্তর: ১৫ থেকে ২০ দিন।"),
    ("te", "సమాధానం: 15 నుండి 20 రోజులు."),
    ("th", "คำตอบคือ 15 ถึง 20 วัน"),
    ("ja", "答えは15分から20分です。"),
    ("zh", "答案是15到20分钟。"),
    ("zh", "答案在15和20之间。"),
]


@pytest.mark.parametrize(("lang", "text"), RANGES)
def test_a_range_is_a_format_error(lang: str, text: str) -> None:
    assert read(text, lang) == (None, "ambiguous_answer")


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "The answer is about 15 minutes."),
        ("en", "So the trip takes roughly 100 minutes."),
        ("de", "Die Antwort ist ungefähr 15 Minuten."),
        ("fr", "La réponse est environ 15 minutes."),
        ("es", "La respuesta es aproximadamente 15 minutos."),
        ("ru", "Ответ: примерно 15 минут."),
        ("sw", "Jibu ni takriban dakika 15."),
        ("bn", "উত্তর: প্রায় ১৫ মিনিট।"),
        ("te", "సమాధానం: సుమారు 15 నిమిషాలు."),
        ("th", "คำตอบคือประมาณ 15 นาที"),
        ("ja", "答えは約15分です。"),
        ("zh", "答案大约是15分钟。"),
        ("zh", "答案是15分钟左右。"),
    ],
)
def test_an_estimate_is_a_format_error(lang: str, text: str) -> None:
    assert read(text, lang) == (None, "ambiguous_answer")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 10 - 4.", ("6", None)),  # a spaced hyphen from a larger number subtracts
        ("The answer is 10 − 4 = 6.", ("6", None)),
        ("The answer is 2 − 3.", ("-1", None)),  # a minus sign always subtracts
        ("The answer is 15 - 20 minutes.", (None, "ambiguous_answer")),  # smaller to larger
        ("The answer is 15-20 minutes.", (None, "ambiguous_answer")),
        ("The answer is 15–20 minutes.", (None, "ambiguous_answer")),  # en dash
    ],
)
def test_dashes_subtract_or_span(text: str, expected: tuple[str | None, str | None]) -> None:
    assert read(text, "en") == expected


def test_a_rounded_exact_value_is_no_estimate() -> None:
    assert read("10 ÷ 30 = 0.333...\n\nThe answer is approximately 33.33%.", "en") == (
        "33.33",
        None,
    )
    assert read("The temperature rose from 10 to 30 degrees.", "en") == ("30", None)


# --------------------------------------------------------------------------------------------
# A unit restatement is one answer: the stated value counts
# --------------------------------------------------------------------------------------------

UNIT_RESTATEMENTS = [
    ("en", "The answer is 2 hours, or 120 minutes.", "2"),
    ("en", "Each episode is 30 minutes: 5 × 30 = 150.\n\nThe answer is 150 minutes (2.5 hours).",
     "150"),
    ("de", "6 × 250 = 1500 g.\n\nDie Antwort ist 1,5 kg, also 1500 g.", "1.5"),
    ("es", "La respuesta es 2 horas, o 120 minutos.", "2"),
    ("fr", "La réponse est 2,500 kg, soit 2 500 g.", "2.5"),
    ("ru", "Время = 210 : 60 = 3,5 ч.\n\nОтвет: 3,5 часа (3 ч 30 мин).", "3.5"),
    ("sw", "Jibu ni lita 12, yaani mililita 12,000.", "12"),
    ("sw", "Jibu ni saa 2, au dakika 120.", "2"),
    ("bn", "উত্তর: ২ ঘণ্টা, বা ১২০ মিনিট।", "2"),
    ("te", "సమాధానం: 2 కిలోమీటర్లు (అంటే 2000 మీటర్లు).", "2"),
    ("th", "คำตอบคือ 2 ชั่วโมง หรือ 120 นาที", "2"),
    ("ja", "答えは2時間、または120分です。", "2"),
    ("zh", "答案是2小时，或120分钟。", "2"),
    ("de", "Also hat sie 36 Äpfel, also 3 Dutzend.", "36"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), UNIT_RESTATEMENTS)
def test_unit_restatement_is_one_answer(lang: str, text: str, expected: str) -> None:
    assert read(text, lang) == (expected, None)


def test_same_unit_twice_is_still_a_choice() -> None:
    assert read("The answer is 18 dollars or 20 dollars.", "en") == (None, "ambiguous_answer")
    # a conversion factor without two different units is no restatement either
    assert read("The answer is 12 or 120.", "en") == (None, "ambiguous_answer")


# --------------------------------------------------------------------------------------------
# Pivots that never commit give no pivot answer
# --------------------------------------------------------------------------------------------

NEVER_COMMITS = [
    "The price depends on whether tax is included. Before tax it is 1,200 yen; with 10% tax it "
    "is 1,320 yen. Could you clarify which one you need?",
    "5 boxes with about 24 pencils each gives roughly 100 to 125 pencils in total.",
    "There are 3 rows of 6 plants, which is 18, but if the 2 plants by the gate are included it "
    "is 20. So the answer is 18 or 20.",
    "First, 8 × 15 = 120 bottles. Then we subtract the broken bottles from",
    "4 boxes at $35 each cost 4 × 35 = $140. After applying the $20 coupon:\n\nThe answer is",
    "I'm sorry, but I can't determine the number of groups without more information.",
    "We need to find how many eggs are left. " * 5,
    "<think>\nFirst compute 8 × 8 = 64. But wait, maybe only the border counts, which is 28.",
    "Each student pays 250 shillings, so 36 students pay",
]


@pytest.mark.parametrize("pivot", NEVER_COMMITS)
def test_pivot_that_never_commits_gives_no_pivot_answer(pivot: str) -> None:
    res = score_consistency("Die Antwort ist 102.", "de", pivot_response=pivot)
    assert (res.status, res.reward, res.target_answer) == ("no_pivot_answer", None, "102")


def test_target_format_error_still_wins_over_a_pivot_that_never_commits() -> None:
    res = score_consistency(
        "Kila mwanafunzi analipa shilingi 250. Wanafunzi 36 watalipa 36 × 250 =",
        "sw",
        pivot_response="Each student pays 250 shillings, so 36 students pay",
    )
    assert (res.status, res.reward) == ("format_error", 0.0)


@pytest.mark.parametrize(
    ("target", "lang", "status"),
    [
        ("So the answer is either 48 or 52.", "en", "format_error"),
        ("Ответ: от 20 до 25 минут.", "ru", "format_error"),
        ("Die Antwort ist 40.\n\nMoment, ich habe die Rückfahrt vergessen: 2 × 40 = 80.", "de",
         "match"),
        ("La réponse est 80 €, soit 40 € à l'aller et 40 € au retour.", "fr", "match"),
        ("答案：小明走了2次，每次40公里，一共80公里", "zh", "match"),
        ("Il en reste 80, sinon 40.", "fr", "format_error"),
    ],
)  # fmt: skip
def test_commitment_decides_the_pasmr_reward(target: str, lang: str, status: str) -> None:
    res = score_consistency(target, lang, pivot_response="2 × 40 = 80.\n\nThe answer is 80.")
    assert res.status == status
