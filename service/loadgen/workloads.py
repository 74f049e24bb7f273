"""Built-in GRPO-shaped workloads for `pivot-reward bench`: generated, so no data files are needed.

A prompt is a word problem with an English reference solution; its G rollouts are the same problem
in ten other languages (mixed within every group), as the question alone, with the right answer,
with a wrong answer, or with step-by-step working, so that up to 40 rollouts of a prompt are
distinct texts (~40-120 tokens each, like MGSM's). Every run tags its texts with a fresh run id, so a
second run against the same instance finds nothing in its embedding cache: only the reference,
repeated in each of its group's G pairs, is shared, as in a real GRPO step.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from service.loadgen.load import Request, json_request

LANGS = ("de", "es", "fr", "ru", "zh", "ja", "bn", "sw", "th", "pt")
VARIANTS = ("question", "answer", "wrong", "steps")
MAX_GROUP = len(LANGS) * len(VARIANTS)
NAMES = ("Janet", "Amir", "Lena", "Kofi", "Mei", "Ravi", "Sofia", "Tomas", "Yuki", "Nadia")

# Per language: (question, answer sentence, working); slots {name} {a} {b} {c} {n}.
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "en": (
        "{name} sells {a} baskets of eggs at the market every week, and each basket costs {b} "
        "dollars. After paying {c} dollars for the stall, how much money does {name} keep each week?",
        "The answer is {n}.",
        "{name} earns {a} x {b} dollars from the baskets and then pays {c} dollars, so {name} keeps {n}.",
    ),
    "de": (
        "{name} verkauft jede Woche {a} Körbe Eier auf dem Markt, und jeder Korb kostet {b} Dollar. "
        "Nachdem {name} {c} Dollar für den Stand bezahlt hat, wie viel Geld bleibt pro Woche übrig?",
        "Die Antwort lautet {n}.",
        "{name} nimmt {a} · {b} Dollar ein und zahlt dann {c} Dollar, also bleiben {n} Dollar.",
    ),
    "es": (
        "{name} vende {a} cestas de huevos en el mercado cada semana y cada cesta cuesta {b} "
        "dólares. Después de pagar {c} dólares por el puesto, ¿cuánto dinero le queda cada semana?",
        "La respuesta es {n}.",
        "{name} gana {a} × {b} dólares con las cestas y paga {c} dólares, así que le quedan {n}.",
    ),
    "fr": (
        "{name} vend {a} paniers d'œufs au marché chaque semaine, et chaque panier coûte {b} "
        "dollars. Après avoir payé {c} dollars pour l'étal, combien d'argent lui reste-t-il ?",
        "La réponse est {n}.",
        "{name} gagne {a} × {b} dollars avec les paniers puis paie {c} dollars, il reste donc {n}.",
    ),
    "ru": (
        "{name} каждую неделю продаёт на рынке {a} корзин яиц, и каждая корзина стоит {b} "
        "долларов. Сколько денег остаётся у {name} за неделю после оплаты места в {c} долларов?",
        "Ответ: {n}.",
        "{name} получает {a} × {b} долларов за корзины и платит {c} долларов, значит остаётся {n}.",
    ),
    "zh": (
        "{name}每周在市场上卖{a}篮鸡蛋，每篮{b}美元。付了{c}美元的摊位费以后，{name}每周还剩多少钱？",
        "答案是 {n}。",
        "{name}卖篮子得到 {a} × {b} 美元，再付 {c} 美元，所以还剩 {n} 美元。",
    ),
    "ja": (
        "{name}は毎週市場で卵を{a}かご売り、1かごは{b}ドルです。屋台代として{c}ドルを払った後、"
        "{name}の手元には毎週いくら残りますか。",
        "答えは{n}です。",
        "{name}はかごで {a} × {b} ドルを得て、{c} ドルを払うので、{n} ドル残ります。",
    ),
    "bn": (
        "{name} প্রতি সপ্তাহে বাজারে {a} ঝুড়ি ডিম বিক্রি করে, এবং প্রতিটি ঝুড়ির দাম {b} ডলার। "
        "দোকানের জন্য {c} ডলার দেওয়ার পর প্রতি সপ্তাহে {name}-এর কাছে কত টাকা থাকে?",
        "উত্তর হল {n}।",
        "{name} ঝুড়ি থেকে {a} × {b} ডলার পায় এবং {c} ডলার দেয়, তাই থাকে {n}।",
    ),
    "sw": (
        "{name} huuza vikapu {a} vya mayai sokoni kila wiki, na kila kikapu kinagharimu dola {b}. "
        "Baada ya kulipa dola {c} kwa kibanda, {name} hubaki na pesa ngapi kila wiki?",
        "Jibu ni {n}.",
        "{name} anapata dola {a} × {b} kutoka kwa vikapu na analipa dola {c}, kwa hiyo anabaki na {n}.",
    ),
    "th": (
        "{name} ขายไข่ที่ตลาดสัปดาห์ละ {a} ตะกร้า ตะกร้าละ {b} ดอลลาร์ หลังจากจ่ายค่าแผง {c} ดอลลาร์ "
        "{name} จะเหลือเงินสัปดาห์ละเท่าไร",
        "คำตอบคือ {n}",
        "{name} ได้เงิน {a} × {b} ดอลลาร์จากตะกร้า แล้วจ่าย {c} ดอลลาร์ จึงเหลือ {n}",
    ),
    "pt": (
        "{name} vende {a} cestas de ovos no mercado toda semana, e cada cesta custa {b} dólares. "
        "Depois de pagar {c} dólares pela barraca, quanto dinheiro sobra para {name} por semana?",
        "A resposta é {n}.",
        "{name} ganha {a} × {b} dólares com as cestas e paga {c} dólares, então sobram {n}.",
    ),
}


@dataclass(frozen=True)
class Group:
    """One GRPO group: the English reference and the G rollouts with their languages."""

    prompt: str
    reference: str
    answer: str
    rollouts: list[str]
    langs: list[str]


def _problem(p: int) -> tuple[str, int, int, int]:
    """Slots of problem p: distinct (name, a, b, c) for every p below 10 x 40 x 9."""
    return NAMES[p % len(NAMES)], 3 + (p // len(NAMES)) % 40, 2 + (p // 400) % 9, 1 + p % 7


def build_groups(prompts: int, group: int, run_id: str) -> list[Group]:
    """`prompts` groups of `group` rollouts; texts are tagged with `run_id` (see module docstring)."""
    if not 1 <= group <= MAX_GROUP:
        raise ValueError(f"group size must be 1..{MAX_GROUP}")
    groups = []
    for p in range(prompts):
        name, a, b, c = _problem(p)
        n = a * b - c
        slots = {"name": name, "a": a, "b": b, "c": c}
        tag = f" (#{run_id}-{p})"
        question, answer, steps = TEMPLATES["en"]
        reference = (
            f"{question.format(**slots)} {steps.format(**slots, n=n)} {answer.format(n=n)}{tag}"
        )
        rollouts, langs = [], []
        for k in range(group):
            lang = LANGS[(p + k) % len(LANGS)]
            variant = VARIANTS[(k // len(LANGS) + p) % len(VARIANTS)]
            q, ans, work = TEMPLATES[lang]
            text = q.format(**slots)
            if variant == "answer":
                text += " " + ans.format(n=n)
            elif variant == "wrong":
                text += " " + ans.format(n=n + 1 + p % 5)
            elif variant == "steps":
                text += " " + work.format(**slots, n=n) + " " + ans.format(n=n)
            rollouts.append(text + tag)
            langs.append(lang)
        prompt = f"Solve, answering in the target language: {question.format(**slots)}{tag}"
        groups.append(Group(prompt, reference, str(n), rollouts, langs))
    return groups


@dataclass(frozen=True)
class Workload:
    """A named replay: what is sent, and how many requests are in flight."""

    name: str
    description: str
    prompts: int
    group: int
    concurrency: int
    form: str  # "grouped" (/v1/similarity, one request per group) or "openrlhf" (/get_reward)

    def requests(self, run_id: str | None = None) -> list[Request]:
        groups = build_groups(self.prompts, self.group, run_id or secrets.token_hex(3))
        if self.form == "grouped":
            return [
                json_request(
                    "/v1/similarity",
                    {"reference": g.reference, "candidates": g.rollouts},
                    len(g.rollouts),
                )
                for g in groups
            ]
        # OpenRLHF: one sample per request, the label carrying the reference and pivot answer.
        return [
            json_request(
                "/get_reward",
                {
                    "query": [g.prompt + "\n" + rollout],
                    "prompts": [g.prompt + "\n"],
                    "labels": [
                        json.dumps(
                            {"reference": g.reference, "pivot_answer": g.answer, "lang": lang},
                            ensure_ascii=False,
                        )
                    ],
                },
                1,
            )
            for g in groups
            for rollout, lang in zip(g.rollouts, g.langs, strict=True)
        ]


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "grpo-g8",
            "64 prompts x G=8 rollouts, one grouped /v1/similarity request per prompt, 4 in flight",
            64,
            8,
            4,
            "grouped",
        ),
        Workload(
            "grpo-g32",
            "16 prompts x G=32 rollouts, one grouped /v1/similarity request per prompt, 4 in flight",
            16,
            32,
            4,
            "grouped",
        ),
        Workload(
            "openrlhf-c256",
            "64 prompts x G=8 rollouts sent as OpenRLHF does: one sample per /get_reward request "
            "(the server's default recipe), 256 in flight",
            64,
            8,
            256,
            "openrlhf",
        ),
    )
}
