"""Headless Debian Chromium driven by Selenium through the system chromedriver.

Skips with a clear reason where the browser is not installed (a developer's fresh
machine); under CI=true a missing browser fails instead, since `.ci/run` installs it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("SENDWARDEN_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SENDWARDEN_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if not missing:
        return
    reason = (
        f"browser tests need {', '.join(missing)}: "
        "apt-get install chromium chromium-driver (as .ci/run does)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def chromium(profile_dir: Path, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A fresh headless Chromium with its own profile; performance log on."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    service = Service(
        executable_path=str(CHROMEDRIVER), log_output=str(profile_dir.parent / "chromedriver.log")
    )
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


def screenshot(driver: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def requested_urls(driver: Any) -> list[str]:
    """Every URL the browser requested since the last call (from the performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def foreign_requests(urls: list[str], base_url: str) -> list[str]:
    """Network requests to anywhere but the app (the browser's own chrome:// pages aside)."""
    origin = urlsplit(base_url).netloc
    return [
        u
        for u in urls
        if urlsplit(u).scheme in {"http", "https", "ws", "wss", "ftp"}
        and urlsplit(u).netloc != origin
    ]
