"""The `figures` summary (image build time and size, drain result), as in tests/reliability."""

from tests.reliability.conftest import figures, pytest_terminal_summary

__all__ = ["figures", "pytest_terminal_summary"]
