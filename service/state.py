"""Process state shared by the routers: settings, metrics, loaded models and lifecycle status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from service.embedding import EmbeddingService
from service.errors import NotReadyError
from service.metrics import Metrics
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

    def require_embedding(self) -> EmbeddingService:
        """The embedding service, or 503 while it is not usable."""
        if self.status == "draining":
            raise NotReadyError("the service is shutting down; send the request to another replica")
        if self.embedding is None or self.status != "ready":
            raise NotReadyError(
                f"models are not ready ({self.status}: {self.detail}); retry shortly"
            )
        return self.embedding
