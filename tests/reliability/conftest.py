"""Fixtures for the reliability suite: the `figures` summary.

Each test module records its headline figures (bad inputs tried, schemathesis examples, overload
sent / accepted / rejected / lost) with the `figures` fixture; they are printed at the end of the
run in a "reliability figures" section, even under `-q`.
"""

from __future__ import annotations

from typing import Any

import pytest

_FIGURES = pytest.StashKey[dict[str, str]]()


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> dict[str, str]:
    """Headline numbers of the run; printed in the terminal summary."""
    return pytestconfig.stash.setdefault(_FIGURES, {})


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(_FIGURES, None)
    if not found:
        return
    terminalreporter.section("reliability figures")
    for key, value in found.items():
        terminalreporter.write_line(f"{key}: {value}")
