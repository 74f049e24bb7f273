"""The `figures` summary of the image test (build time and size, the run and its drain)."""

from __future__ import annotations

from typing import Any

import pytest

_FIGURES = pytest.StashKey[dict[str, str]]()


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> dict[str, str]:
    """Headline numbers of the image test; printed in the terminal summary."""
    return pytestconfig.stash.setdefault(_FIGURES, {})


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(_FIGURES, None)
    if not found:
        return
    terminalreporter.section("image figures")
    for key, value in found.items():
        terminalreporter.write_line(f"{key}: {value}")
