"""Swagger UI at /docs in real headless Chromium, with no internet (issue 7).

Chromium runs with every host but loopback unresolvable, so the page has to load its assets from the
service (the `swagger-ui-bundle-v2` package, mounted at /docs-static) and "Try it out" has to work with
the example in the schema, unedited. Chromium comes from Debian's `chromium` + `chromium-driver`
(installed by the test when running as root with apt-get; skipped with the reason otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.browser import Chromium, chrome_driver, ensure_chromium, is_local, requested_urls
from tests.support.server import running_server

pytestmark = pytest.mark.browser

pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 30.0
SIMILARITY_OP = "operations-scoring-similarity_v1_similarity_post"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
RENDERED_OPERATIONS_JS = """
return Array.from(document.querySelectorAll('.opblock')).map(block => [
  block.querySelector('.opblock-summary-method').textContent.trim().toLowerCase(),
  block.querySelector('.opblock-summary-path').getAttribute('data-path'),
]);
"""


@pytest.fixture(scope="module")
def chromium() -> Chromium:
    found = ensure_chromium(timeout_s=600.0)
    if isinstance(found, str):
        pytest.skip(f"headless Chromium unavailable: {found}")
    return found


@pytest.fixture
def base_url() -> Iterator[str]:
    app = create_app(fast_settings(max_wait_ms=20), encoder_factory=HashFactory())
    with running_server(app) as url:
        yield url


def test_swagger_ui_works_offline_and_try_it_out_succeeds(
    chromium: Chromium, base_url: str, tmp_path: Path
) -> None:
    with chrome_driver(chromium, tmp_path / "profile", window=(1280, 1600)) as driver:
        wait = WebDriverWait(driver, WAIT_S)
        driver.get(f"{base_url}/docs")

        # Every operation of the schema renders (Swagger UI loaded its bundle and /openapi.json).
        similarity = wait.until(ec.visibility_of_element_located((By.ID, SIMILARITY_OP)))
        schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
        expected = {
            (method, path)
            for path, operations in schema["paths"].items()
            for method in operations
            if method in HTTP_METHODS
        }
        rendered = {tuple(pair) for pair in driver.execute_script(RENDERED_OPERATIONS_JS)}
        assert {("get", "/healthz"), ("post", "/v1/similarity")} <= rendered
        assert rendered == expected, f"missing: {expected - rendered}, extra: {rendered - expected}"

        # "Try it out" with the schema's own example, unedited.
        similarity.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
        try_it = similarity.find_elements(By.CSS_SELECTOR, "button.try-out__btn")
        if try_it and "Try it out" in try_it[0].text:  # absent when tryItOutEnabled is set
            try_it[0].click()
        body = wait.until(
            lambda _: similarity.find_element(By.CSS_SELECTOR, "textarea.body-param__text")
        )
        example = body.get_attribute("value") or ""
        assert "Janet sells 9 eggs" in example, f"not the schema example: {example!r}"
        similarity.find_element(By.CSS_SELECTOR, "button.execute").click()

        status_cell = ".live-responses-table tbody tr.response .response-col_status"
        status = wait.until(lambda _: similarity.find_element(By.CSS_SELECTOR, status_cell))
        response_body = similarity.find_element(
            By.CSS_SELECTOR, ".live-responses-table .response-col_description pre.microlight"
        ).text
        assert status.text.strip() == "200", f"Try it out got {status.text!r}: {response_body}"
        assert '"results"' in response_body
        assert '"test-hash-encoder"' in response_body

        # Screenshot: the request body with the example, Execute, and the live 200 response.
        screenshot = tmp_path / "swagger-ui.png"
        request_body = similarity.find_element(By.CSS_SELECTOR, ".opblock-section-request-body")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", request_body)
        assert driver.save_screenshot(str(screenshot))
        print(f"\nSwagger UI screenshot: {screenshot}")

        # Nothing left 127.0.0.1: every request Chromium made (CDP Network events) was local.
        urls = requested_urls(driver)
        served = [url for url in urls if url.startswith(base_url)]
        assert f"{base_url}/docs-static/swagger-ui-bundle.js" in served
        assert f"{base_url}/openapi.json" in served
        assert f"{base_url}/v1/similarity" in served
        external = sorted({url for url in urls if not is_local(url)})
        assert not external, f"/docs requested non-local URLs: {external}"

        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"console errors on /docs: {errors}"
