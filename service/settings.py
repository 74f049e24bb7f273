"""Service configuration: one `BaseSettings`, every field an env var with the `PIVOT_` prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.scoring.languages import UnknownLanguageError, normalize_lang

# Hard ceilings baked into the request schema (and so into openapi.yaml); the configured limits
# below may lower them, never raise them.
HARD_MAX_ITEMS = 4096
HARD_MAX_TEXT_CHARS = 100_000

# How the rewards read a text over the embedding model's token limit.
LongTextMode = Literal["window", "truncate"]


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "pivot-reward"


class Settings(BaseSettings):
    """All knobs of the service. Validated once at start-up; a bad value stops the process."""

    model_config = SettingsConfigDict(env_prefix="PIVOT_", extra="ignore", frozen=True)

    # --- server ---
    host: str = Field("127.0.0.1", description="Interface to bind.")
    port: int = Field(8000, ge=1, le=65535, description="Port to bind.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = Field(True, description="Structured JSON logs (false: plain text).")

    # --- models ---
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where prepared (converted) models are stored.",
    )
    embedding_model: str = Field(
        "multilingual-e5-small",
        description="Built-in model name, or a path to any sentence-transformers folder.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto = CUDA (fp16) when a GPU is visible, else CPU (fp32)."
    )
    embedding_backend: Literal["torch", "openvino"] = Field(
        "torch",
        description="Embedding runtime: torch (any device), or openvino (CPU only: the model is "
        "converted to OpenVINO IR once, beside the model folder; torch is used on CUDA).",
    )
    embedding_precision: Literal["auto", "fp32", "bf16-ffn", "bf16"] = Field(
        "auto",
        description="Encoder arithmetic: auto = fp16 on CUDA, fp32 on CPU; fp32 = fp32 on any device; "
        "bf16 = bf16 autocast (torch, CPU or CUDA) or bf16 inference (openvino); bf16-ffn = bf16 "
        "feed-forward layers only (torch on CPU; fp16 with a warning on CUDA). See README, "
        "Benchmarks, for the measured speed-up and score drift of each.",
    )
    embedding_sub_batch: int = Field(
        16,
        ge=1,
        le=1024,
        description="Most texts per forward pass inside one model call (sorted by tokens, cut "
        "where padding would cost more than another pass).",
    )
    torch_threads: int = Field(0, ge=0, description="CPU threads for torch; 0 = all cores.")
    calibration_low: float | None = Field(
        None, description="Override: cosine that maps to score 0 (default: the model's own)."
    )
    calibration_high: float | None = Field(
        None, description="Override: cosine that maps to score 1 (default: the model's own)."
    )
    translation_model: Path | None = Field(
        None, description="Path to a CTranslate2-converted NLLB-200 folder (optional)."
    )
    translation_compute_type: str | None = Field(
        None, description="CTranslate2 compute type; default int8 on CPU, float16 on CUDA."
    )
    translation_threads: int = Field(
        0, ge=0, description="CTranslate2 intra-op threads; 0 = default."
    )
    translation_batch_tokens: int = Field(
        8192, ge=64, description="Token budget of one translation batch (source tokens)."
    )
    translation_cache_entries: int = Field(
        20_000, ge=0, description="LRU cache of translations, in entries (0 disables it)."
    )
    translation_max_beam_size: int = Field(
        8, ge=1, le=16, description="Largest beam_size a request may ask for."
    )
    translation_max_length: int = Field(
        512,
        ge=1,
        le=1023,
        description="Largest max_length (generated tokens) a request may ask for.",
    )
    exit_on_load_failure: bool = Field(
        True,
        description="Exit non-zero when a model cannot be loaded (false: stay up, /readyz 503).",
    )

    # --- batching (see README, "Batching knobs") ---
    max_batch_size: int = Field(
        64, ge=1, le=4096, description="Most texts embedded in one model call."
    )
    max_wait_ms: float = Field(
        5.0,
        ge=0,
        le=1000,
        description="How long the first queued item waits for others before its batch closes.",
    )
    max_queue_size: int = Field(
        8192, ge=1, description="Most texts waiting in a model's queue; more gives 429."
    )
    embedding_cache_mb: float = Field(
        128.0, ge=0, description="Bound of the LRU embedding cache, in MiB (0 disables it)."
    )

    # --- answer consistency (PASMR) ---
    pivot_start: str = Field(
        "<pivot>", min_length=1, description="Default start delimiter of the pivot question."
    )
    pivot_end: str = Field(
        "</pivot>", min_length=1, description="Default end delimiter of the pivot question."
    )
    think_start: str = Field(
        "<think>",
        min_length=1,
        description="Opening delimiter of a reasoning model's thinking block (skipped by the rewards).",
    )
    think_end: str = Field(
        "</think>", min_length=1, description="Closing delimiter of the thinking block."
    )
    cpu_workers: int = Field(
        2,
        ge=1,
        le=64,
        description="Workers (processes or threads, PIVOT_CPU_POOL) for CPU-bound scoring: answer "
        "extraction, the language gate, pivot splitting.",
    )
    cpu_pool: Literal["process", "thread"] = Field(
        "process",
        description="process: CPU-bound scoring in worker processes (their own GIL; the model and "
        "the event loop are not slowed); thread: in threads of the server process.",
    )
    cpu_max_queue_items: int = Field(
        8192,
        ge=1,
        description="Most items admitted to the CPU pool at once; beyond it requests get 429, and "
        "a request with more items than this gets 422.",
    )
    cpu_chunk_items: int = Field(
        64,
        ge=1,
        le=4096,
        description="Items per CPU task; requests take turns chunk by chunk, and a request past "
        "its deadline stops at the next chunk.",
    )
    cpu_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Niceness added to CPU worker processes, so model batches win the cores.",
    )

    # --- composite rewards ---
    reward_preset: Literal["pb-rlsvr-embedding", "pb-rlsvr-translation", "pasmr", "hybrid"] = Field(
        "hybrid", description="Default recipe of /v1/rewards and /get_reward."
    )
    default_lang: str | None = Field(
        None,
        description="Language of a reward item that neither says its `lang` nor has a detectable "
        "response (unset: such items get reward null, reason `language_unknown`).",
    )
    reward_long_text: LongTextMode = Field(
        "window",
        description="How /v1/rewards and /get_reward read a text over the embedding model's token "
        "limit: `window` = whole, as overlapping windows whose embeddings are averaged; `truncate` "
        "= its beginning only. A request may override it (`long_text`).",
    )
    gate_scope: Literal["answer", "full"] = Field(
        "answer",
        description="What the language-fidelity gate judges in a reasoning output: `answer` = the "
        "visible answer (thinking blocks between PIVOT_THINK_START/END skipped), `full` = the whole "
        "text. Copies of the reference are looked for in the whole text either way.",
    )
    rank_model: Path | None = Field(
        None, description="Optional sequence-classification reward model folder for /v1/rank."
    )

    # --- limits ---
    max_items_per_request: int = Field(
        1024, ge=1, le=HARD_MAX_ITEMS, description="Most pairs/candidates/items in one request."
    )
    max_text_chars: int = Field(
        20_000, ge=1, le=HARD_MAX_TEXT_CHARS, description="Longest accepted text, in characters."
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body.")
    request_timeout_s: float = Field(
        120.0, gt=0, description="Per-request deadline; past it the client gets 504."
    )
    retry_after_s: int = Field(1, ge=1, description="Retry-After sent with 429.")

    # --- lifecycle & security ---
    shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM, time allowed for in-flight requests to finish."
    )
    drain_delay_s: float = Field(
        0.0, ge=0, description="On SIGTERM, time /readyz reports 503 before the listener closes."
    )
    api_keys: str = Field(
        "", description="Comma-separated bearer tokens; empty disables authentication."
    )
    metrics_require_auth: bool = Field(False, description="Require an API key for /metrics.")

    @field_validator("embedding_model")
    @classmethod
    def _non_empty_model(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a built-in model or a folder")
        return value.strip()

    @field_validator("default_lang")
    @classmethod
    def _known_default_lang(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return normalize_lang(value)
        except UnknownLanguageError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _backend_precision(self) -> Settings:
        if self.embedding_backend == "openvino" and self.embedding_precision == "bf16-ffn":
            raise ValueError(
                "PIVOT_EMBEDDING_PRECISION=bf16-ffn is torch-only; with PIVOT_EMBEDDING_BACKEND="
                "openvino use fp32 or bf16"
            )
        return self

    @model_validator(mode="after")
    def _calibration_pair(self) -> Settings:
        low, high = self.calibration_low, self.calibration_high
        if (low is None) != (high is None):
            raise ValueError(
                "set both PIVOT_CALIBRATION_LOW and PIVOT_CALIBRATION_HIGH, or neither"
            )
        if low is not None and high is not None and not low < high:
            raise ValueError("PIVOT_CALIBRATION_LOW must be below PIVOT_CALIBRATION_HIGH")
        return self

    @property
    def api_key_list(self) -> list[str]:
        return [key.strip() for key in self.api_keys.split(",") if key.strip()]
