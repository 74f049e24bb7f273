"""Request and response models shared by the routers (pydantic v2)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from service.settings import HARD_MAX_ITEMS, HARD_MAX_TEXT_CHARS

Text = Annotated[str, StringConstraints(min_length=1, max_length=HARD_MAX_TEXT_CHARS)]


class StrictModel(BaseModel):
    """Unknown fields are errors: a typo in a field name must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": SIMILARITY_EXAMPLES})

    pairs: list[Pair] | None = Field(None, min_length=1, max_length=HARD_MAX_ITEMS)
    reference: Text | None = Field(None, description="Grouped form: the one reference.")
    candidates: list[Text] | None = Field(
        None, min_length=1, max_length=HARD_MAX_ITEMS, description="Grouped form: the candidates."
    )
    model: str | None = Field(None, description="Embedding model name; default: the loaded one.")
    truncate: bool = Field(
        False,
        description="Allow texts over the model's token limit to be truncated (flagged per result); "
        "when false they are rejected with 422.",
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
    truncated: bool = Field(False, description="A text was truncated to the model's token limit.")


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


class ModelInfo(BaseModel):
    name: str
    kind: str = Field(description="`embedding`, `translation`, ...")
    available: bool
    device: str | None = None
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
