"""Headless Chromium for browser tests: find (or install) Debian's chromium, start it offline.

Debian's `chromium` and `chromium-driver` packages give /usr/bin/chromium and /usr/bin/chromedriver.
When they are missing and we run as root with apt-get available, `ensure_chromium` installs them
(non-interactive, bounded by a timeout); otherwise it returns why it could not, for `pytest.skip`.
Set PIVOT_NO_BROWSER_INSTALL=1 to never install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
APT_PACKAGES = ("chromium", "chromium-driver")

# Flags Chromium needs here; the background-networking ones keep it from phoning home (and from
# getting "connection refused" noise), --host-resolver-rules makes every host but loopback
# unresolvable, so the page must work exactly as it would with no internet.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Schemes that never touch the network.
LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome", "devtools"})


@dataclass(frozen=True)
class Chromium:
    browser: Path
    driver: Path


def _found() -> Chromium | None:
    if CHROMIUM.is_file() and CHROMEDRIVER.is_file():
        return Chromium(CHROMIUM, CHROMEDRIVER)
    return None


def ensure_chromium(timeout_s: float = 600.0) -> Chromium | str:
    """Return the chromium/chromedriver paths, installing them if we can; else the reason we can't."""
    found = _found()
    if found is not None:
        return found
    missing = ", ".join(str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file())
    if os.environ.get("PIVOT_NO_BROWSER_INSTALL"):
        return f"{missing} missing and PIVOT_NO_BROWSER_INSTALL is set; install {' '.join(APT_PACKAGES)}"
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        return f"{missing} missing and apt-get is not available; install Debian's {' '.join(APT_PACKAGES)}"
    if os.geteuid() != 0:
        return f"{missing} missing and not running as root; run: apt-get install {' '.join(APT_PACKAGES)}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + timeout_s
    for args in (
        [apt_get, "update", "-q"],
        [apt_get, "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES],
    ):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"installing {' '.join(APT_PACKAGES)} took over {timeout_s:.0f} s"
        try:
            done = subprocess.run(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=remaining,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`{' '.join(args[1:])}` took over {timeout_s:.0f} s"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-500:]
            return f"`apt-get {' '.join(args[1:])}` failed ({done.returncode}): {tail}"
    return _found() or f"apt-get installed {' '.join(APT_PACKAGES)} but {missing} still missing"


@contextmanager
def chrome_driver(
    chromium: Chromium, profile_dir: Path, *, window: tuple[int, int] = (1280, 1024)
) -> Iterator[Any]:
    """A selenium Chrome WebDriver on headless Chromium with a fresh profile and performance logs.

    Selenium Manager is never used: the driver path is given explicitly and SE_OFFLINE is set.
    """
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    service = Service(executable_path=str(chromium.driver), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked the network for since the last call (CDP Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message.get("method") == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in LOCAL_HOSTS
