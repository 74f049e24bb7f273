"""The `figures` summary of the image test (build time and size, the run and its drain)."""

from __future__ import annotations

from tests.support.figures import figures_section

figures, pytest_terminal_summary = figures_section("image figures")
