"""Schemathesis against the committed `openapi.yaml` and the live app under uvicorn on loopback.

Two servers: one with API keys (and PIVOT_METRICS_REQUIRE_AUTH=true, so every operation the schema
marks as secured really is), one in the default open configuration. Examples are bounded and
derandomised; every request goes to 127.0.0.1.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from service.api.app import create_app
from service.settings import HARD_MAX_ITEMS, HARD_MAX_TEXT_CHARS
from tests.conftest import REPO_ROOT, HashFactory, fast_settings
from tests.fixtures.tiny_nllb import build_tiny_nllb
from tests.fixtures.tiny_reward_model import build_tiny_reward_model
from tests.support.server import running_server

MAX_EXAMPLES = 50
KEY = "schemathesis-key"
OPENAPI = REPO_ROOT / "openapi.yaml"

# The operations under test: add one here once its endpoint is in the bad-input catalogue too.
OPERATIONS = [
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /v1/models",
    "POST /v1/similarity",
    "POST /v1/answer-consistency",
    "POST /v1/pivot/extract",
    "POST /v1/rewards",
    "POST /v1/rank",
    "POST /get_reward",
    "POST /v1/translate",
    "POST /v1/translation-similarity",
]
schema = schemathesis.openapi.from_path(OPENAPI).include(name=OPERATIONS)
EXAMPLES: Counter[str] = Counter()

# The app answers 415 to any JSON-body operation sent the wrong content type, but openapi.yaml does
# not document it yet. Exempted from status_code_conformance *only while undocumented*; see
# test_openapi_documents_415_for_json_bodies.
KNOWN_UNDOCUMENTED_FOR_BODIES: set[int] = set()


@functools.cache
def _operations() -> dict[tuple[str, str], dict[str, Any]]:
    paths = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))["paths"]
    return {
        (method.upper(), path): operation
        for path, operations in paths.items()
        for method, operation in operations.items()
    }


def status_code_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """status_code_conformance, minus the known gap above."""
    operation = _operations().get((case.method.upper(), case.path), {})
    if (
        "requestBody" in operation
        and response.status_code in KNOWN_UNDOCUMENTED_FOR_BODIES
        and str(response.status_code) not in operation["responses"]
    ):
        return None
    return status_code_conformance(ctx, response, case)


COMMON_CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_documented,
    content_type_conformance,
    response_headers_conformance,
    unsupported_method,
    allow_header_conformance,
]
# positive_data_acceptance is left out: the schema cannot say "either `pairs` or `reference` +
# `candidates`" (a model validator), so schema-valid bodies with both forms are rightly refused.
# With keys configured the schema's `security` is the truth, so invalid data (a missing or wrong
# token included) must be rejected and auth must be enforced.


def negative_data_rejected(ctx: Any, response: Any, case: Any) -> bool | None:
    """negative_data_rejection, counting 413 (body over PIVOT_MAX_BODY_BYTES) as a rejection too:
    fuzzed oversized lists can exceed the body limit before their item count is even read."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


KEYED_CHECKS = [*COMMON_CHECKS, negative_data_rejected, missing_required_header, ignored_auth]


def _server(**overrides: object) -> Iterator[str]:
    factory = HashFactory()
    # Make the runtime limits equal the schema's ceilings, so schema-valid input is never refused
    # for size (the hash encoder's token limit is lifted for the same reason).
    factory.encoder.max_seq_length = 10**9
    app = create_app(
        fast_settings(
            max_items_per_request=HARD_MAX_ITEMS, max_text_chars=HARD_MAX_TEXT_CHARS, **overrides
        ),
        encoder_factory=factory,
    )
    with running_server(app) as base:
        yield base


@pytest.fixture(scope="module")
def tiny_nllb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The translation endpoints are fuzzed against a real (tiny) CTranslate2 NLLB model."""
    return build_tiny_nllb(tmp_path_factory.mktemp("schemathesis_nllb")).ct2_dir


@pytest.fixture(scope="module")
def optional_models(
    tiny_nllb_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """Translation and the /v1/rank reward model configured, so no operation is a mere 503."""
    return {
        "translation_model": tiny_nllb_dir,
        "translation_max_length": 1023,
        "translation_threads": 1,
        "rank_model": build_tiny_reward_model(tmp_path_factory.mktemp("schemathesis_rm")),
    }


@pytest.fixture(scope="module")
def keyed_url(optional_models: dict[str, object]) -> Iterator[str]:
    yield from _server(api_keys=KEY, metrics_require_auth=True, **optional_models)


@pytest.fixture(scope="module")
def open_url(optional_models: dict[str, object]) -> Iterator[str]:
    yield from _server(**optional_models)


def _record(figures: dict[str, str], label: str) -> None:
    EXAMPLES[label] += 1
    EXAMPLES["total"] += 1
    figures["schemathesis examples"] = (
        f"{EXAMPLES['total']} (keyed {EXAMPLES['keyed']}, open {EXAMPLES['open']}; "
        f"max_examples={MAX_EXAMPLES} per operation and mode, derandomized)"
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_keyed_app_conforms(
    case: schemathesis.Case, keyed_url: str, figures: dict[str, str]
) -> None:
    _record(figures, "keyed")
    case.call_and_validate(
        base_url=keyed_url,
        headers={"Authorization": f"Bearer {KEY}"},
        checks=KEYED_CHECKS,
        timeout=30,
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_open_app_conforms(case: schemathesis.Case, open_url: str, figures: dict[str, str]) -> None:
    _record(figures, "open")
    case.call_and_validate(base_url=open_url, checks=COMMON_CHECKS, timeout=30)


def test_examples_were_run(figures: dict[str, str]) -> None:
    """Guard against a silently empty run (e.g. a schema that failed to load)."""
    print("schemathesis examples:", dict(EXAMPLES))
    operations = len(list(schema.get_all_operations()))
    assert operations == len(OPERATIONS), "an operation in OPERATIONS is missing from openapi.yaml"
    assert EXAMPLES["keyed"] >= operations and EXAMPLES["open"] >= operations, EXAMPLES


def test_openapi_documents_415_for_json_bodies() -> None:
    missing = [
        f"{method} {path}"
        for (method, path), operation in _operations().items()
        if "requestBody" in operation and "415" not in operation["responses"]
    ]
    assert not missing, f"415 not documented for {missing}"
