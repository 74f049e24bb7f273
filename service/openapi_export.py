"""Write the app's OpenAPI schema as YAML: `python -m service.openapi_export openapi.yaml`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from service.api.app import create_app
from service.settings import Settings


def current_schema() -> dict[str, Any]:
    """The live schema of an app built with default settings (schema does not depend on models)."""
    schema: dict[str, Any] = create_app(Settings()).openapi()
    return schema


def render(schema: dict[str, Any]) -> str:
    return yaml.safe_dump(schema, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    target = Path(args[0] if args else "openapi.yaml")
    target.write_text(render(current_schema()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
