"""Process state shared by the routers: settings, metrics, loaded models and lifecycle status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from service.engine.batching import MicroBatcher
from service.engine.cpu_pool import CpuPool, CpuPoolConfig
from service.engine.embedding import EmbeddingService
from service.engine.translation_service import TranslationService
from service.errors import FeatureUnavailableError, NotReadyError
from service.metrics import Metrics
from service.scoring.bulk import warm_up
from service.settings import Settings

Status = Literal["loading", "ready", "failed", "draining"]


@dataclass
class ServiceState:
    settings: Settings
    metrics: Metrics = field(default_factory=Metrics)
    status: Status = "loading"
    detail: str | None = "loading models"
    embedding: EmbeddingService | None = None
    embedding_path: str | None = None
    translation: TranslationService | None = None
    rank_model: MicroBatcher[tuple[str, str], float] | None = None
    cpu: CpuPool = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        self.cpu = CpuPool(
            CpuPoolConfig(
                workers=settings.cpu_workers,
                mode=settings.cpu_pool,
                max_queue_items=settings.cpu_max_queue_items,
                chunk_items=settings.cpu_chunk_items,
                retry_after_s=settings.retry_after_s,
                nice=settings.cpu_nice,
            ),
            observer=self.metrics,
            warm=warm_up,
        )

    def start_draining(self) -> None:
        """SIGTERM: /readyz and new work answer 503 from now on; admitted work finishes."""
        self.status, self.detail = "draining", "shutting down"
        self.cpu.drain()

    def _require_ready(self) -> None:
        if self.status == "draining":
            raise NotReadyError("the service is shutting down; send the request to another replica")
        if self.status != "ready":
            raise NotReadyError(
                f"models are not ready ({self.status}: {self.detail}); retry shortly"
            )

    def require_rank_model(self) -> MicroBatcher[tuple[str, str], float]:
        """The reward-model scorer for /v1/rank; 503 while not ready."""
        self._require_ready()
        if self.rank_model is None:
            raise FeatureUnavailableError("no reward model configured (PIVOT_RANK_MODEL)")
        return self.rank_model

    def require_translation(self) -> TranslationService:
        """The translation service; 503 with set-up instructions when none is configured."""
        if self.settings.translation_model is None:
            raise FeatureUnavailableError(
                "translation is not configured: set PIVOT_TRANSLATION_MODEL to a CTranslate2-converted "
                "NLLB-200 folder (convert one with `python -m models.convert_nllb "
                "facebook/nllb-200-distilled-600M OUT_DIR --quantization int8`, see models/README_nllb.md)"
            )
        self._require_ready()
        assert self.translation is not None
        return self.translation

    def require_embedding(self) -> EmbeddingService:
        """The embedding service, or 503 while it is not usable."""
        self._require_ready()
        assert self.embedding is not None  # ready means loaded
        return self.embedding
