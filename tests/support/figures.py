"""A pytest plugin piece: a session `figures` dict printed in its own terminal-summary section.

A suite's conftest takes its own pair, so each suite prints its figures once, under its title:
`figures, pytest_terminal_summary = figures_section("reliability figures")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def figures_section(title: str) -> tuple[Any, Callable[..., None]]:
    """The `figures` fixture and the `pytest_terminal_summary` hook that prints it as `title`."""
    key = pytest.StashKey[dict[str, str]]()

    @pytest.fixture(scope="session")
    def figures(pytestconfig: pytest.Config) -> dict[str, str]:
        """Headline numbers of the run; printed in the terminal summary."""
        return pytestconfig.stash.setdefault(key, {})

    def pytest_terminal_summary(
        terminalreporter: Any, exitstatus: int, config: pytest.Config
    ) -> None:
        found = config.stash.get(key, None)
        if not found:
            return
        terminalreporter.section(title)
        for name, value in found.items():
            terminalreporter.write_line(f"{name}: {value}")

    return figures, pytest_terminal_summary
