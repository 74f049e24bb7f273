"""Words that give numbers their role: answer phrases, hedges, ranges, corrections, refusals.

Answer phrases of every language are searched in every response (models code-switch); the short
link words that are ordinary words elsewhere (Spanish "o", Swahili "au", which is French "to the")
are used only for their own language.
"""

from __future__ import annotations

import functools
import re
from typing import Final

from service.scoring.answers.normalize import LETTER
from service.scoring.answers.numbers import CURRENCY_CHARS

_BOLD: Final = r"(?:\s*\*\*)?"
# Each pattern may capture a connector ("is", ":", "lautet", ...). Phrases that need none in
# MGSM (te "సమాధానం 11.", th "คำตอบ 11") accept a bare number right after them.
PHRASE_RES: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"(?<!\w)(?:final\s+|correct\s+|right\s+)?answer{_BOLD}\s*(?P<conn>is\b|was\b|would\s+be\b"
        rf"|will\s+be\b|should\s+be\b|equals\b|[:=—])",
        rf"(?<!\w)(?:end|final|richtige\s+|korrekte\s+)?antwort{_BOLD}\s*(?P<conn>lautet\b|ist\b"
        rf"|heißt\b|wäre\b|[:=—])",
        rf"(?<!\w)respuesta(?:\s+final|\s+correcta)?{_BOLD}\s*(?P<conn>es\b|ser[ií]a\b|[:=—])",
        rf"(?<!\w)r[ée]ponse(?:\s+finale|\s+correcte)?{_BOLD}\s*(?P<conn>est\b|serait\b|[:=—])",
        rf"(?<!\w)ответ{_BOLD}\s*(?P<conn>[:=—]|-(?=\s)|будет\b|равен\b|составляет\b)",
        rf"(?<!\w)jibu(?:\s+la\s+mwisho|\s+sahihi)?{_BOLD}\s*(?P<conn>ni\b|[:=—])",
        rf"উত্তর{_BOLD}\s*(?P<conn>হল|হলো|হবে|হচ্ছে|[:=—ঃ])",
        rf"సమాధానం{_BOLD}\s*(?P<conn>[:=—]|అనేది)?",
        rf"คำตอบ(?:สุดท้าย|ที่ถูกต้อง)?{_BOLD}\s*(?P<conn>คือ|ได้แก่|เท่ากับ|[:=])?",
        rf"(?:最終的な|正しい)?答え{_BOLD}\s*(?P<conn>は|[:=])",
        rf"(?:最终|最終|正确|正確)?答案{_BOLD}\s*(?P<conn>是|为|為|应为|應為|[:=])",
        rf"(?<![解回])答{_BOLD}\s*(?P<conn>[:=])",
        # a few widely used non-MGSM languages (the phrase must be followed by a connector)
        r"(?<!\w)resposta(?:\s+final)?\s*(?P<conn>é\b|[:=])",
        r"(?<!\w)risposta(?:\s+finale)?\s*(?P<conn>è\b|[:=])",
        r"(?<!\w)(?:antwoord|svar|vastaus|odpowied[źz]|odpověď|cevap|válasz)\s*(?P<conn>is\b|er\b"
        r"|är\b|on\b|to\b|je\b|[:=])",
        r"(?<!\w)(?:jawaban(?:nya)?|jawapan(?:nya)?)\s*(?P<conn>adalah\b|ialah\b|[:=])",
        r"(?<!\w)đáp\s+án\s*(?P<conn>là\b|[:=])",
        r"उत्तर\s*(?P<conn>है|:|=)",
        r"(?:الإجابة|الجواب)\s*(?P<conn>هي|هو|:|=)",
        r"(?:정답|답)(?:은|는)?\s*(?P<conn>:|=|은|는)",
        r"(?<!#)####(?!#)(?P<conn>)",
    )
)
HASH_PATTERN: Final = PHRASE_RES[-1]
COLON_CONNECTORS: Final = frozenset((":", "=", "—", "-", "ঃ", ""))
# "this answer is correct", "a common wrong answer is 16", "cette réponse est fausse": a phrase
# about an answer, not one.
NOT_AN_ANSWER_BEFORE_RE: Final = re.compile(
    r"(?:(?<!\w)(?:this|that|my|your|his|her|our|their|each|every|an|no|which|whose|wrong"
    r"|incorrect|common|possible|tempting|naive|diese|jede|meine|keine|falsche|cette|chaque|ma|une"
    r"|aucune|mauvaise|fausse|esta|esa|cada|mi|una|ninguna|этот|каждый|мой|неверный"
    r"|неправильный)\s+(?:final\s+|richtige\s+)?)$|(?:错误的?|錯誤的?|間違った|違う)$",
    re.IGNORECASE,
)

_SP: Final = r"[ \t\u00a0]*"
_WORD: Final = rf"{LETTER}{{1,15}}\.?"
_NOT_LETTER: Final = rf"(?!{LETTER})"
_CUR: Final = rf"(?:[{CURRENCY_CHARS}]|US\$|Rs\.?|TSh|Sh\.?)"

# --- hedges: a choice between two values -----------------------------------------------------
_OR_WORDS: Final = (
    r"or|oder|ou|ou\s+bien|oppure|или|либо|অথবা|বা|কিংবা|లేదా|లేక|หรือ|または|もしくは|か"
    r"|或者|或|还是|還是"
)
_OR_BY_LANG: Final = {
    "es": r"|o|u|ó",
    "it": r"|o",
    "ca": r"|o",
    "gl": r"|ou",
    "sw": r"|au|ama",
    "hi": r"|या|अथवा",
}
# Hedge words strong enough to count anywhere between two numbers of the final sentence.
STRONG_HEDGE_RE: Final = re.compile(
    r"(?<!\w)(?:otherwise|if\s+not|sonst|andernfalls|wenn\s+nicht|sinon|de\s+lo\s+contrario"
    r"|si\s+no|иначе|если\s+нет|vinginevyo|kama\s+sivyo|নাহলে|নইলে|లేకపోతే)(?!\w)"
    r"|มิฉะนั้น|ถ้าไม่|否则|否則|不然|そうでなければ|でなければ",
    re.IGNORECASE,
)

# --- ranges: "20 to 25", "от 20 до 25", "entre 3 et 4", "kati ya 40 na 50", "15 থেকে 20" -----
_TO_WORDS: Final = r"to|through|bis|à|hasta|до|hadi|mpaka|থেকে|నుండి|నుంచి|ถึง|から|到|至|~"
_TO_BY_LANG: Final = {"es": r"|a", "pt": r"|a|até", "it": r"|a", "ca": r"|a"}
_AND_WORDS: Final = r"and|und|y|e|et|и|na|এবং|ও|మరియు|และ|と|和|与|與|及"
BETWEEN_BEFORE_RE: Final = re.compile(
    rf"(?:(?<!\w)(?:between|zwischen|entre|между|kati\s+ya|ระหว่าง)|介于|介於|在){_SP}"
    rf"(?:{_WORD}{_SP})?(?:{_CUR}{_SP})?$",
    re.IGNORECASE,
)
BETWEEN_AFTER_RE: Final = re.compile(rf"{_SP}(?:{_WORD}{_SP})?(?:之间|之間|の間|のあいだ|中间)")
# "rose from 10 to 30" is a change, not a range
CHANGE_VERB_RE: Final = re.compile(
    r"(?<!\w)(?:rose|rises|risen|increased?|decreased?|fell|falls|grew|grows|went|goes|changed?"
    r"|dropped|drops|climbed|jumped|stieg|steigt|sank|sinkt|fiel|wuchs|aumentó|subió|bajó"
    r"|disminuyó|pasó|augmente|augmenté|baisse|baissé|passé|вырос|выросла|выросло|упал|упала"
    r"|увеличил\w*|уменьшил\w*|изменил\w*|ilipanda|ilishuka)(?!\w)",
    re.IGNORECASE,
)

# --- approximations: "about 15", "约 15", "15 左右" ----------------------------------------
APPROX_BEFORE_RE: Final = re.compile(
    r"(?:(?<!\w)(?:about|approximately|approx\.|around|roughly|nearly|almost|circa|ca\.|etwa"
    r"|ungefähr|rund|aproximadamente|alrededor\s+de|unos|unas|casi|cerca\s+de|environ"
    r"|à\s+peu\s+près|presque|около|примерно|приблизительно|почти|порядка|takriban|প্রায়"
    r"|আনুমানিক|মোটামুটি|సుమారు|సుమారుగా|దాదాపు)"
    r"|ประมาณ|เกือบ|(?<![予節契要节预預签簽])[約约]|およそ|だいたい|大体|ほぼ|大约|大約|大概|≈|~)"
    rf"{_SP}(?:{_WORD}{_SP})?(?:{_CUR}{_SP})?$",
    re.IGNORECASE,
)
APPROX_AFTER_RE: Final = re.compile(
    rf"{_SP}(?:{_WORD}{_SP})?(?:左右|上下|ほど|くらい|ぐらい|程度|or\s+so\b|or\s+thereabouts\b)",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=256)
def hedge_link_re(lang: str) -> re.Pattern[str]:
    """Text between two numbers that offers them as alternatives ("2 or 3", "15 o 16")."""
    words = _OR_WORDS + _OR_BY_LANG.get(lang, "")
    return re.compile(
        rf"[ \t\u00a0,]*(?:{_WORD}[ \t\u00a0,]*)?(?:either{_SP})?(?:{words}){_NOT_LETTER}{_SP}"
        rf"(?:{_WORD}{_SP})?(?:{_CUR}{_SP})?",
        re.IGNORECASE,
    )


@functools.lru_cache(maxsize=256)
def range_link_re(lang: str) -> re.Pattern[str]:
    """Text between the two ends of a range ("20 to 25", "20 до 25", "3 à 4")."""
    words = _TO_WORDS + _TO_BY_LANG.get(lang, "")
    return re.compile(
        rf"{_SP}(?:{_WORD}{_SP})?(?:{words}){_NOT_LETTER}{_SP}(?:{_CUR}{_SP})?", re.IGNORECASE
    )


# "2 hours, or 120 minutes", "36 Äpfel, also 3 Dutzend", "12 (1 dozen)": the same quantity
# again, in another unit (the caller checks the units and the conversion factor).
_RESTATE_WORDS: Final = (
    r"i\.\s?e\.|that\s+is|which\s+is|also|d\.\s?h\.|das\s+hei(?:ß|ss)t|sprich|o\s+sea|es\s+decir"
    r"|esto\s+es|soit|c'est-à-dire|c\.-à-d\.|то\s+есть|т\.\s?е\.|yaani|ambayo\s+ni|অর্থাৎ|মানে"
    r"|అంటే|คือ|つまり|すなわち|即|也就是说|也就是|\(|=|" + _OR_WORDS
)
RESTATE_LINK_RE: Final = re.compile(
    rf"[ \t\u00a0,]*(?:{_WORD}[ \t\u00a0,]*)?(?:{_RESTATE_WORDS}){_NOT_LETTER}[ \t\u00a0,]*"
    rf"(?:{_WORD}{_SP})?(?:{_CUR}{_SP})?",
    re.IGNORECASE,
)

AND_LINK_RE: Final = re.compile(
    rf"{_SP}(?:{_WORD}{_SP})?(?:{_AND_WORDS}){_NOT_LETTER}{_SP}(?:{_CUR}{_SP})?", re.IGNORECASE
)

# Words that mark a number as the result of working ("..., zusammen also 8", "... earns $18").
RESULT_CUE_RE: Final = re.compile(
    r"[=≈]|(?<!\w)(?:so|thus|hence|total|totals|altogether|overall|in\s+all|makes?|earns?|gets?"
    r"|equals?|gives?|leaves?|remain(?:s|ing)?|zusammen|insgesamt|also|macht|bleiben|ergibt"
    r"|en\s+total|au\s+total|en\s+tout|soit|donc|así\s+que|quedan|всего|итого|значит|остаётся"
    r"|остается|jumla|hivyo|kwa\s+hiyo|মোট|তাই|మొత్తం|కాబట్టి)(?!\w)"
    r"|รวม|ทั้งหมด|ดังนั้น|合わせて|全部で|合計|一共|总共|共|所以|得",
    re.IGNORECASE,
)

# --- corrections after a committed answer ------------------------------------------------------
# A correction opens a sentence ("Wait, ...", "No, that is wrong ...", "いや、...") or admits an
# error in the first person ("I forgot ...", "ich habe ... vergessen", "我算错了"). Words like
# "wrong" inside an explanation ("a common wrong answer is 16") are no correction.
_SENTENCE_START: Final = (
    r"(?:^|(?<=[.!?。\n])|(?<=[.!?。\n][ \t])|(?<=[.!?。\n][ \t]{2}))[ \t*_>#-]*"
)
_STRONG_OPENERS: Final = (
    r"oops|whoops|correction|korrektur|corrección|исправление|хотя\s+нет|不对|不對|错了|錯了"
)
# A bare "No," corrects only with an error word or a pause near it ("No, that is wrong", "いや、
# 待って"); "No, she does not sell the 4 muffins" explains.
_NEGATION_OPENERS: Final = r"no|nope|nein|non|нет|hapana|না|కాదు|లేదు|ไม่ใช่|いや|いいえ|不是"
_WEAK_OPENERS: Final = (
    r"wait|oh\s+wait|hold\s+on|hmm+|actually|on\s+second\s+thought|re-?reading|moment|warte"
    r"|halt|eigentlich|espera|un\s+momento|en\s+realidad|attends|attendez|en\s+fait|подожди(?:те)?"
    r"|стоп|хм+|на\s+самом\s+деле|subiri|ngoja|kwa\s+kweli|দাঁড়াও|অপেক্ষা|আসলে|ఆగండి|ఆగు"
    r"|నిజానికి|เดี๋ยว|ที่จริง|待って|ちょっと待|実は|等等|等一下|其实|其實"
)
CORRECTION_OPENER_RE: Final = re.compile(
    # "No, ..." needs its comma ("No more boxes are needed" corrects nothing)
    rf"{_SENTENCE_START}(?:(?P<strong>{_STRONG_OPENERS})(?=[ \t]*[,.!:;—–\-、，。])"
    rf"|(?P<negation>{_NEGATION_OPENERS})(?=[ \t]*[,.!:;—–\-、，。])"
    rf"|(?P<weak>{_WEAK_OPENERS})(?=[ \t]*[,.!:;—–\-、，。]|[ \t]+{LETTER}|{LETTER}))",
    re.IGNORECASE,
)
WEAK_OPENER_RE: Final = re.compile(rf"(?:{_WEAK_OPENERS})", re.IGNORECASE)  # anywhere
ERROR_WORD_RE: Final = re.compile(
    r"(?<!\w)(?:wrong|incorrect|mistake|error|falsch|fehler|faux|fausse|erreur|incorrect[oa]|mal"
    r"|неверно|неправильно|ошибк\w*|kosa|makosa|si\s+sahihi)(?!\w)|ভুল|తప్పు|పొరపాటు|ผิด|間違|違う"
    r"|(?<!不)错|(?<!不)錯",
    re.IGNORECASE,
)
ADMISSION_RE: Final = re.compile(
    r"(?<!\w)(?:i\s+(?:forgot|made\s+(?:a|an)\s+(?:mistake|error)|miscalculated|misread"
    r"|miscounted|was\s+wrong|got\s+it\s+wrong)|my\s+mistake|(?:that|this)(?:'s|\s+is|\s+was)"
    r"\s+(?:wrong|incorrect|not\s+right)|let\s+me\s+correct|ich\s+habe\s+(?:\w+\s+){0,4}vergessen"
    r"|ich\s+habe\s+mich\s+(?:verrechnet|geirrt)|das\s+ist\s+falsch|falsch\s+gerechnet"
    r"|me\s+equivoqué|me\s+olvidé|olvidé|está\s+mal|eso\s+es\s+incorrecto|je\s+me\s+suis\s+tromp"
    r"|j'ai\s+oublié|c'est\s+faux|я\s+(?:ошибся|ошиблась|забыл|забыла)|это\s+неверно"
    r"|nimekosea|nilisahau|nimesahau|ভুল\s+(?:হয়েছে|করেছি)|తప్పు\s+చేశాను|పొరపాటు)"
    r"|ผิดแล้ว|ลืม|間違え|間違い|忘れて|算错|算錯|搞错|搞錯|忘了",
    re.IGNORECASE,
)
VERIFICATION_RE: Final = re.compile(
    r"(?<!\w)(?:check\w*|verif\w*|confirm\w*|correct|right|yes|indeed|prüf\w*|stimmt|richtig"
    r"|korrekt|comprob\w*|correcto|sí|vérif\w*|juste|oui|провер\w*|верно|правильно|hakiki"
    r"|sahihi|ndiyo|যাচাই|ঠিক|হ্যাঁ|సరి\w*|అవును)(?!\w)"
    r"|ตรวจ|ถูกต้อง|確認|正しい|検算|检查|檢查|验证|驗證|正确|正確",
    re.IGNORECASE,
)

# --- refusals, apologies, requests for clarification --------------------------------------------
# "I cannot answer" markers: a refusal wherever they follow the last number's sentence start.
INABILITY_RE: Final = re.compile(
    r"(?<!\w)(?:i\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|'m\s+unable\s+to)(?:\s+\w+)?\s+"
    r"(?:answer|determine|solve|decide|tell|help|say|know|calculate|compute|find)"
    r"|unable\s+to\s+(?:answer|determine|solve)|cannot\s+be\s+determined"
    r"|can't\s+be\s+determined|not\s+enough\s+information|insufficient\s+information"
    r"|je\s+ne\s+(?:peux|sais)\s+pas|impossible\s+de\s+(?:r[ée]pondre|d[ée]terminer|trancher)"
    r"|ich\s+kann\s+(?:\w+\s+){0,3}nicht\s+(?:beantworten|bestimmen|l[öo]sen|sagen|entscheiden)"
    r"|nicht\s+eindeutig|no\s+puedo|no\s+es\s+posible\s+(?:responder|determinar|saber)"
    r"|не\s+могу|невозможно\s+(?:ответить|определить)|siwezi|haiwezekani"
    r"|পারছি\s+না|পারব\s+না|সম্ভব\s+নয়|సాధ్యం\s+కాదు|చెప్పలేను|ఇవ్వలేను)"
    r"|无法|無法|不能确定|不確定|不确定|できません|わかりません|分かりません|ไม่สามารถ",
    re.IGNORECASE,
)
# Apologies alone are not refusals ("Sorry, I made a mistake: 5 + 7 = 12."), unless the
# response has no number at all.
APOLOGY_RE: Final = re.compile(
    r"(?<!\w)(?:sorry|d[ée]sol[ée]e?|leider|lo\s+siento|извините|samahani|দুঃখিত)"
    r"|క్షమించండి|抱歉|对不起|對不起|申し訳|ขออภัย|ขอโทษ",
    re.IGNORECASE,
)
# A closing question that hands the choice back ("Could you clarify which one you need?").
CLARIFY_RE: Final = re.compile(
    r"(?<!\w)(?:clarify|which\s+one|which\s+(?:of\s+(?:these|the\s+two)|do\s+you)|do\s+you\s+mean"
    r"|(?:could|can)\s+you\s+(?:specify|confirm)|please\s+specify|let\s+me\s+know\s+which"
    r"|préciser|lequel|laquelle|welche[nrs]?|meinen\s+sie|meinst\s+du|klarstellen|präzisieren"
    r"|cuál|aclarar|especificar|уточни\w*|какой\s+именно|что\s+именно|fafanua|ipi\s+kati"
    r"|কোনটি|স্পষ্ট|ఏది|స్పష్ట\w*)(?!\w)"
    r"|อันไหน|ชี้แจง|どちら|どれ|明確|哪一个|哪一個|哪个|哪個|澄清",
    re.IGNORECASE,
)

# --- degenerate endings --------------------------------------------------------------------------
TERMINAL_CHARS: Final = ".!?。।॥…"
TRAILING_CLOSERS: Final = "*_`\"'”’»)]}>$\\ \t\n\u00a0"  # incl. "\\]" ending display math
DANGLING_CHARS: Final = "=+-×*/÷:,;(&·≈<、"
DANGLING_WORD_RE: Final = re.compile(
    r"(?:(?<!\w)(?:and|or|the|a|an|of|to|by|is|are|was|with|for|in|on|at|then|so|plus|minus"
    r"|times|und|oder|der|die|das|ist|mit|von|zu|y|o|el|la|los|las|de|del|es|con|por|para|et"
    r"|ou|le|les|des|du|est|avec|pour|par|и|или|в|на|с|по|это|na|ya|kwa|ni|za|wa)"
    r"|[はがをにでともへやのて]|[的和与與是把被在从從对對给給再又并並加减減乘除]"
    r"|และ|กับ|ของ|ที่|คือ|เป็น|หรือ|แล้ว|จึง|ดังนั้น|โดย|เพื่อ|ซึ่ง|จาก|อีก|ให้|ได้)$",
    re.IGNORECASE,
)
# A second word after a final number that still ends a sentence ("12 apples left").
TRAILING_OK_RE: Final = re.compile(
    r"(?:each|left|total|altogether|long|wide|tall|high|deep|away|old|more|less|later|now"
    r"|remaining|apiece|übrig|insgesamt|mehr|weniger|lang|alt|más|menos|cada|restantes|chacun"
    r"|chacune|restants|restantes|всего|осталось|zaidi|jumla|kila)",
    re.IGNORECASE,
)
# Clause connectives inside a CJK tail: a new clause began after the last number.
CJK_CONNECTIVE_RE: Final = re.compile(
    r"再|加上|和|与|與|及|又|还|還|并|並|然后|然後|但|如果|所以|から|ので|けど|そして|また"
)
# A Thai chunk that opens with these continues the arithmetic: a new clause, cut off.
THAI_CONTINUATION_RE: Final = re.compile(
    r"(?:รวม|กับ|และ|บวก|ลบ|คูณ|หาร|แล้ว|จากนั้น|ต่อ|อีก|ดังนั้น|เพราะ|ถ้า|แต่)"
)
