"""Headless Chromium from Debian's packages, driven by Selenium, for the console's browser tests.

Nothing is downloaded at test time: the browser and its driver are the system's
(/usr/bin/chromium, /usr/bin/chromedriver from the `chromium` and `chromium-driver` packages,
which `make test` installs). Without them the tests fail saying so, rather than skip.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MISSING = (
    "the console's browser tests need Debian's Chromium and ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver): "
    "`make test` installs them (apt-get install chromium chromium-driver); install them, or run `make test`"
)
# This machine's network is closed: no background connections, no first-run, no GPU, no sandbox (root).
FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars",
)  # fmt: skip


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    return None if CHROMIUM.exists() and CHROMEDRIVER.exists() else MISSING


@contextmanager
def chromium(width: int, height: int, mobile: bool = False) -> Iterator[object]:
    """A headless Chromium of this window size (a phone's, with its user agent, when `mobile`)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="console-browser-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    if mobile:
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}}
        )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
