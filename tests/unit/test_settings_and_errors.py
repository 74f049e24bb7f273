"""Settings validation and the error table."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.api.errors import _loc, status_for
from service.errors import (
    DeadlineExceededError,
    InvalidInputError,
    NotReadyError,
    PayloadTooLargeError,
    QueueFullError,
    TextTooLongError,
    UnauthorizedError,
)
from service.settings import Settings


def test_env_prefix_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIVOT_PORT", "9001")
    monkeypatch.setenv("PIVOT_API_KEYS", " a , b,,")
    settings = Settings()
    assert settings.port == 9001 and settings.host == "127.0.0.1"
    assert settings.api_key_list == ["a", "b"]


@pytest.mark.parametrize(
    "env",
    [
        {"PIVOT_PORT": "0"},
        {"PIVOT_MAX_BATCH_SIZE": "0"},
        {"PIVOT_CALIBRATION_LOW": "0.7"},
        {"PIVOT_CALIBRATION_LOW": "0.9", "PIVOT_CALIBRATION_HIGH": "0.8"},
        {"PIVOT_DEVICE": "tpu"},
        {"PIVOT_MAX_ITEMS_PER_REQUEST": "100000"},
    ],
)
def test_bad_settings_fail_at_start(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInputError("x", "f"), 422),
        (TextTooLongError("x", "f"), 422),
        (UnauthorizedError("x"), 401),
        (PayloadTooLargeError("x"), 413),
        (QueueFullError("x", 1), 429),
        (NotReadyError("x"), 503),
        (DeadlineExceededError("x"), 504),
    ],
)
def test_error_table(error: Exception, status: int) -> None:
    assert status_for(error) == status  # type: ignore[arg-type]


def test_field_locations_are_readable() -> None:
    assert _loc(("body", "pairs", 3, "candidate")) == "pairs[3].candidate"
    assert _loc(("body",)) == "body"


@pytest.mark.parametrize(
    ("requested", "device", "runs"),
    [
        ("auto", "cpu", "fp32"),
        ("auto", "cuda", "fp16"),
        ("fp32", "cpu", "fp32"),
        ("fp32", "cuda", "fp32"),  # honoured on CUDA (it used to be ignored there)
        ("bf16", "cpu", "bf16"),
        ("bf16", "cuda", "bf16"),
        ("bf16-ffn", "cpu", "bf16-ffn"),
        ("bf16-ffn", "cuda", "fp16"),  # CPU-only: not applied on CUDA
    ],
)
def test_embedding_precision_setting_says_what_runs(requested: str, device: str, runs: str) -> None:
    from service.engine.device import resolve_precision

    assert resolve_precision(requested, device) == runs


def test_int8_precision_is_gone() -> None:
    # Dropped: its calibrated scores moved by up to 0.54 on MGSM (bench/README.md).
    with pytest.raises(ValidationError):
        Settings(embedding_precision="int8")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requested", "device", "runs"),
    [
        ("torch", "cpu", "torch"),
        ("torch", "cuda", "torch"),
        ("openvino", "cpu", "openvino"),
        ("openvino", "cuda", "torch"),  # torch stays on CUDA
    ],
)
def test_embedding_backend_setting_says_what_runs(requested: str, device: str, runs: str) -> None:
    from service.engine.device import resolve_backend

    assert Settings(embedding_backend=requested).embedding_backend == requested  # type: ignore[arg-type]
    assert resolve_backend(requested, device) == runs


def test_openvino_backend_refuses_torch_only_precision() -> None:
    assert (
        Settings(embedding_backend="openvino", embedding_precision="bf16").embedding_precision
        == "bf16"
    )
    with pytest.raises(ValidationError, match="torch-only"):
        Settings(embedding_backend="openvino", embedding_precision="bf16-ffn")
    with pytest.raises(ValidationError):
        Settings(embedding_backend="onnx")  # type: ignore[arg-type]


def test_shutdown_grace_keeps_fractions_of_a_second() -> None:
    from service.cli import uvicorn_config

    settings = Settings(shutdown_grace_s=2.5)
    config = uvicorn_config(object(), settings, "127.0.0.1", 8000)
    assert config.timeout_graceful_shutdown == 2.5
    assert (
        uvicorn_config(object(), Settings(shutdown_grace_s=0), "h", 1).timeout_graceful_shutdown
        == 0
    )
