"""Language fidelity: one hand-written case per trap (wrong language, code-switching, pasted
reference, numbers, LaTeX, ja vs zh, empty, unknown codes). Real MGSM text: tests/data."""

from __future__ import annotations

import threading

import pytest

import service.scoring.fidelity.detection as detection
from service.scoring.fidelity import (
    DEFAULT_FIDELITY,
    DETECTOR_LANGUAGES,
    FidelityConfig,
    check_fidelity,
    clean_text,
    copy_overlap,
    detect_language,
)
from service.scoring.languages import MGSM_LANGUAGES, UnknownLanguageError, normalize_lang

EN_REFERENCE = (
    "Janet's ducks lay 16 eggs per day. She eats 3 for breakfast and bakes muffins with 4. "
    "So she has 16 - 3 - 4 = 9 eggs left to sell. She sells each egg for $2, "
    "so she makes 9 * 2 = 18 dollars every day at the farmers' market. The answer is 18."
)
DE_ANSWER = (
    "Janets Enten legen jeden Tag 16 Eier. Sie isst 3 davon zum Frühstück und backt mit 4 "
    "Eiern Muffins. Also bleiben ihr 16 - 3 - 4 = 9 Eier, die sie verkaufen kann. Sie verkauft "
    "jedes Ei für 2 Dollar, also verdient sie jeden Tag 9 * 2 = 18 Dollar auf dem Bauernmarkt. "
    "Die Antwort lautet 18."
)
ES_ANSWER = (
    "Los patos de Janet ponen 16 huevos al día. Ella se come 3 en el desayuno y usa 4 para "
    "hacer magdalenas. Le quedan 16 - 3 - 4 = 9 huevos para vender. Vende cada huevo a 2 "
    "dólares, así que gana 9 * 2 = 18 dólares al día en el mercado. La respuesta es 18."
)
JA_ANSWER = (
    "ジャネットのアヒルは1日に16個の卵を産みます。朝食に3個食べて、4個でマフィンを焼きます。"
    "残りは16-3-4=9個です。1個2ドルで売るので、9×2=18ドルになります。答えは18です。"
)
ZH_ANSWER = (
    "珍妮特的鸭子每天下16个蛋。她早餐吃3个，用4个做松饼。剩下16-3-4=9个蛋。"
    "每个蛋卖2美元，所以她每天在农贸市场赚9×2=18美元。答案是18。"
)
TH_ANSWER = (
    "เป็ดของเจเน็ตออกไข่วันละ 16 ฟอง เธอกินไข่ 3 ฟองเป็นอาหารเช้าและใช้ 4 ฟองอบมัฟฟิน "
    "จึงเหลือไข่ 16 - 3 - 4 = 9 ฟอง เธอขายไข่ฟองละ 2 ดอลลาร์ จึงได้เงิน 9 × 2 = 18 ดอลลาร์ต่อวัน "
    "คำตอบคือ 18"
)
PT_ANSWER = (
    "Os patos da Janet põem 16 ovos por dia. Ela come 3 no café da manhã e usa 4 para fazer "
    "bolinhos. Sobram 16 - 3 - 4 = 9 ovos, que ela vende por 2 dólares cada. Então ela ganha "
    "18 dólares por dia na feira. A resposta é 18."
)
UK_ANSWER = (
    "Качки Джанет несуть 16 яєць на день. Вона зʼїдає три на сніданок і пече кекси з чотирьох. "
    "Решту вона продає на фермерському ринку по два долари за яйце. Отже, вона заробляє "
    "вісімнадцять доларів щодня."
)
RU_ANSWER = (
    "Утки Джанет несут 16 яиц в день. Она съедает 3 на завтрак и печёт кексы из 4. Остаётся "
    "16 - 3 - 4 = 9 яиц. Она продаёт каждое яйцо за 2 доллара, значит, зарабатывает "
    "9 * 2 = 18 долларов в день. Ответ: 18."
)


# ---------------------------------------------------------------------------- the right language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (DE_ANSWER, "de"),
        (ES_ANSWER, "es"),
        (EN_REFERENCE, "en"),
        (JA_ANSWER, "ja"),
        (ZH_ANSWER, "zh"),
        (TH_ANSWER, "th"),
        (RU_ANSWER, "ru"),
        (PT_ANSWER, "pt"),
        (UK_ANSWER, "uk"),
    ],
)
def test_text_in_its_own_language_passes(text: str, lang: str) -> None:
    result = check_fidelity(text, lang)
    assert result.passed, result
    assert result.reason == "ok"
    assert result.detected_lang == lang
    assert result.target_share >= 0.95
    assert 0.0 < result.confidence <= 1.0


def test_expected_language_is_normalised() -> None:
    for code in ("de-DE", "DE", "deu_Latn", "de_AT"):
        result = check_fidelity(DE_ANSWER, code)
        assert result.passed and result.expected_lang == "de"


# ---------------------------------------------------------------------------- wrong language


def test_english_answer_to_a_german_prompt_fails() -> None:
    result = check_fidelity(EN_REFERENCE, "de")
    assert not result.passed
    assert result.reason == "wrong_language"
    assert result.detected_lang == "en"
    assert result.target_share < 0.1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PT_ANSWER, "es"),  # close Romance neighbour
        (ES_ANSWER, "pt"),
        (UK_ANSWER, "ru"),  # same script, neighbour language
        (RU_ANSWER, "uk"),
        (DE_ANSWER, "en"),
        (ES_ANSWER, "fr"),
        (TH_ANSWER, "bn"),  # other script
        (RU_ANSWER, "bn"),
        (EN_REFERENCE, "zh"),
    ],
)
def test_other_languages_fail(text: str, expected: str) -> None:
    result = check_fidelity(text, expected)
    assert not result.passed, result
    assert result.reason == "wrong_language"


# ---------------------------------------------------------------------------- code-switching


def test_mostly_english_with_a_german_last_line_fails() -> None:
    response = (
        "Janet's ducks lay 16 eggs per day and she eats three of them for breakfast every "
        "morning. She bakes muffins for her friends every day with four more of the eggs. "
        "She sells the remainder at the farmers' market daily for two dollars per egg.\n"
        "Also verdient sie jeden Tag 18 Dollar auf dem Bauernmarkt, und das ist die Antwort."
    )
    result = check_fidelity(response, "de")
    assert not result.passed
    assert result.reason == "wrong_language"
    assert 0.2 < result.target_share < 0.6
    assert result.detected_lang == "en"


def test_german_answer_with_a_short_english_aside_passes() -> None:
    response = DE_ANSWER + "\nSo in the end she earns eighteen dollars every single day."
    result = check_fidelity(response, "de")
    assert result.passed, result
    assert 0.6 <= result.target_share < 1.0


def test_half_english_half_german_fails() -> None:
    result = check_fidelity(DE_ANSWER + "\n" + EN_REFERENCE, "de")
    assert not result.passed
    assert result.reason == "wrong_language"
    assert 0.35 < result.target_share < 0.65


def test_japanese_answer_drifting_into_english_fails() -> None:
    result = check_fidelity(JA_ANSWER[:40] + "\n" + EN_REFERENCE, "ja")
    assert not result.passed and result.reason == "wrong_language"


# ---------------------------------------------------------------------------- ja vs zh


def test_japanese_with_kanji_is_not_chinese() -> None:
    assert check_fidelity(JA_ANSWER, "ja").passed
    result = check_fidelity(JA_ANSWER, "zh")
    assert not result.passed and result.detected_lang == "ja"


def test_chinese_is_not_japanese() -> None:
    result = check_fidelity(ZH_ANSWER, "ja")
    assert not result.passed and result.detected_lang == "zh"


def test_traditional_chinese_target_accepts_han_text() -> None:
    result = check_fidelity(
        "珍妮特的鴨子每天下十六個蛋。她每天早上早餐吃三個，其餘的拿去市場賣。", "zh-TW"
    )
    assert result.expected_lang == "zho_Hant"
    assert result.passed, result


# ---------------------------------------------------------------------------- copy check


def test_pasted_reference_with_a_few_target_words_is_a_copy() -> None:
    response = "Also: " + EN_REFERENCE + " Die Antwort ist 18."
    result = check_fidelity(response, "de", reference=EN_REFERENCE)
    assert not result.passed
    assert result.reason == "copied_reference"
    assert result.copy_overlap > 0.8


def test_pasted_reference_wins_over_wrong_language() -> None:
    result = check_fidelity(EN_REFERENCE, "sw", reference=EN_REFERENCE)
    assert result.reason == "copied_reference"
    assert result.copy_overlap == 1.0


def test_proper_translation_of_the_reference_passes() -> None:
    for text, lang in ((DE_ANSWER, "de"), (ES_ANSWER, "es"), (JA_ANSWER, "ja"), (RU_ANSWER, "ru")):
        result = check_fidelity(text, lang, reference=EN_REFERENCE)
        assert result.passed, result
        assert result.copy_overlap < 0.1  # the shared numbers do not count


def test_english_target_flags_only_near_total_copies() -> None:
    verbatim = check_fidelity(EN_REFERENCE, "en", reference=EN_REFERENCE)
    assert verbatim.reason == "copied_reference"
    independent = (
        "Janet gets 16 eggs every day. After eating 3 and baking with 4 she has 9 left. "
        "At 2 dollars each she earns 18 dollars per day. The answer is 18."
    )
    assert check_fidelity(independent, "en", reference=EN_REFERENCE).passed
    # Half of the reference plus an equally long own explanation: same-language threshold (0.9).
    half = EN_REFERENCE[: len(EN_REFERENCE) // 2] + " " + independent
    result = check_fidelity(half, "en", reference=EN_REFERENCE)
    assert 0.2 < result.copy_overlap < 0.9 and result.passed


def test_copy_overlap_measures_the_pasted_share() -> None:
    assert copy_overlap(EN_REFERENCE, EN_REFERENCE) == 1.0
    assert copy_overlap(DE_ANSWER, EN_REFERENCE) == 0.0
    half = copy_overlap(DE_ANSWER + " " + EN_REFERENCE, EN_REFERENCE)
    assert 0.35 < half < 0.65
    assert copy_overlap("The answer is 18.", EN_REFERENCE) == 0.0  # shorter than one n-gram
    assert copy_overlap(EN_REFERENCE, "") == 0.0


def test_copy_check_works_for_unspaced_scripts() -> None:
    assert copy_overlap(ZH_ANSWER, ZH_ANSWER) == 1.0
    result = check_fidelity(ZH_ANSWER, "ja", reference=ZH_ANSWER)
    assert result.reason == "copied_reference"


# ---------------------------------------------------------------------------- numbers, LaTeX, empty


@pytest.mark.parametrize(
    "text", ["18", "16 - 3 - 4 = 9, 9 × 2 = 18", "\\boxed{18}", "$$9 \\times 2 = 18$$"]
)
def test_numbers_only_answer_is_undetermined_and_passes_by_default(text: str) -> None:
    result = check_fidelity(text, "de")
    assert result.reason == "undetermined"
    assert result.passed
    assert result.detected_lang is None
    strict = check_fidelity(text, "de", config=FidelityConfig(undetermined_passes=False))
    assert strict.reason == "undetermined" and not strict.passed


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text(text: str) -> None:
    result = check_fidelity(text, "de", reference=EN_REFERENCE)
    assert result.reason == "empty" and result.passed
    assert result.target_share == 0.0 and result.copy_overlap == 0.0
    assert not check_fidelity(text, "de", config=FidelityConfig(undetermined_passes=False)).passed
    assert detect_language(text).lang is None


def test_short_answers_in_the_right_language_are_not_rejected() -> None:
    for text, lang in [
        ("Die Antwort lautet 18.", "de"),
        ("La respuesta es 18.", "es"),
        ("La réponse est 18.", "fr"),
        ("Jibu ni 18.", "sw"),
        ("Ответ: 18", "ru"),
        ("答案是 18。", "zh"),
        ("答えは18です。", "ja"),
    ]:
        assert check_fidelity(text, lang).passed, text


LATEX_DE = r"""
**Schritt 1:** Janets Enten legen jeden Tag $16$ Eier. Sie isst $3$ davon und backt mit $4$ Eiern.

$$16 - 3 - 4 = 9$$

**Schritt 2:** Sie verkauft die übrigen Eier für je \$2, also verdient sie
\[
9 \times 2 = \frac{36}{2} = 18
\]
Dollar am Tag. Die Antwort ist $\boxed{18}$.
"""

LATEX_EN = r"""
**Step 1:** Janet's ducks lay $16$ eggs every day. She eats $3$ and bakes with $4$.

$$16 - 3 - 4 = 9$$

**Step 2:** She sells the remaining eggs for \$2 each, so she earns
\[
9 \times 2 = \frac{36}{2} = 18
\]
dollars per day. The final answer is $\boxed{18}$.
"""


def test_latex_heavy_answers_are_judged_by_their_prose() -> None:
    assert check_fidelity(LATEX_DE, "de").passed
    english = check_fidelity(LATEX_EN, "de")
    assert english.reason == "wrong_language" and english.detected_lang == "en"
    assert check_fidelity(LATEX_EN, "en").passed


def test_clean_text_strips_math_code_and_markdown_but_keeps_prose() -> None:
    cleaned = clean_text(
        LATEX_DE + "\n```python\nprint(16 - 3 - 4)\n```\nSiehe https://example.org"
    )
    for gone in ("frac", "times", "boxed", "print", "https", "16", "*", "$", "\\"):
        assert gone not in cleaned
    assert "Janets Enten legen jeden Tag" in cleaned
    assert "Die Antwort ist" in cleaned


def test_clean_text_keeps_prose_between_prices() -> None:
    # "$5 ... $3" is two prices, not inline math: the words between them must survive.
    assert "and the pen costs" in clean_text("The book costs $5 and the pen costs $3.")
    assert "Eier" in clean_text("Sie verkauft die Eier für 2 $ und die Milch für 3 $.")
    assert clean_text(r"Es gilt $x^2 + \frac{a}{b}$ hier.").split() == ["Es", "gilt", "hier."]


def test_clean_text_keeps_combining_marks() -> None:
    # Devanagari/Bengali vowel signs are marks, not \w: dropping them would shred every word.
    assert clean_text("जेनेट की बत्तखें 16 अंडे") == "जेनेट की बत्तखें अंडे"


def test_latin_names_in_a_thai_answer_are_not_a_language() -> None:
    text = "แซลลี่ทูอายุมากกว่าแกรนนี่เรดสามปี Sally Two และ Granny Red ใช้ iPhone ขนาด GB ทุกวัน"
    assert check_fidelity(text, "th").target_share == 1.0


# ---------------------------------------------------------------------------- languages


def test_unknown_expected_language_raises() -> None:
    for code in ("xx", "klingon", "", "sr-Latn"):
        with pytest.raises(UnknownLanguageError):
            check_fidelity(DE_ANSWER, code)


def test_language_outside_the_detector_is_checked_by_script_and_against_english() -> None:
    galician = (
        "Os patos de Janet poñen dezaseis ovos ao día. Ela come tres no almorzo todas as mañás "
        "e coce magdalenas para os seus amigos todos os días con catro."
    )
    assert check_fidelity(galician, "gl").passed
    assert check_fidelity(EN_REFERENCE, "gl").reason == "wrong_language"
    amharic = "የጃኔት ዳክዬዎች በቀን 16 እንቁላሎች ይጥላሉ። በየማለዳው ሦስቱን ለቁርስ ትበላለች።"
    assert check_fidelity(amharic, "am").passed
    assert not check_fidelity(DE_ANSWER, "am").passed


def test_detector_languages_are_canonical_codes() -> None:
    # lingua's ISO codes are used as-is, so they must already be the registry's canonical form.
    assert all(normalize_lang(code) == code for code in DETECTOR_LANGUAGES)
    assert len(set(DETECTOR_LANGUAGES)) == len(DETECTOR_LANGUAGES)
    assert set(MGSM_LANGUAGES) <= set(DETECTOR_LANGUAGES)
    from lingua import Language

    assert set(DETECTOR_LANGUAGES) <= {lang.iso_code_639_1.name.lower() for lang in Language.all()}


# ---------------------------------------------------------------------------- detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (DE_ANSWER, "de"),
        (EN_REFERENCE, "en"),
        (JA_ANSWER, "ja"),
        (ZH_ANSWER, "zh"),
        (TH_ANSWER, "th"),
        (UK_ANSWER, "uk"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    detection = detect_language(text)
    assert detection.lang == lang
    assert 0.5 < detection.confidence <= 1.0
    assert detection.shares[0][0] == lang
    assert detection.letters > 50


def test_detect_language_of_a_chat_prompt_ignores_template_tags() -> None:
    prompt = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "Janets Enten legen 16 Eier pro Tag. Sie isst drei jeden Morgen zum Frühstück und backt "
        "mit vier jeden Tag Muffins für ihre Freunde.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert detect_language(prompt).lang == "de"


def test_detect_language_reports_mixtures_and_scripts() -> None:
    detection = detect_language(DE_ANSWER + "\n" + ZH_ANSWER)
    langs = dict(detection.shares)
    assert set(langs) == {"de", "zh"}
    assert abs(sum(langs.values()) - 1.0) < 1e-3
    assert {s for s, _ in detection.scripts} == {"Latn", "Hani"}


def test_detect_language_of_too_little_text_is_none() -> None:
    assert detect_language("18 + 4 = 22").lang is None
    assert detect_language("Ok.").lang is None


# ---------------------------------------------------------------------------- config, determinism


def test_disabled_config_passes_everything() -> None:
    result = check_fidelity(EN_REFERENCE, "de", config=FidelityConfig(enabled=False))
    assert result.passed and result.reason == "disabled"


def test_thresholds_are_configurable() -> None:
    mixed = DE_ANSWER + "\n" + EN_REFERENCE
    share = check_fidelity(mixed, "de").target_share
    assert check_fidelity(mixed, "de", config=FidelityConfig(min_target_share=share - 0.05)).passed
    pasted = check_fidelity(DE_ANSWER + " " + EN_REFERENCE, "de", reference=EN_REFERENCE)
    assert pasted.reason in ("copied_reference", "wrong_language")
    loose = FidelityConfig(
        max_copy_overlap=0.99, max_reference_containment=1.0, min_target_share=0.3
    )
    assert check_fidelity(
        DE_ANSWER + " " + EN_REFERENCE, "de", reference=EN_REFERENCE, config=loose
    ).passed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_target_share": 1.5},
        {"max_copy_overlap": -0.1},
        {"copy_ngram": 0},
        {"reference_lang": "xx"},
    ],
)
def test_invalid_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FidelityConfig(**kwargs)  # type: ignore[arg-type]


def test_defaults_are_documented_values() -> None:
    assert DEFAULT_FIDELITY.min_target_share == 0.6
    assert DEFAULT_FIDELITY.max_copy_overlap == 0.5
    assert DEFAULT_FIDELITY.undetermined_passes is True
    assert DEFAULT_FIDELITY.enabled is True


def test_results_are_deterministic_and_independent_of_call_order() -> None:
    texts = [(DE_ANSWER, "de"), (EN_REFERENCE, "de"), (JA_ANSWER, "zh"), (LATEX_DE, "de")]
    first = [check_fidelity(t, lang, reference=EN_REFERENCE) for t, lang in texts]
    again = [check_fidelity(t, lang, reference=EN_REFERENCE) for t, lang in reversed(texts)]
    assert first == list(reversed(again))


def test_detector_is_built_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detection, "_detector", None)
    built: list[object] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        built.append(detection._get_detector())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 8 and all(d is built[0] for d in built)
    assert check_fidelity(DE_ANSWER, "de").passed
