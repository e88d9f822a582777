"""`sendwarden demo --keep` leaves the dashboard running: its URL and a key are printed,
and the key signs in to a dashboard that shows what was sent and what was blocked."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import chromium, screenshot
from tests.test_cli_demo import DEMO_TIMEOUT, bare_env, read_until, sendwarden
from tests.test_ui_browser import wait_for
from tests.test_ui_http import CSRF

README_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


@dataclass(frozen=True)
class Demo:
    dashboard: str
    key: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo-keep")
    process = subprocess.Popen(
        sendwarden("demo", "--dir", str(root / "d"), "--keep"),
        env=bare_env(root),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = read_until(process, "Press Ctrl-C", DEMO_TIMEOUT)
        found = re.search(r"Dashboard: (http://127\.0\.0\.1:\d+/ui)", "\n".join(lines))
        assert found is not None, lines
        key = next(line for line in lines if line.startswith("sw_"))
        yield Demo(found.group(1), key)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_keep_prints_a_dashboard_url_and_a_key_that_signs_in(demo: Demo) -> None:
    with httpx.Client(base_url=demo.dashboard.removesuffix("/ui"), trust_env=False) as client:
        token = CSRF.search(client.get("/ui/sign-in").text)
        assert token is not None
        r = client.post("/ui/sign-in", data={"api_key": demo.key, "csrf_token": token.group(1)})
        assert r.status_code == 303
        today = client.get("/ui/today").text
        sent = re.search(r'id="sent-today">(\d+)<', today)
        blocked = re.search(r'id="blocked-today">(\d+)<', today)
        assert sent and blocked and int(sent.group(1)) > 0 and int(blocked.group(1)) > 0
        assert "suppression" in today  # which rule blocked, by name
        attempts = client.get("/ui/attempts?status=blocked").text
        assert "blocked" in attempts


def test_demo_dashboard_in_chromium_for_the_readme(demo: Demo, tmp_path: Path) -> None:
    """Also refreshes docs/screenshots/ when SENDWARDEN_UPDATE_SCREENSHOTS=1."""
    import os

    from selenium.webdriver.common.by import By

    driver: Any
    for driver in chromium(tmp_path / "profile", width=1200, height=820):
        driver.get(f"{demo.dashboard}/sign-in")
        driver.find_element(By.ID, "api_key").send_keys(demo.key)
        driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-in'] button").click()
        wait_for(driver, lambda d: d.current_url.endswith("/ui/today"))
        assert int(driver.find_element(By.ID, "sent-today").text) > 0
        shots = [screenshot(driver, "demo-today")]
        driver.get(f"{demo.dashboard}/attempts?status=blocked")
        first = driver.find_element(By.CSS_SELECTOR, "tbody tr td a")
        first.click()
        wait_for(driver, lambda d: "Policy checks" in d.page_source)
        shots.append(screenshot(driver, "demo-blocked-attempt"))
        if os.environ.get("SENDWARDEN_UPDATE_SCREENSHOTS") == "1":
            README_SHOTS.mkdir(parents=True, exist_ok=True)
            for shot in shots:
                (README_SHOTS / shot.name).write_bytes(shot.read_bytes())
