"""Swagger UI at /docs in a real headless Chromium, with no internet: renders, and "Try it out" works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from service.app import create_app
from tests.conftest import HashFactory, fast_settings
from tests.support.server import running_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _ensure_chromium() -> None:
    """Install Debian's chromium + driver when we are root with apt-get; otherwise skip with the reason."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            "headless Chromium is not installed (apt-get install chromium chromium-driver) and we cannot install it"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(
            ["apt-get", "update", "-qq"], check=True, env=env, timeout=300, capture_output=True
        )
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
            check=True,
            env=env,
            timeout=600,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"could not install chromium with apt-get: {exc}")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    _ensure_chromium()
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,2200",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def test_swagger_ui_renders_offline_and_try_it_out_works(driver: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser = driver
    app = create_app(fast_settings(), encoder_factory=HashFactory())
    with running_server(app) as base:
        browser.get(f"{base}/docs")  # type: ignore[attr-defined]
        wait = WebDriverWait(browser, 60)
        wait.until(
            ec.presence_of_element_located(
                (By.ID, "operations-scoring-similarity_v1_similarity_post")
            )
        )
        for operation_id in (
            "operations-health-healthz_healthz_get",
            "operations-rewards-rewards_v1_rewards_post",
            "operations-answers-answer_consistency_v1_answer_consistency_post",
        ):
            assert browser.find_elements(By.ID, operation_id), f"{operation_id} not rendered"  # type: ignore[attr-defined]

        block = browser.find_element(By.ID, "operations-scoring-similarity_v1_similarity_post")  # type: ignore[attr-defined]
        block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        try_it = wait.until(lambda _: block.find_elements(By.CSS_SELECTOR, "button.try-out__btn"))
        if "cancel" not in try_it[0].text.lower():  # tryItOutEnabled may have opened it already
            try_it[0].click()
        execute = wait.until(lambda _: block.find_elements(By.CSS_SELECTOR, "button.execute"))
        execute[0].click()
        status = wait.until(
            lambda _: block.find_elements(
                By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status"
            )
        )
        assert status[0].text.strip().startswith("200"), status[0].text
        body = block.find_element(
            By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre"
        )
        assert '"results"' in body.text
        shot = tmp_path / "swagger-ui.png"
        browser.save_screenshot(str(shot))  # type: ignore[attr-defined]
        print(f"\nSwagger UI screenshot: {shot}")

        # Every request the page made went to the local server: nothing from a CDN.
        hosts = set()
        for entry in browser.get_log("performance"):  # type: ignore[attr-defined]
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                if url.startswith("http"):
                    hosts.add(urlparse(url).hostname)
        assert hosts == {"127.0.0.1"}, hosts
