"""Loading and closing the configured models into the process state (used by the app and the CLI)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from service.engine.batching import BatchingConfig, MicroBatcher
from service.engine.device import resolve_backend, resolve_device
from service.engine.embedding import EmbeddingService, Encoder
from service.engine.encoder import SentenceTransformerEncoder
from service.engine.testing import HASH_ENCODER_NAME, HashEncoder
from service.engine.translation_service import TranslationService
from service.scoring.calibration import (
    BUILTIN_CALIBRATIONS,
    UNCALIBRATED,
    Calibration,
    load_calibration,
)
from service.settings import Settings
from service.state import ServiceState

logger = logging.getLogger(__name__)

EncoderFactory = Callable[[Settings], tuple[Encoder, Calibration, str | None]]


def builtin_calibration(name: str) -> Calibration | None:
    """Constants shipped for built-in models (derived on MGSM; see models/calibrate.py)."""
    return BUILTIN_CALIBRATIONS.get(name)


def load_encoder(settings: Settings) -> tuple[Encoder, Calibration, str | None]:
    """Prepare (if built-in and missing) and load the configured embedding model."""
    if settings.embedding_model == HASH_ENCODER_NAME:
        encoder: Encoder = HashEncoder()
        calibration, path = Calibration(0.0, 1.0, "hash encoder: raw cosine"), None
    else:
        from models.registry import BUILTIN_MODELS, ensure_model

        model_dir = ensure_model(settings.embedding_model, settings.cache_dir, progress=False)
        name = (
            settings.embedding_model
            if settings.embedding_model in BUILTIN_MODELS
            else Path(model_dir).name
        )
        encoder = _load_model_encoder(settings, Path(model_dir), name)
        calibration = load_calibration(Path(model_dir)) or builtin_calibration(name) or UNCALIBRATED
        if calibration is UNCALIBRATED:
            logger.warning(
                "no calibration constants for this model; scores are raw cosines clipped to [0, 1]",
                extra={"model": name},
            )
        path = str(model_dir)
    if settings.calibration_low is not None and settings.calibration_high is not None:
        calibration = Calibration(
            settings.calibration_low, settings.calibration_high, "settings override"
        )
    return encoder, calibration, path


def _load_model_encoder(settings: Settings, model_dir: Path, name: str) -> Encoder:
    """The configured backend's encoder for a model folder (openvino exports its IR once)."""
    device = resolve_device(settings.device)
    if resolve_backend(settings.embedding_backend, device) == "openvino":
        from models.registry import ensure_openvino
        from service.engine.openvino_encoder import OpenVinoEncoder

        return OpenVinoEncoder(
            model_dir,
            ensure_openvino(model_dir, settings.cache_dir),
            name,
            threads=settings.torch_threads,
            precision=settings.embedding_precision,
            sub_batch=settings.embedding_sub_batch,
        )
    return SentenceTransformerEncoder(
        model_dir,
        name,
        device=device,
        threads=settings.torch_threads,
        precision=settings.embedding_precision,
        sub_batch=settings.embedding_sub_batch,
    )


def batching_config(settings: Settings, *, max_batch_cost: int | None = None) -> BatchingConfig:
    """The batcher knobs from settings (one place, for every model's queue)."""
    return BatchingConfig(
        max_batch_size=settings.max_batch_size,
        max_wait_s=settings.max_wait_ms / 1000.0,
        max_queue_size=settings.max_queue_size,
        max_batch_cost=max_batch_cost,
        retry_after_s=settings.retry_after_s,
    )


async def load_models(state: ServiceState, encoder_factory: EncoderFactory = load_encoder) -> None:
    """Load and warm every configured model into `state` (raises on failure)."""
    settings = state.settings
    loop = asyncio.get_running_loop()
    encoder, calibration, path = await loop.run_in_executor(None, encoder_factory, settings)
    service = EmbeddingService(
        encoder,
        calibration,
        batching_config(settings),
        cache_bytes=int(settings.embedding_cache_mb * 1024 * 1024),
        observer=state.metrics,
        cache_observer=state.metrics,
    )
    await service.start()
    state.embedding, state.embedding_path = service, path
    await state.cpu.start()  # every CPU worker started and warm (lingua's models, ~0.2 s)
    if settings.translation_model is not None:
        state.translation = await _load_translation(state)
    if settings.rank_model is not None:
        state.rank_model = await _load_rank_model(state)
    if state.status == "loading":
        state.status, state.detail = "ready", None
    logger.info("models ready", extra={"model": encoder.name, "device": encoder.device})


async def close_models(state: ServiceState) -> None:
    """Finish queued work and release model threads."""
    if state.embedding is not None:
        await state.embedding.close()
    if state.translation is not None:
        await state.translation.close()
    if state.rank_model is not None:
        await state.rank_model.close()
    await state.cpu.close()


async def _load_rank_model(state: ServiceState) -> MicroBatcher[tuple[str, str], float]:
    from service.engine.reward_model import SequenceClassifierScorer

    settings = state.settings
    assert settings.rank_model is not None
    loop = asyncio.get_running_loop()
    scorer = await loop.run_in_executor(
        None,
        lambda: SequenceClassifierScorer(Path(settings.rank_model or ""), device=settings.device),
    )
    batcher: MicroBatcher[tuple[str, str], float] = MicroBatcher(
        scorer, batching_config(settings), state.metrics
    )
    batcher.start()
    await batcher.run_sync(scorer.warmup)
    return batcher


async def _load_translation(state: ServiceState) -> TranslationService:
    from service.engine.translator import NllbTranslator

    settings = state.settings
    assert settings.translation_model is not None
    loop = asyncio.get_running_loop()
    translator = await loop.run_in_executor(
        None,
        lambda: NllbTranslator(
            Path(settings.translation_model or ""),
            device=settings.device,
            compute_type=settings.translation_compute_type,
            intra_threads=settings.translation_threads,
        ),
    )
    service = TranslationService(
        translator,
        batching_config(settings, max_batch_cost=settings.translation_batch_tokens),
        cache_entries=settings.translation_cache_entries,
        observer=state.metrics,
        cache_observer=state.metrics,
    )
    await service.start()
    logger.info(
        "translation ready",
        extra={
            "model": translator.name,
            "device": translator.device,
            "compute_type": translator.compute_type,
        },
    )
    return service
