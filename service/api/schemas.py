"""Request and response models shared by the routers (pydantic v2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from service.engine.embedding import LongTextHandling
from service.pipeline.rewards import NullReason, RewardInput
from service.settings import HARD_MAX_ITEMS, HARD_MAX_TEXT_CHARS, LongTextMode

Text = Annotated[str, StringConstraints(min_length=1, max_length=HARD_MAX_TEXT_CHARS)]


class StrictModel(BaseModel):
    """Unknown fields are errors: a typo in a field name must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- errors ---
class FieldError(BaseModel):
    loc: str = Field(description="Dotted path of the offending field, e.g. `pairs[2].candidate`.")
    msg: str


class ErrorDetail(BaseModel):
    type: str = Field(
        description="Machine-readable error kind, e.g. `validation_error`, `overloaded`."
    )
    message: str
    fields: list[FieldError] = Field(default_factory=list)
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- similarity ---
class Pair(StrictModel):
    candidate: Text = Field(description="Target-language response (e.g. the policy's rollout).")
    reference: Text = Field(description="Pivot (English) reference response.")


SIMILARITY_EXAMPLES: list[Any] = [
    {
        "pairs": [
            {
                "candidate": "Janet verkauft 9 Eier für je 2 $, also verdient sie 18 $.",
                "reference": "Janet sells 9 eggs at $2 each, so she makes $18.",
            },
            {
                "candidate": "El vestido necesita 3 rollos de lana.",
                "reference": "Janet sells 9 eggs at $2 each, so she makes $18.",
            },
        ]
    },
    {
        "reference": "Janet sells 9 eggs at $2 each, so she makes $18.",
        "candidates": [
            "Janet verkauft 9 Eier für je 2 $, also verdient sie 18 $.",
            "জ্যানেট প্রতিটি ২ ডলারে ৯টি ডিম বিক্রি করে, তাই সে ১৮ ডলার পায়।",
        ],
    },
]


class SimilarityRequest(StrictModel):
    """Either `pairs`, or one `reference` with many `candidates` (GRPO: G rollouts, one reference)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": SIMILARITY_EXAMPLES}
    )

    pairs: list[Pair] | None = Field(None, min_length=1, max_length=HARD_MAX_ITEMS)
    reference: Text | None = Field(None, description="Grouped form: the one reference.")
    candidates: list[Text] | None = Field(
        None, min_length=1, max_length=HARD_MAX_ITEMS, description="Grouped form: the candidates."
    )
    model: str | None = Field(None, description="Embedding model name; default: the loaded one.")
    truncate: bool = Field(
        False,
        strict=True,
        description="Allow texts over the model's token limit to be truncated (flagged per result); "
        "when false they are rejected with 422.",
    )
    window: bool = Field(
        False,
        strict=True,
        description="Embed texts over the model's token limit whole, as overlapping windows whose "
        "embeddings are averaged (flagged `long_text: windowed`); wins over `truncate`.",
    )

    @model_validator(mode="after")
    def _one_form(self) -> SimilarityRequest:
        grouped = self.reference is not None or self.candidates is not None
        if self.pairs is not None and grouped:
            raise ValueError("give either `pairs` or `reference` + `candidates`, not both")
        if self.pairs is None and not grouped:
            raise ValueError("give `pairs`, or `reference` + `candidates`")
        if grouped and (self.reference is None or self.candidates is None):
            raise ValueError("the grouped form needs both `reference` and `candidates`")
        return self

    def as_pairs(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """Candidates, references and their field locations, in request order."""
        if self.pairs is not None:
            return (
                [p.candidate for p in self.pairs],
                [p.reference for p in self.pairs],
                [f"pairs[{i}].candidate" for i in range(len(self.pairs))],
                [f"pairs[{i}].reference" for i in range(len(self.pairs))],
            )
        assert self.candidates is not None and self.reference is not None
        n = len(self.candidates)
        return (
            list(self.candidates),
            [self.reference] * n,
            [f"candidates[{i}]" for i in range(n)],
            ["reference"] * n,
        )

    def item_count(self) -> tuple[int, str]:
        if self.pairs is not None:
            return len(self.pairs), "pairs"
        return len(self.candidates or []), "candidates"


class SimilarityResult(BaseModel):
    score: float = Field(description="Calibrated reward in [0, 1].")
    cosine: float = Field(description="Raw cosine similarity of the two embeddings.")
    truncated: bool = Field(
        False, strict=True, description="A text was truncated to the model's token limit."
    )
    long_text: LongTextHandling = Field(
        "whole",
        description="How the pair's texts were read: `whole` (within the token limit), "
        "`windowed` (a text over it, as overlapping windows) or `truncated`.",
    )


class CalibrationInfo(BaseModel):
    low: float = Field(description="Cosine mapped to score 0.")
    high: float = Field(description="Cosine mapped to score 1.")
    source: str


class SimilarityResponse(BaseModel):
    model: str
    calibration: CalibrationInfo
    results: list[SimilarityResult]


# --- health & models ---
class HealthResponse(BaseModel):
    status: str


class ReadinessResponse(BaseModel):
    status: str = Field(description="`ready`, `loading`, `failed` or `draining`.")
    detail: str | None = None


class Limits(BaseModel):
    max_items_per_request: int
    max_text_chars: int
    max_body_bytes: int
    max_queue_size: int
    request_timeout_s: float
    translation_max_beam_size: int
    translation_max_length: int


class ModelInfo(BaseModel):
    name: str
    kind: str = Field(description="`embedding`, `translation`, ...")
    available: bool
    device: str | None = None
    backend: str | None = Field(None, description="What runs the model: `torch`, `openvino`, ...")
    precision: str | None = Field(None, description="The arithmetic that runs: `fp32`, `bf16`, ...")
    path: str | None = None
    languages: str | None = None
    max_seq_length: int | None = None
    dimension: int | None = None
    calibration: CalibrationInfo | None = None
    detail: str | None = None


class ModelsResponse(BaseModel):
    models: list[ModelInfo]
    limits: Limits
    batching: dict[str, float | int]


# --- translation ---
LangCode = Annotated[str, StringConstraints(min_length=2, max_length=16)]

TRANSLATE_EXAMPLES: list[Any] = [
    {
        "texts": ["Janet verkauft 9 Eier für je 2 $.", "Sie verdient 18 $."],
        "source_lang": "de",
        "target_lang": "en",
    },
    {
        "texts": ["Janet verkauft 9 Eier.", "জ্যানেট ৯টি ডিম বিক্রি করে।"],
        "source_langs": ["deu_Latn", "bn"],
        "target_lang": "en",
        "beam_size": 2,
        "max_length": 128,
    },
]


class TranslationOptions(StrictModel):
    beam_size: int = Field(
        1,
        ge=1,
        le=16,
        description="Beam width (1 = greedy); capped by PIVOT_TRANSLATION_MAX_BEAM_SIZE.",
    )
    max_length: int | None = Field(
        None,
        ge=1,
        le=1023,
        description="Most generated tokens; default 256 or PIVOT_TRANSLATION_MAX_LENGTH if lower, "
        "which is also the cap.",
    )


class TranslateRequest(TranslationOptions):
    """Texts with one `source_lang` for all, or `source_langs` per text. ISO 639-1 or FLORES-200 codes."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": TRANSLATE_EXAMPLES}
    )

    texts: list[Text] = Field(min_length=1, max_length=HARD_MAX_ITEMS)
    source_lang: LangCode | None = Field(
        None, description="Language of every text, e.g. `de` or `deu_Latn`."
    )
    source_langs: list[LangCode] | None = Field(
        None,
        max_length=HARD_MAX_ITEMS,
        description="Language of each text (same length as `texts`).",
    )
    target_lang: LangCode = Field("en", description="Target language, e.g. `en` or `eng_Latn`.")

    @model_validator(mode="after")
    def _sources(self) -> TranslateRequest:
        if (self.source_lang is None) == (self.source_langs is None):
            raise ValueError(
                "give exactly one of `source_lang` (all texts) or `source_langs` (per text)"
            )
        if self.source_langs is not None and len(self.source_langs) != len(self.texts):
            raise ValueError(
                f"`source_langs` has {len(self.source_langs)} entries for {len(self.texts)} texts"
            )
        return self

    def sources(self) -> tuple[list[str], list[str]]:
        """Per-text source codes and their field locations."""
        if self.source_langs is not None:
            return list(self.source_langs), [f"source_langs[{i}]" for i in range(len(self.texts))]
        assert self.source_lang is not None
        return [self.source_lang] * len(self.texts), ["source_lang"] * len(self.texts)


class Translation(BaseModel):
    text: str
    source_lang: str = Field(description="FLORES-200 code used.")
    input_tokens: int
    output_tokens: int
    truncated: bool = Field(description="The source was longer than the model accepts and was cut.")


class TranslateResponse(BaseModel):
    model: str
    target_lang: str
    translations: list[Translation]


class TranslationPair(StrictModel):
    candidate: Text = Field(description="Target-language response to translate into English.")
    reference: Text = Field(description="English reference response.")
    source_lang: LangCode = Field(description="Language of the candidate, e.g. `de` or `deu_Latn`.")


TRANSLATION_SIMILARITY_EXAMPLES: list[Any] = [
    {
        "reference": "Janet sells 9 eggs at $2 each, so she makes $18.",
        "candidates": ["Janet verkauft 9 Eier für je 2 $, also verdient sie 18 $."],
        "source_lang": "de",
        "chrf": True,
    },
    {
        "pairs": [
            {
                "candidate": "Janet vende 9 huevos a 2 $ cada uno.",
                "reference": "Janet sells 9 eggs at $2 each.",
                "source_lang": "es",
            }
        ]
    },
]


class TranslationSimilarityRequest(TranslationOptions):
    """Translate each candidate into English, then compare it with the English reference."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": TRANSLATION_SIMILARITY_EXAMPLES}
    )

    pairs: list[TranslationPair] | None = Field(None, min_length=1, max_length=HARD_MAX_ITEMS)
    reference: Text | None = Field(None, description="Grouped form: the one English reference.")
    candidates: list[Text] | None = Field(None, min_length=1, max_length=HARD_MAX_ITEMS)
    source_lang: LangCode | None = Field(
        None, description="Grouped form: language of every candidate."
    )
    chrf: bool = Field(
        False,
        strict=True,
        description="Also return chrF (sacrebleu, 0-1) of translation vs reference.",
    )
    truncate: bool = Field(
        False, strict=True, description="Allow the embedding model to truncate over-long texts."
    )

    @model_validator(mode="after")
    def _one_form(self) -> TranslationSimilarityRequest:
        grouped = any(v is not None for v in (self.reference, self.candidates, self.source_lang))
        if self.pairs is not None and grouped:
            raise ValueError(
                "give either `pairs` or `reference` + `candidates` + `source_lang`, not both"
            )
        if self.pairs is None and not (
            self.reference is not None
            and self.candidates is not None
            and self.source_lang is not None
        ):
            raise ValueError("give `pairs`, or `reference` + `candidates` + `source_lang`")
        return self

    def rows(self) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
        """Candidates, references, source codes, and the locations of candidates and sources."""
        if self.pairs is not None:
            n = len(self.pairs)
            return (
                [p.candidate for p in self.pairs],
                [p.reference for p in self.pairs],
                [p.source_lang for p in self.pairs],
                [f"pairs[{i}].candidate" for i in range(n)],
                [f"pairs[{i}].source_lang" for i in range(n)],
            )
        assert (
            self.candidates is not None
            and self.reference is not None
            and self.source_lang is not None
        )
        n = len(self.candidates)
        return (
            list(self.candidates),
            [self.reference] * n,
            [self.source_lang] * n,
            [f"candidates[{i}]" for i in range(n)],
            ["source_lang"] * n,
        )


class TranslationSimilarityResult(BaseModel):
    translation: str = Field(description="The candidate translated into English.")
    score: float = Field(
        description="Calibrated embedding reward in [0, 1] (translation vs reference)."
    )
    cosine: float
    chrf: float | None = Field(None, description="chrF in [0, 1] when requested.")
    truncated: bool = Field(
        False,
        description="The translator cut a piece of the candidate (or a piece's translation hit "
        "`max_length`), or the embedding model truncated the translation or the reference.",
    )


class TranslationSimilarityResponse(BaseModel):
    model: str = Field(description="Embedding model.")
    translation_model: str
    calibration: CalibrationInfo
    results: list[TranslationSimilarityResult]


# --- answer consistency (PASMR) ---
AnswerText = Annotated[str, StringConstraints(min_length=1, max_length=200)]

CONSISTENCY_EXAMPLES: list[Any] = [
    {
        "items": [
            {
                "target_response": "Sie verkauft 16 - 3 - 4 = 9 Eier für je 2 $. Die Antwort lautet 18.",
                "pivot_response": "She sells 9 eggs at $2 each: 9 × 2 = 18. The answer is 18.",
                "lang": "de",
            },
            {
                "target_response": "প্রতিদিন ৯টি ডিম বিক্রি হয়, ৯ × ২ = ১৬।\n\nউত্তর: ১৬",
                "pivot_answer": "18",
                "lang": "bn",
            },
            {"target_response": "Je ne sais pas.", "pivot_answer": "18", "lang": "fr"},
        ]
    }
]


class ConsistencyItem(StrictModel):
    target_response: Text = Field(description="The target-language rollout (A_T).")
    lang: LangCode = Field(
        description="Language of the target response: ISO 639-1 (`de`) or FLORES-200."
    )
    pivot_response: Text | None = Field(None, description="The pivot (English) response A_en.")
    pivot_answer: AnswerText | None = Field(
        None,
        description="The pivot or gold final answer itself (e.g. `1,250`); wins over pivot_response.",
    )
    pivot_lang: LangCode = Field(
        "en", description="Language conventions for reading the pivot side."
    )


class RewardValues(StrictModel):
    """PASMR's defaults: match 1, mismatch 0.1, format error 0."""

    match: float = Field(1.0, allow_inf_nan=False)
    mismatch: float = Field(0.1, allow_inf_nan=False)
    format_error: float = Field(0.0, allow_inf_nan=False)


class ConsistencyRequest(StrictModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": CONSISTENCY_EXAMPLES}
    )

    items: list[ConsistencyItem] = Field(min_length=1, max_length=HARD_MAX_ITEMS)
    rewards: RewardValues = Field(default_factory=RewardValues)


class ConsistencyResultModel(BaseModel):
    status: str = Field(description="`match`, `mismatch`, `format_error` or `no_pivot_answer`.")
    reward: float | None = Field(description="null for `no_pivot_answer`: drop the sample.")
    target_answer: str | None = Field(
        description="Canonical decimal (or exact fraction like `1/3`)."
    )
    pivot_answer: str | None
    target_fallback: bool = Field(description="No answer phrase: the last number was used.")
    pivot_fallback: bool
    detail: str


class ConsistencyResponse(BaseModel):
    results: list[ConsistencyResultModel]


PIVOT_EXAMPLES: list[Any] = [
    {
        "rollouts": [
            "<pivot>Janet's ducks lay 16 eggs per day. How much does she make?</pivot>"
            "Sie verkauft 9 Eier für je 2 $. Die Antwort lautet 18.",
            "Sie verkauft 9 Eier. Die Antwort lautet 18.",
        ]
    }
]


class PivotExtractRequest(StrictModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": PIVOT_EXAMPLES}
    )

    rollouts: list[Text] = Field(min_length=1, max_length=HARD_MAX_ITEMS)
    start: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="Start delimiter; default PIVOT_PIVOT_START (`<pivot>`)."
    )
    end: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="End delimiter; default PIVOT_PIVOT_END (`</pivot>`)."
    )
    require_start: bool = Field(
        True,
        strict=True,
        description="false when the prompt already ends with the start delimiter.",
    )


class PivotExtractResult(BaseModel):
    pivot_question: str | None
    target_answer: str | None = Field(description="The target-language answer after the pivot.")
    format_error: str | None = Field(description="Why the rollout is malformed, or null.")


class PivotExtractResponse(BaseModel):
    start: str
    end: str
    results: list[PivotExtractResult]


# --- composite rewards ---
PresetName = Literal["pb-rlsvr-embedding", "pb-rlsvr-translation", "pasmr", "hybrid"]

REWARDS_EXAMPLES: list[Any] = [
    {
        "preset": "hybrid",
        "items": [
            {
                "response": "Sie verkauft 16 - 3 - 4 = 9 Eier zu je 2 $, also 18 $. Die Antwort lautet 18.",
                "lang": "de",
                "reference": "She sells 16 - 3 - 4 = 9 eggs at $2 each, so $18. The answer is 18.",
                "pivot_answer": "18",
            },
            {
                "response": "She sells 16 - 3 - 4 = 9 eggs at $2 each, so $18. The answer is 18.",
                "lang": "de",
                "reference": "She sells 16 - 3 - 4 = 9 eggs at $2 each, so $18. The answer is 18.",
                "pivot_answer": "18",
            },
        ],
    }
]


def _valid_unicode(text: str) -> str:
    """A lone surrogate (`"\\ud800"` is legal JSON) is refused here, as the length-constrained
    `Text` refuses it, instead of failing the model's whole batch later."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode: a lone surrogate at position {exc.start}") from None
    return text


# Reward texts have no length ceiling in the schema: the pipeline cuts a text over
# PIVOT_MAX_TEXT_CHARS and flags the item, so one long rollout never fails its batch (the body limit,
# PIVOT_MAX_BODY_BYTES, still bounds the request).
UnicodeText = Annotated[str, AfterValidator(_valid_unicode)]
RewardText = Annotated[str, StringConstraints(min_length=1), AfterValidator(_valid_unicode)]


class RewardItem(StrictModel):
    response: UnicodeText = Field(
        description="The policy's response (without the prompt); may be empty (scored as a format "
        "error). Over PIVOT_MAX_TEXT_CHARS it is cut (head + tail) and the result says `truncated`."
    )
    lang: LangCode | None = Field(
        None,
        description="Target language the response must be in (ISO 639-1 or FLORES-200). Without "
        "it: detected from the response, else PIVOT_DEFAULT_LANG, else detected from `prompt`, "
        "else reward null with reason `language_unknown`. Give it: a language read from the "
        "response cannot be wrong, so the fidelity gate cannot catch a wrong-language answer.",
    )
    reference: RewardText | None = Field(
        None,
        description="English reference response (semantic/translation); without it those recipes "
        "give reward null, reason `no_reference`.",
    )
    pivot_response: RewardText | None = Field(
        None, description="Pivot (English) response, for answer consistency."
    )
    pivot_answer: AnswerText | None = Field(
        None, description="Pivot or gold final answer; wins over pivot_response."
    )
    prompt: RewardText | None = Field(
        None, description="The prompt (not scored; read only to guess a missing language)."
    )

    def to_input(self, loc: str) -> RewardInput:
        """The pipeline's input for this item; `loc` names it in error messages."""
        return RewardInput(
            response=self.response,
            lang=self.lang,
            reference=self.reference,
            pivot_response=self.pivot_response,
            pivot_answer=self.pivot_answer,
            prompt=self.prompt,
            loc=loc,
        )


class RewardSpecModel(StrictModel):
    """A custom spec: component weights (0 = unused), combination and gate."""

    semantic: float = Field(0.0, ge=0, le=100, allow_inf_nan=False)
    translation: float = Field(0.0, ge=0, le=100, allow_inf_nan=False)
    answer: float = Field(0.0, ge=0, le=100, allow_inf_nan=False)
    combine: Literal["mean", "product"] = "mean"
    gate: bool = Field(True, strict=True, description="Apply the language-fidelity gate.")
    gate_value: float = Field(
        0.0, allow_inf_nan=False, ge=-100, le=100, description="Reward when the gate fails."
    )

    @model_validator(mode="after")
    def _some_weight(self) -> RewardSpecModel:
        if self.semantic + self.translation + self.answer <= 0:
            raise ValueError("give at least one positive component weight")
        return self


class RewardsRequest(StrictModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": REWARDS_EXAMPLES}
    )

    items: list[RewardItem] = Field(min_length=1, max_length=HARD_MAX_ITEMS)
    preset: PresetName | None = Field(
        None, description="Named recipe; default PIVOT_REWARD_PRESET."
    )
    spec: RewardSpecModel | None = Field(None, description="Custom recipe; overrides `preset`.")
    long_text: LongTextMode | None = Field(
        None,
        description="Texts over the embedding model's token limit: `window` = read whole, as "
        "overlapping windows; `truncate` = their beginning only. Default PIVOT_REWARD_LONG_TEXT "
        "(window).",
    )


REASONS_DOC = (
    "Why `reward` is null (null when it is not): `language_unknown` (no `lang`, none detected, no "
    "PIVOT_DEFAULT_LANG), `no_reference` (the recipe compares with a reference the item lacks), "
    "`no_pivot_answer` (answer consistency without a usable pivot/gold answer)."
)


class RewardResult(BaseModel):
    reward: float | None = Field(description="Final reward; null = drop the sample (see `reason`).")
    reason: NullReason | None = Field(description=REASONS_DOC)
    components: dict[str, float | None] = Field(
        description="Each used component's value (null when it could not be computed), for logging."
    )
    gate: str = Field(
        description="Fidelity verdict: `ok`, `wrong_language`, `copied_reference`, ... or `off`."
    )
    detected_lang: str | None = None
    answer_status: str | None = None
    translation: str | None = Field(
        None, description="English translation (translation component)."
    )
    lang: str | None = Field(description="The language the item was scored in (canonical code).")
    lang_source: Literal["given", "response", "default", "prompt"] | None = Field(
        description="Where `lang` came from: the item, detected in the response, "
        "PIVOT_DEFAULT_LANG, or detected in the prompt (null: no language)."
    )
    truncated: bool = Field(
        description="A scored text (response, reference, pivot_response) was over "
        "PIVOT_MAX_TEXT_CHARS and was cut to it (its start and end kept) before scoring."
    )
    original_chars: dict[str, int] = Field(
        description="Each cut field's length in characters before the cut (empty when none was)."
    )
    long_text: LongTextHandling | None = Field(
        None,
        description="How the similarity components read the texts: `whole`, `windowed` (over the "
        "token limit, as overlapping windows) or `truncated` (by the embedding model or the "
        "translator); null when no similarity component is used.",
    )


class RewardsResponse(BaseModel):
    preset: str
    results: list[RewardResult]


# --- Best-of-L ranking ---
RANK_EXAMPLES: list[Any] = [
    {
        "question": "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4. She sells the rest at $2. "
        "How much does she make?",
        "candidates": [
            {"response": "Sie verkauft 9 Eier zu je 2 $. Die Antwort lautet 18.", "lang": "de"},
            {"response": "Elle vend 9 œufs à 2 $. La réponse est 18.", "lang": "fr"},
            {"response": "她卖 10 个鸡蛋，每个 2 美元。答案是 20。", "lang": "zh"},
        ],
    }
]


class RankCandidate(StrictModel):
    response: Text
    lang: LangCode


class RankRequest(StrictModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": RANK_EXAMPLES}
    )

    candidates: list[RankCandidate] = Field(min_length=1, max_length=256)
    question: Text | None = Field(None, description="The question (used by a reward-model scorer).")
    reference: Text | None = Field(None, description="Optional English reference response.")
    scorer: Literal["agreement", "reward_model"] = Field(
        "agreement", description="`agreement` (built in) or `reward_model` (PIVOT_RANK_MODEL)."
    )


class RankedCandidateModel(BaseModel):
    score: float
    answer: str | None = None
    answer_support: float | None = None
    semantic_support: float | None = None
    reference_similarity: float | None = None


class RankResponse(BaseModel):
    scorer: str
    best_index: int
    scores: list[float]
    candidates: list[RankedCandidateModel]


# --- slime ---
SlimePrompt = UnicodeText | list[dict[str, Any]]


class SlimeRequest(BaseModel):
    """slime's built-in remote reward call (`--rm-type remote_rm --rm-url URL`): one sample."""

    model_config = ConfigDict(
        extra="ignore",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "prompt": "Janet hat 16 Eier, isst 3, backt mit 4 und verkauft den Rest zu "
                    "2 $. Wie viel verdient sie?",
                    "response": "16 - 3 - 4 = 9 Eier, 9 x 2 $ = 18 $. Die Antwort lautet 18.",
                    "label": {"pivot_answer": "18", "lang": "de"},
                }
            ]
        },
    )

    prompt: SlimePrompt | None = Field(
        None,
        description="slime's `sample.prompt`: text, or chat messages (`[{role, content}]`; the "
        "last user message is read). Only used to guess the language when nothing else says it.",
    )
    response: UnicodeText = Field(description="slime's `sample.response`, the rollout.")
    label: Any = Field(
        None, description="slime's `sample.label`: any JSON type, read as `/get_reward`'s labels."
    )


# --- OpenRLHF ---
OPENRLHF_EXAMPLES: list[Any] = [
    {
        "query": [
            "Frage: Janet hat 16 Eier, isst 3, backt mit 4 und verkauft den Rest zu 2 $. Wie viel verdient sie?\n"
            "Antwort: Sie verkauft 9 Eier zu je 2 $. Die Antwort lautet 18."
        ],
        "prompts": [
            "Frage: Janet hat 16 Eier, isst 3, backt mit 4 und verkauft den Rest zu 2 $. Wie viel verdient sie?\n"
            "Antwort:"
        ],
        "labels": [
            '{"pivot_answer": "18", "lang": "de", "reference": "She sells 9 eggs at $2: $18. The answer is 18."}'
        ],
    }
]


class OpenRLHFRequest(BaseModel):
    """OpenRLHF's remote reward model call (`--reward.remote_url`, formerly `--remote_rm_url`)."""

    model_config = ConfigDict(
        extra="ignore", strict=True, json_schema_extra={"examples": OPENRLHF_EXAMPLES}
    )

    query: list[UnicodeText] = Field(
        max_length=HARD_MAX_ITEMS,
        description="prompt + response per sample; may be empty (OpenRLHF <= 0.11 sends `[]` to "
        "the extra URLs of --reward.remote_url), which returns empty lists.",
    )
    prompts: list[UnicodeText] | None = Field(
        None, max_length=HARD_MAX_ITEMS, description="The prompt of each sample."
    )
    labels: list[Any] | None = Field(
        None,
        max_length=HARD_MAX_ITEMS,
        description="Per sample, any JSON type: a number or a string that is just a number (the "
        "gold answer); other text (the English reference response, its final answer the pivot "
        "answer); an object with `reference`, `pivot_answer` (`answer`, `gold`, `gold_answer`), "
        "`pivot_response`, `lang` (or its JSON string); null; a one-element list. 422 naming "
        "`labels[i]` for a boolean, a longer list, unknown keys or conflicting answers.",
    )


class OpenRLHFResponse(BaseModel):
    rewards: list[float] = Field(
        description="One reward per sample; 0.0 where the reward is null (see `extra_logs`)."
    )
    scores: list[float] = Field(description="The same values (OpenRLHF's dynamic filtering).")
    extra_logs: dict[str, list[float]] = Field(
        description="Per-sample values, one per sample, the same keys in every response: "
        "`excluded` (1 = reward null, sent as 0.0), one flag per null reason (`language_unknown`, "
        "`no_reference`, `no_pivot_answer`), `format_error` (1 = no final answer in the response: "
        "a real 0), `truncated`, `lang_detected` (1 = language not in the label), `gate_passed`, "
        "and each component the recipe uses (`semantic`, `translation`, `answer`; 0 when null)."
    )
