"""openapi.yaml must match the live schema (regenerate with `make openapi`)."""

from __future__ import annotations

import httpx
import yaml

from service.openapi_export import current_schema, render
from tests.conftest import REPO_ROOT


def test_openapi_yaml_has_not_drifted() -> None:
    committed = (REPO_ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == render(current_schema()), "openapi.yaml is stale: run `make openapi`"


def test_served_schema_equals_committed_file(fast_server: str) -> None:
    served = httpx.get(f"{fast_server}/openapi.json").json()
    committed = yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    assert served == committed


def test_every_operation_has_examples_or_no_body() -> None:
    schema = current_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
            component = schema["components"]["schemas"][ref]
            assert component.get("examples"), f"{method.upper()} {path} has no request example"
