"""The CPU-pool settings (PIVOT_CPU_*): validated at start-up and wired into the process state."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings
from service.state import ServiceState


def test_defaults_are_processes_at_lower_priority() -> None:
    config = ServiceState(settings=Settings()).cpu.config
    assert config.mode == "process"
    assert config.workers == 2
    assert config.nice == 10
    assert config.max_queue_items == 8192
    assert config.chunk_items == 64


def test_settings_reach_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "PIVOT_CPU_POOL": "thread",
        "PIVOT_CPU_WORKERS": "3",
        "PIVOT_CPU_MAX_QUEUE_ITEMS": "500",
        "PIVOT_CPU_CHUNK_ITEMS": "16",
        "PIVOT_CPU_NICE": "0",
        "PIVOT_RETRY_AFTER_S": "4",
    }.items():
        monkeypatch.setenv(key, value)
    config = ServiceState(settings=Settings()).cpu.config
    assert (config.mode, config.workers, config.max_queue_items) == ("thread", 3, 500)
    assert (config.chunk_items, config.nice, config.retry_after_s) == (16, 0, 4)


@pytest.mark.parametrize(
    "env",
    [
        {"PIVOT_CPU_POOL": "fork"},
        {"PIVOT_CPU_WORKERS": "0"},
        {"PIVOT_CPU_MAX_QUEUE_ITEMS": "0"},
        {"PIVOT_CPU_CHUNK_ITEMS": "0"},
        {"PIVOT_CPU_NICE": "20"},
        {"PIVOT_CPU_NICE": "-1"},
    ],
)
def test_bad_cpu_settings_fail_at_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()
