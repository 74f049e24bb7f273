"""The gate against a reward hacker: every way of hiding a pasted reference or an English answer
that we could think of, and the genuine answers (LaTeX, code, tables, names, English terms,
thinking blocks) that must still pass. Hand-written cases, independent of ../shared/data."""

from __future__ import annotations

import pytest

from service.scoring.fidelity import (
    FidelityConfig,
    check_fidelity,
    clean_text,
    copy_overlap,
    reference_containment,
    reveal_text,
)

REFERENCE = (
    "A baker makes 240 rolls in the morning. She sells 3/4 of them before noon, which is "
    "0.75 × 240 = 180 rolls. In the afternoon she sells half of the remaining 60 rolls, so "
    "30 rolls are left at the end of the day. The answer is 30."
)
# The same solution in the target languages (own wording, not a word-for-word calque).
NATIVE = {
    "de": (
        "Eine Bäckerin backt am Morgen 240 Brötchen. Bis Mittag verkauft sie drei Viertel davon, "
        "also 0,75 × 240 = 180 Brötchen. Am Nachmittag geht die Hälfte der übrigen 60 Brötchen "
        "weg, daher bleiben am Abend 30 Brötchen übrig. Die Antwort ist 30."
    ),
    "fr": (
        "Une boulangère prépare 240 petits pains le matin. Elle en vend les trois quarts avant "
        "midi, soit 0,75 × 240 = 180 petits pains. L'après-midi, elle vend la moitié des 60 "
        "restants, il en reste donc 30 le soir. La réponse est 30."
    ),
    "es": (
        "Una panadera hace 240 panecillos por la mañana. Antes del mediodía vende tres cuartas "
        "partes, es decir, 0,75 × 240 = 180 panecillos. Por la tarde vende la mitad de los 60 "
        "que quedan, así que al final del día le quedan 30. La respuesta es 30."
    ),
    "ru": (
        "Пекарь утром выпекает 240 булочек. До полудня она продаёт три четверти из них, то есть "
        "0,75 × 240 = 180 булочек. Днём она продаёт половину оставшихся 60 булочек, поэтому к "
        "вечеру остаётся 30 булочек. Ответ: 30."
    ),
    "zh": (
        "面包师早上做了240个面包卷。中午前她卖出了其中的四分之三，即 0.75 × 240 = 180 个。"
        "下午她又卖出剩下60个中的一半，所以一天结束时还剩30个。答案是30。"
    ),
    "ja": (
        "パン屋さんは朝に240個のロールパンを焼きます。昼までにその4分の3、つまり "
        "0.75 × 240 = 180個を売ります。午後には残りの60個の半分を売るので、"
        "夕方には30個残ります。答えは30です。"
    ),
    "bn": (
        "একজন বেকার সকালে ২৪০টি রোল বানান। দুপুরের আগে তিনি তার তিন-চতুর্থাংশ বিক্রি করেন, "
        "অর্থাৎ ০.৭৫ × ২৪০ = ১৮০টি রোল। বিকেলে বাকি ৬০টির অর্ধেক বিক্রি হয়, তাই দিনের শেষে "
        "৩০টি রোল থাকে। উত্তর: ৩০।"
    ),
    "th": (
        "คนทำขนมปังอบขนมปังม้วน 240 ชิ้นในตอนเช้า ก่อนเที่ยงเธอขายไปสามในสี่ คือ "
        "0.75 × 240 = 180 ชิ้น ตอนบ่ายเธอขายอีกครึ่งหนึ่งของ 60 ชิ้นที่เหลือ "
        "ดังนั้นตอนเย็นจึงเหลือ 30 ชิ้น คำตอบคือ 30"
    ),
    "sw": (
        "Mwokaji mikate anaoka mikate midogo 240 asubuhi. Kabla ya adhuhuri anauza robo tatu "
        "yake, yaani 0.75 × 240 = 180. Mchana anauza nusu ya mikate 60 iliyobaki, kwa hiyo "
        "mwisho wa siku inabaki mikate 30. Jibu ni 30."
    ),
}
ENGLISH_OWN_WORDS = (
    "In the morning 240 rolls come out of the oven. Three quarters, 180 of them, are gone by "
    "lunchtime, which leaves 60. Half of those are bought during the afternoon, so thirty rolls "
    "remain in the evening. Final result: 30."
)
LANGS = sorted(NATIVE)


def _verdict(response: str, lang: str, **kwargs: object) -> str:
    return check_fidelity(response, lang, reference=REFERENCE, **kwargs).reason  # type: ignore[arg-type]


def _fails(response: str, lang: str) -> bool:
    return not check_fidelity(response, lang, reference=REFERENCE).passed


# ---------------------------------------------------------------------------- wrapped pastes


WRAPPERS = {
    "bare fence": "```\n{ref}\n```",
    "tagged fence": "```markdown\n{ref}\n```",
    "display math": "$${ref}$$",
    "text in display math": "$$\\text{{{ref}}}$$",
    "text in bracket math": "\\[ \\text{{{ref}}} \\]",
    "text in inline math": "$\\text{{{ref}}}$",
    "text in paren math": "\\( \\text{{{ref}}} \\)",
    "aligned environment": "\\begin{{aligned}}\n&\\text{{{ref}}}\\\\\n\\end{{aligned}}",
    "blockquote": "> {ref}",
    "html comment": "<!-- {ref} -->",
    "html attribute": '<span title="{ref}"></span>',
    "inline code": "`{ref}`",
    "python comments": "```python\n# {ref}\nprint(30)\n```",
    "python string": '```python\nprint("{ref}")\n```',
    "boxed text": "$\\boxed{{\\text{{{ref}}}}}$",
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_a_wrapped_paste_is_a_copy_in_every_language(wrapper: str, lang: str) -> None:
    response = WRAPPERS[wrapper].format(ref=REFERENCE)
    result = check_fidelity(response, lang, reference=REFERENCE)
    assert result.reason == "copied_reference", (wrapper, result)
    assert not result.passed


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_a_wrapped_paste_is_a_copy_even_for_an_english_target(wrapper: str) -> None:
    # Same-language threshold (0.9): a verbatim paste is still over it, wrapped or not.
    response = WRAPPERS[wrapper].format(ref=REFERENCE)
    assert _verdict(response, "en") == "copied_reference"


@pytest.mark.parametrize("wrapper", ["bare fence", "text in display math", "blockquote"])
def test_an_english_answer_in_a_wrapper_is_wrong_language_without_a_reference(
    wrapper: str,
) -> None:
    # No reference to compare with (e.g. the pasmr preset): the wrapped prose is still English.
    response = WRAPPERS[wrapper].format(ref=ENGLISH_OWN_WORDS)
    result = check_fidelity(response, "de")
    assert result.reason == "wrong_language" and result.detected_lang == "en"


def test_undetermined_never_passes_a_copy() -> None:
    # Everything the prose view sees is a number; the paste is inside the math.
    response = "$$240 \\cdot \\tfrac34 = 180$$\n$$\\text{" + REFERENCE + "}$$"
    assert _verdict(response, "de") == "copied_reference"
    assert check_fidelity("$$240 \\cdot \\tfrac34 = 180$$", "de", reference=REFERENCE).passed


# ---------------------------------------------------------------------------- disguised text


def _cyrillic_lookalikes(text: str) -> str:
    return text.translate(str.maketrans("aceopxyABCEHKMOPTX", "асеорхуАВСЕНКМОРТХ"))


DISGUISES = {
    "zero-width spaces between letters": lambda t: "\u200b".join(t),
    "zero-width joiners in words": lambda t: t.replace("e", "e\u200d"),
    "soft hyphens": lambda t: t.replace("o", "o\u00ad"),
    "Cyrillic lookalikes": _cyrillic_lookalikes,
    "full-width letters": lambda t: "".join(
        chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t
    ),
    "mathematical bold letters": lambda t: "".join(
        chr(0x1D400 + ord(c) - 65)
        if "A" <= c <= "Z"
        else chr(0x1D41A + ord(c) - 97)
        if "a" <= c <= "z"
        else c
        for c in t
    ),
    "strike-through marks": lambda t: "".join(c + "\u0336" for c in t),
    "spaced-out letters": lambda t: " ".join(t.replace(" ", "")),
    "dots between letters": lambda t: ".".join(t),
    "one word per line": lambda t: "\n".join(t.split()),
    "bold every other word": lambda t: " ".join(
        f"**{w}**" if i % 2 else w for i, w in enumerate(t.split())
    ),
}


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
@pytest.mark.parametrize("lang", ["de", "ru", "zh", "bn"])
def test_a_disguised_paste_is_a_copy(disguise: str, lang: str) -> None:
    response = DISGUISES[disguise](REFERENCE)
    result = check_fidelity(response, lang, reference=REFERENCE)
    assert result.reason == "copied_reference", (disguise, result)


def test_english_with_cyrillic_lookalikes_is_english_for_a_russian_target() -> None:
    result = check_fidelity(_cyrillic_lookalikes(ENGLISH_OWN_WORDS), "ru")
    assert result.reason == "wrong_language" and result.detected_lang == "en"


def test_homoglyph_folding_leaves_real_cyrillic_alone() -> None:
    assert clean_text(NATIVE["ru"]).split()[:3] == ["Пекарь", "утром", "выпекает"]
    # A Latin "o" typed inside a Russian word is folded to Cyrillic, not the other way round.
    assert "молоко" in clean_text("Купи мoлоко.")


# ---------------------------------------------------------------------------- edited pastes


EDITS = {
    "numbers rewritten": lambda t: (
        t.replace("240", "480").replace("180", "360").replace("30", "90")
    ),
    "a word changed per sentence": lambda t: (
        t.replace("baker", "cook").replace("sells", "sold").replace("afternoon", "evening")
    ),
    "native first sentence": lambda t: (
        "Hier ist meine ausführliche Lösung der Aufgabe, Schritt "
        "für Schritt erklärt und sorgfältig nachgerechnet. " + t
    ),
    "native wrapper around it": lambda t: (
        "Hier ist die Lösung der Aufgabe mit allen "
        "Zwischenschritten:\n"
        + t
        + "\nIch hoffe, das hilft dir weiter, und viel Erfolg beim Lernen!"
    ),
    "only the first sentence translated": lambda t: (
        NATIVE["de"].split(". ")[0] + ". " + t.split(". ", 1)[1]
    ),
    "translation followed by the paste": lambda t: NATIVE["de"] + "\n\n" + t,
    "sentences interleaved with the translation": lambda t: " ".join(
        f"{a}. {b}." for a, b in zip(NATIVE["de"].split(". "), t.split(". "), strict=False)
    ),
    "words interleaved with the translation": lambda t: " ".join(
        f"{a} {b}" for a, b in zip(NATIVE["de"].split(), t.split(), strict=False)
    ),
    "words in reverse order": lambda t: " ".join(reversed(t.split())),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_paste_still_fails(edit: str) -> None:
    response = EDITS[edit](REFERENCE)
    result = check_fidelity(response, "de", reference=REFERENCE)
    assert not result.passed, (edit, result)
    assert result.reason in ("copied_reference", "wrong_language")


def test_interleaved_words_are_caught_by_containment() -> None:
    response = EDITS["words interleaved with the translation"](REFERENCE)
    result = check_fidelity(response, "de", reference=REFERENCE)
    assert result.reason == "copied_reference"
    assert result.containment > 0.9 and result.copy_overlap < 0.5


# ---------------------------------------------------------------------------- English answers


@pytest.mark.parametrize(
    "response",
    [
        ENGLISH_OWN_WORDS,
        NATIVE["de"].split(". ")[0] + ". " + ENGLISH_OWN_WORDS,  # a native first sentence
        ENGLISH_OWN_WORDS + "\nDie Antwort ist 30.",  # a native answer line
        ENGLISH_OWN_WORDS.title(),  # Title Case
    ],
)
def test_an_english_answer_fails(response: str) -> None:
    assert _verdict(response, "de") == "wrong_language"


@pytest.mark.parametrize("lang", ["ru", "zh", "ja", "bn", "th"])
def test_title_case_english_is_not_names_in_a_non_latin_target(lang: str) -> None:
    assert _verdict(ENGLISH_OWN_WORDS.title(), lang) == "wrong_language"
    assert _verdict(ENGLISH_OWN_WORDS.upper(), lang) == "wrong_language"


# ---------------------------------------------------------------------------- romanization


@pytest.mark.parametrize(
    ("response", "lang"),
    [
        ("Pekar utrom vypekaet 240 bulochek. Ostaetsya 30 bulochek. Otvet: 30.", "ru"),
        ("Mianbaoshi zaoshang zuo le 240 ge mianbao juan. Daan shi 30.", "zh"),
        ("Pan'yasan wa asa ni 240-ko no pan o yakimasu. Kotae wa 30 desu.", "ja"),
        ("Ekjon baker sokale 240ti roll banan. Uttor holo 30.", "bn"),
        ("Khon tham khanom pang op 240 chin ton chao. Kham top khue 30.", "th"),
        ("Baker subah 240 roll banata hai. Uttar 30 hai.", "hi"),
    ],
)
def test_romanized_text_is_not_the_target_language(response: str, lang: str) -> None:
    assert _verdict(response, lang) == "wrong_language"


@pytest.mark.parametrize(
    ("response", "lang"),
    [("Otvet: 30.", "ru"), ("Kotae wa 30 desu.", "ja"), ("Daan shi 30", "zh"), ("Uttor 30", "bn")],
)
def test_a_short_romanized_answer_fails_too(response: str, lang: str) -> None:
    assert check_fidelity(response, lang).reason == "wrong_language"


@pytest.mark.parametrize(
    ("response", "lang"),
    [("30 km", "ru"), ("x = 30", "zh"), ("30 cm", "ja"), ("30 kg", "bn"), ("30 USD", "th")],
)
def test_units_and_variables_alone_stay_undetermined(response: str, lang: str) -> None:
    result = check_fidelity(response, lang)
    assert result.reason == "undetermined" and result.passed


def test_a_short_answer_in_another_script_fails() -> None:
    assert check_fidelity("Ответ: 30", "de").reason == "wrong_language"
    assert check_fidelity("答案是三十", "de").reason == "wrong_language"
    assert check_fidelity("Answer: 30", "zh").reason == "wrong_language"


# ---------------------------------------------------------------------------- related languages

RELATED = {
    "pt": (
        "Uma padeira faz 240 pãezinhos de manhã. Antes do meio-dia ela vende três quartos deles, "
        "ou seja, 180 pãezinhos. À tarde ela vende metade dos 60 que sobraram, então no fim do dia "
        "restam 30. A resposta é 30."
    ),
    "uk": (
        "Пекарка вранці випікає 240 булочок. До обіду вона продає три чверті з них, тобто 180 "
        "булочок. Після обіду вона продає половину решти, тож увечері залишається 30 булочок. "
        "Відповідь: 30."
    ),
    "bg": (
        "Една пекарка прави 240 хлебчета сутринта. Преди обяд тя продава три четвърти от тях, "
        "тоест 180 хлебчета. Следобед продава половината от останалите, така че вечерта остават "
        "30 хлебчета. Отговорът е 30."
    ),
    "hi": (
        "एक बेकर सुबह 240 रोल बनाती है। दोपहर से पहले वह उनमें से तीन-चौथाई, यानी 180 रोल बेच "
        "देती है। दोपहर बाद वह बचे हुए 60 रोल में से आधे बेचती है, इसलिए दिन के अंत में 30 रोल "
        "बचते हैं। उत्तर 30 है।"
    ),
    "mr": (
        "एक बेकर सकाळी 240 रोल बनवते. दुपारपूर्वी ती त्यापैकी तीन-चतुर्थांश म्हणजे 180 रोल विकते. "
        "दुपारनंतर ती उरलेल्या 60 रोलपैकी अर्धे विकते, म्हणून दिवसाच्या शेवटी 30 रोल उरतात. "
        "उत्तर 30 आहे."
    ),
    "ms": (
        "Seorang pembuat roti membuat 240 roti kecil pada waktu pagi. Sebelum tengah hari dia "
        "menjual tiga perempat daripadanya, iaitu 180 biji. Pada waktu petang dia menjual separuh "
        "daripada baki 60 biji, jadi tinggal 30 biji pada hujung hari. Jawapannya ialah 30."
    ),
    "id": (
        "Seorang tukang roti membuat 240 roti gulung di pagi hari. Sebelum siang dia menjual tiga "
        "perempatnya, yaitu 180 roti. Pada sore hari dia menjual setengah dari sisa 60 roti, "
        "sehingga tersisa 30 roti di akhir hari. Jawabannya adalah 30."
    ),
}
ALL_TEXTS = {**NATIVE, **RELATED}


@pytest.mark.parametrize(
    ("written", "target"),
    [
        ("pt", "es"),
        ("es", "pt"),
        ("uk", "ru"),
        ("bg", "ru"),
        ("ru", "uk"),
        ("ru", "bg"),
        ("zh", "ja"),
        ("ja", "zh"),
        ("hi", "bn"),
        ("mr", "bn"),
        ("hi", "te"),
        ("mr", "te"),
        ("hi", "mr"),
        ("mr", "hi"),
        ("ms", "sw"),
        ("id", "sw"),
        ("sw", "ms"),
        ("sw", "id"),
    ],
)
def test_closely_related_languages_are_told_apart(written: str, target: str) -> None:
    result = check_fidelity(ALL_TEXTS[written], target)
    assert result.reason == "wrong_language", result
    # Malay and Indonesian are often read as each other (known gap); neither is Swahili.
    assert result.detected_lang == written or {written, result.detected_lang} == {"ms", "id"}


@pytest.mark.parametrize("lang", sorted(ALL_TEXTS))
def test_each_related_language_passes_as_itself(lang: str) -> None:
    result = check_fidelity(ALL_TEXTS[lang], lang, reference=REFERENCE)
    assert result.passed and result.reason == "ok", result


# ---------------------------------------------------------------------------- genuine answers


GENUINE = {
    "de LaTeX with text units": (
        "de",
        "Die Bäckerin verkauft bis Mittag drei Viertel:\n"
        "$$\\tfrac{3}{4} \\cdot 240 = 180 \\text{ Brötchen}$$\n"
        "Übrig sind $240 - 180 = 60$, davon geht am Nachmittag die Hälfte weg:\n"
        "\\[ \\frac{60}{2} = 30 \\]\nEs bleiben also $\\boxed{30}$ Brötchen.",
    ),
    "fr code block with English identifiers": (
        "fr",
        "On calcule d'abord les ventes du matin, puis celles de l'après-midi.\n\n"
        "```python\ntotal = 240\nmatin = total * 3 // 4  # 180\nreste = total - matin\n"
        "remaining_after_noon = reste // 2\nprint(remaining_after_noon)  # 30\n```\n\n"
        "Il reste donc 30 petits pains. La réponse est 30.",
    ),
    "ja code block larger than the prose": (
        "ja",
        "残りを計算します。\n\n```python\nrolls = 240\nsold_morning = rolls * 3 // 4\n"
        "left = rolls - sold_morning\nsold_afternoon = left // 2\nprint(left - sold_afternoon)\n```\n\n"
        "答えは30です。",
    ),
    "ru table of numbers": (
        "ru",
        "| Время | Продано | Осталось |\n|---|---|---|\n| утро | 180 | 60 |\n| день | 30 | 30 |\n\n"
        "К вечеру у пекаря остаётся 30 булочек. Ответ: 30.",
    ),
    "es with English terms and names": (
        "es",
        "La panadera de Sunny Bakery usa un spreadsheet para el stock. Por la mañana hornea 240 "
        "rolls y vende tres cuartas partes, o sea 180. Por la tarde vende la mitad de los 60 que "
        "quedan, así que le quedan 30. La respuesta es 30.",
    ),
    "th with Latin names": (
        "th",
        "ร้าน Sunny Bakery ของคุณ Anna อบขนมปัง 240 ชิ้น ขายไปสามในสี่ก่อนเที่ยง "
        "เหลือ 60 ชิ้น ตอนบ่ายขายไปครึ่งหนึ่ง จึงเหลือ 30 ชิ้น คำตอบคือ 30",
    ),
    "zh inline code": (
        "zh",
        "用 `240 * 3 // 4` 算出上午卖了180个，剩下60个，下午卖出一半，还剩30个。答案是30。",
    ),
    "bn display math": (
        "bn",
        "সকালে বিক্রি হয়\n$$\\frac{3}{4} \\times 240 = 180$$\nটি রোল। বাকি ৬০টির অর্ধেক বিকেলে "
        "বিক্রি হয়, তাই থাকে\n$$60 - 30 = 30$$\nটি রোল। উত্তর: $\\boxed{30}$",
    ),
    "sw with a quoted English term": (
        "sw",
        "Mwokaji anaoka mikate 240 na anauza robo tatu, yaani 180, kabla ya adhuhuri. Kwenye "
        'daftari lake anaandika "morning sales". Mchana anauza nusu ya 60 zilizobaki. Jibu ni 30.',
    ),
}


@pytest.mark.parametrize("case", sorted(GENUINE))
def test_genuine_answers_with_markup_pass(case: str) -> None:
    lang, response = GENUINE[case]
    result = check_fidelity(response, lang, reference=REFERENCE)
    assert result.passed, (case, result)
    assert result.reason in ("ok", "undetermined")


@pytest.mark.parametrize("lang", LANGS)
def test_translations_of_the_reference_pass(lang: str) -> None:
    result = check_fidelity(NATIVE[lang], lang, reference=REFERENCE)
    assert result.reason == "ok", result
    assert result.copy_overlap < 0.2 and result.containment < 0.5


@pytest.mark.parametrize(
    ("response", "lang"),
    [
        ("Die Antwort ist 30.", "de"),
        ("Ответ: 30", "ru"),
        ("答案：30", "zh"),
        ("答えは30個です。", "ja"),
        ("উত্তর: ৩০", "bn"),
        ("คำตอบคือ 30", "th"),
        ("Jibu ni 30.", "sw"),
        ("$\\boxed{30}$", "fr"),
    ],
)
def test_short_native_answers_pass(response: str, lang: str) -> None:
    assert check_fidelity(response, lang, reference=REFERENCE).passed


# ---------------------------------------------------------------------------- reasoning outputs

THINKING = (
    "<think>\nThe baker makes 240 rolls and sells three quarters before noon: 240 * 3/4 = 180. "
    "That leaves 60. Half of 60 is sold in the afternoon, 30 remain. Let me double-check: "
    "180 + 30 + 30 = 240. Yes, 30.\n</think>\n\n"
)


@pytest.mark.parametrize("lang", LANGS)
def test_english_thinking_then_a_native_answer_passes(lang: str) -> None:
    result = check_fidelity(THINKING + NATIVE[lang], lang, reference=REFERENCE)
    assert result.passed and result.reason == "ok", result


def test_full_scope_judges_the_thinking_too() -> None:
    text = THINKING + "Die Antwort ist 30."
    assert check_fidelity(text, "de", reference=REFERENCE).passed
    full = check_fidelity(text, "de", reference=REFERENCE, config=FidelityConfig(scope="full"))
    assert full.reason == "wrong_language"


def test_thinking_delimiters_are_configurable() -> None:
    text = "<reasoning>" + ENGLISH_OWN_WORDS + "</reasoning>\n" + NATIVE["de"]
    assert check_fidelity(text, "de").reason == "wrong_language"  # default delimiters: all judged
    config = FidelityConfig(think_start="<reasoning>", think_end="</reasoning>")
    assert check_fidelity(text, "de", config=config).reason == "ok"


def test_a_reference_pasted_into_the_thinking_is_a_copy() -> None:
    text = f"<think>{REFERENCE}</think>\n{NATIVE['de']}"
    result = check_fidelity(text, "de", reference=REFERENCE)
    assert result.reason == "copied_reference" and result.copy_overlap > 0.9


def test_all_thinking_and_no_answer_never_passes() -> None:
    for text in ("<think>" + ENGLISH_OWN_WORDS, THINKING):
        result = check_fidelity(text, "de", reference=REFERENCE)
        assert result.reason == "no_answer" and not result.passed


def test_a_completion_that_starts_inside_the_thinking_block() -> None:
    # Chat templates often put <think> in the prompt: the completion only closes the block.
    text = ENGLISH_OWN_WORDS + "\n</think>\n" + NATIVE["ja"]
    assert check_fidelity(text, "ja", reference=REFERENCE).reason == "ok"


# ---------------------------------------------------------------------------- the measures


def test_reveal_text_keeps_every_letter_but_latex_commands() -> None:
    revealed = reveal_text("```py\nx_total = 3\n```\n$$\\frac{a}{b} \\text{Eier}$$ <b title='hi'>")
    for word in ("py", "x", "total", "a", "b", "Eier", "title", "hi"):
        assert word in revealed.split()
    assert "frac" not in revealed and "text" not in revealed


def test_clean_text_keeps_prose_from_wrappers_and_drops_code() -> None:
    cleaned = clean_text(
        "```python\nstunden = 35\nprint(stunden * 12)  # Wochenlohn in Dollar berechnen\n```\n"
        "$$\\text{Lohn} = 12 \\times 35$$ und $$\\text{Das ist der ganze Lohn}$$"
    )
    assert "stunden" not in cleaned and "print" not in cleaned
    assert "Wochenlohn in Dollar berechnen" in cleaned
    assert "Das ist der ganze Lohn" in cleaned
    assert "Lohn =" not in cleaned and "Lohn\n" not in cleaned


def test_copy_measures_are_bounded_and_symmetric_in_sense() -> None:
    assert copy_overlap(REFERENCE, REFERENCE) == 1.0
    assert reference_containment(REFERENCE, REFERENCE) == 1.0
    assert copy_overlap(NATIVE["de"], REFERENCE) < 0.2
    assert reference_containment(NATIVE["ru"], REFERENCE) == 0.0
    assert reference_containment("short", "too short a reference") == 0.0  # < 5 words
