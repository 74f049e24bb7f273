"""GRPO-shaped workloads built from MGSM: P prompts x G rollouts, languages mixed.

Each prompt is one MGSM problem. Its reference is the English question followed by the English
answer sentence ("... The answer is 18."), as a trainer's English reference solution would be.
Its G rollouts are the same problem in the 10 other MGSM languages, in four variants so that up to
40 rollouts per prompt are distinct texts:

* ``q``: the native question alone,
* ``q+a``: the native question and the native answer sentence with the right number,
* ``q+wrong``: the native question and the answer sentence with a wrong number,
* ``cot``: the first sentence of the native question, then a native step-by-step exemplar answer
  of a different problem (a rollout that starts on topic and then reasons about something else).

Rollout k of prompt p uses language ``(p + k) % 10`` and variant ``(11 * (k // 10) + k + p) % 4``,
so that (language, variant) never repeats within a prompt and languages are mixed within every
request. No text repeats across prompts, so the only duplicates are each prompt's reference, sent
with each of its G rollouts (what deduplication can save: 2G texts -> G + 1 per prompt).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MGSM = REPO_ROOT.parent / "shared" / "data" / "mgsm"
PIVOT = "en"
TARGET_LANGS = ("bn", "de", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
VARIANTS = ("q", "q+a", "q+wrong", "cot")
MAX_G = len(TARGET_LANGS) * len(VARIANTS)

# Fallback answer sentences (the endings of MGSM's own exemplars), used when exemplars.json is absent.
_FALLBACK_PHRASES = {
    "bn": "উত্তর হল {n}।",
    "de": "Die Antwort ist {n}.",
    "en": "The answer is {n}.",
    "es": "La respuesta es {n}.",
    "fr": "La réponse est {n}.",
    "ja": "答えは{n}です。",
    "ru": "Ответ — {n}.",
    "sw": "Jibu ni {n}.",
    "te": "సమాధానం {n}.",
    "th": "คำตอบคือ {n}",
    "zh": "答案是 {n}。",
}
_SENTENCE_END = re.compile(r"(?<=[.!?。।])\s*")


@dataclass(frozen=True)
class Problem:
    index: int
    answer: str
    questions: dict[str, str]  # lang -> question text


@dataclass
class Prompt:
    """One GRPO group: an English reference and G rollouts (with their languages and variants)."""

    reference: str
    rollouts: list[str]
    langs: list[str]
    variants: list[str]


@dataclass
class Workload:
    name: str
    prompts: list[Prompt]
    group_size: int
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return sum(len(p.rollouts) for p in self.prompts)

    def iter_pairs(self) -> Iterator[tuple[str, str]]:
        """(candidate, reference) in GRPO order: prompt by prompt, rollout by rollout."""
        for prompt in self.prompts:
            for rollout in prompt.rollouts:
                yield rollout, prompt.reference

    def all_texts(self) -> list[str]:
        """Every text a pair-by-pair scorer embeds (candidate and reference per pair)."""
        texts: list[str] = []
        for candidate, reference in self.iter_pairs():
            texts += [candidate, reference]
        return texts

    def unique_texts(self) -> list[str]:
        return list(dict.fromkeys(self.all_texts()))


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row[0], row[1]) for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]


def load_problems(mgsm_dir: Path = DEFAULT_MGSM) -> list[Problem]:
    """MGSM as a parallel corpus: problem i in all 11 languages."""
    columns = {lang: _read_tsv(mgsm_dir / f"mgsm_{lang}.tsv") for lang in (PIVOT, *TARGET_LANGS)}
    count = min(len(rows) for rows in columns.values())
    return [
        Problem(
            index=i,
            answer=columns[PIVOT][i][1].strip(),
            questions={lang: rows[i][0].strip() for lang, rows in columns.items()},
        )
        for i in range(count)
    ]


def load_exemplars(mgsm_dir: Path = DEFAULT_MGSM) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Answer-sentence templates per language (`{n}` for the number) and the native CoT answers."""
    path = mgsm_dir / "exemplars.json"
    if not path.is_file():
        return dict(_FALLBACK_PHRASES), {}
    data = json.loads(path.read_text(encoding="utf-8"))
    numbers = data.get("number_answers", [])
    phrases: dict[str, str] = {}
    answers: dict[str, list[str]] = {}
    for lang, shots in data["exemplars"].items():
        ordered = [shots[key]["a"] for key in sorted(shots, key=int)]
        answers[lang] = ordered
        phrase = _FALLBACK_PHRASES.get(lang)
        if numbers and ordered:
            # The last sentence of exemplar 1, its number replaced by a placeholder.
            last = [s for s in _SENTENCE_END.split(ordered[0].strip()) if s.strip()][-1]
            number = str(numbers[0])
            if number in last and len(last) < 60:
                cut = last.rfind(number)
                phrase = last[:cut] + "{n}" + last[cut + len(number) :]
        if phrase:
            phrases[lang] = phrase.strip()
    for lang, phrase in _FALLBACK_PHRASES.items():
        phrases.setdefault(lang, phrase)
    return phrases, answers


def _first_sentence(text: str) -> str:
    parts = [s for s in _SENTENCE_END.split(text) if s.strip()]
    return parts[0].strip() if parts else text


def _variant(k: int, p: int) -> str:
    # For a fixed language (k = c + 10 j), 11 j + c + p is distinct mod 4 for j = 0..3.
    return VARIANTS[(11 * (k // len(TARGET_LANGS)) + k + p) % len(VARIANTS)]


def _wrong(answer: str) -> str:
    try:
        return str(int(float(answer)) + 1)
    except ValueError:
        return answer + "1"


def build_workload(
    prompts: int,
    group_size: int,
    *,
    mgsm_dir: Path = DEFAULT_MGSM,
    start: int = 50,
    salt: str | None = None,
) -> Workload:
    """P prompts x G rollouts from MGSM problems `start`, `start + 1`, ... (wrapping around).

    `salt` makes every text unique to this workload (for cache-cold runs and the memory mode):
    it is appended as a short tag, like a rollout id a trainer might leave in.
    """
    if not 1 <= group_size <= MAX_G:
        raise ValueError(f"group size must be 1..{MAX_G} (10 languages x 4 variants)")
    problems = load_problems(mgsm_dir)
    phrases, cot = load_exemplars(mgsm_dir)
    built: list[Prompt] = []
    for p in range(prompts):
        problem = problems[(start + p) % len(problems)]
        tag = f" [{salt}-{p}]" if salt is not None else ""
        reference = f"{problem.questions[PIVOT]} {phrases[PIVOT].format(n=problem.answer)}{tag}"
        rollouts, langs, variants = [], [], []
        for k in range(group_size):
            lang = TARGET_LANGS[(p + k) % len(TARGET_LANGS)]
            variant = _variant(k, p)
            question = problem.questions[lang]
            if variant == "q":
                text = question
            elif variant == "q+a":
                text = f"{question} {phrases[lang].format(n=problem.answer)}"
            elif variant == "q+wrong":
                text = f"{question} {phrases[lang].format(n=_wrong(problem.answer))}"
            else:
                first = _first_sentence(question)
                shots = cot.get(lang) or [phrases[lang].format(n=_wrong(problem.answer))]
                text = f"{first} {shots[(p + k) % len(shots)]}"
            rollouts.append(text + tag)
            langs.append(lang)
            variants.append(variant)
        built.append(Prompt(reference, rollouts, langs, variants))
    workload = Workload(f"mgsm-P{prompts}xG{group_size}", built, group_size)
    duplicates = len(workload.all_texts()) - len(workload.unique_texts())
    workload.meta = {
        "prompts": prompts,
        "group_size": group_size,
        "pairs": workload.pairs,
        "texts_per_pair_naive": 2,
        "unique_texts": len(workload.unique_texts()),
        "duplicate_texts": duplicates,
        "mgsm_start": start,
        "salt": salt,
    }
    return workload


def token_stats(texts: Sequence[str], count_tokens: object) -> dict[str, float]:
    """Mean/min/max tokens per text with a `count_tokens(list[str]) -> list[int]` callable."""
    counts = list(count_tokens(list(texts)))  # type: ignore[operator]
    if not counts:
        return {"mean": 0.0, "min": 0.0, "max": 0.0, "total": 0.0}
    return {
        "mean": sum(counts) / len(counts),
        "min": float(min(counts)),
        "max": float(max(counts)),
        "total": float(sum(counts)),
    }
