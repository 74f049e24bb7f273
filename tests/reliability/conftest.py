"""Fixtures for the reliability suite: the `figures` summary.

Each test module records its headline figures (bad inputs tried, schemathesis examples, overload
sent / accepted / rejected / lost) with the `figures` fixture; they are printed at the end of the
run in a "reliability figures" section, even under `-q`.
"""

from __future__ import annotations

from tests.support.figures import figures_section

figures, pytest_terminal_summary = figures_section("reliability figures")
