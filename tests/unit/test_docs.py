"""The README documents every setting and every route."""

from __future__ import annotations

from service.openapi_export import current_schema
from service.settings import Settings
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    missing = []
    for name in Settings.model_fields:
        env = f"PIVOT_{name.upper()}"
        if env not in README and not (
            name == "calibration_high" and "PIVOT_CALIBRATION_LOW` / `_HIGH" in README
        ):
            missing.append(env)
    assert not missing, f"document these in README.md: {missing}"


def test_every_route_is_in_the_readme() -> None:
    missing = [
        path
        for path in current_schema()["paths"]
        if f"`{path}`" not in README and f" {path}`" not in README
    ]
    assert not missing, f"document these routes in README.md: {missing}"
