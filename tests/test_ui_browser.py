"""The dashboard in real headless Chromium against a real `sendwarden serve`.

One server per module (SQLite, a local STARTTLS+AUTH capture server for the sends);
users: `demo` with ordinary data, `mallory` whose every free-text field carries a
script payload, `carol` with nothing, `dana` for the tests that change things.
Screenshots of every page go to test-output/screenshots/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sendwarden.devsmtp.server import CaptureServer
from sendwarden.storage import users
from sendwarden.storage.db import Database
from tests.support import databases
from tests.support.api_helpers import API
from tests.support.browser import (
    chromium,
    foreign_requests,
    requested_urls,
    require_browser,
    screenshot,
)
from tests.support.live_server import LiveServer, live_env
from tests.support.ui_seed import Seeded, seed_dashboard, timezone_away_from_midnight

PAGES = {
    "today": "/ui/today",
    "attempts": "/ui/attempts",
    "suppression": "/ui/suppression",
    "inbox": "/ui/inbox",
    "audit": "/ui/audit",
    "campaigns": "/ui/campaigns",
}


@dataclass
class Account:
    user_id: int
    key: str
    seeded: Seeded | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class Site:
    base_url: str
    db_url: str
    accounts: dict[str, Account]


async def _make_accounts(base_url: str, db_url: str) -> dict[str, Account]:
    database = Database(db_url)
    accounts: dict[str, Account] = {}
    try:
        async with database.transaction() as session:
            for name in ("demo", "mallory", "carol", "dana"):
                user = await users.create_user(session, name)
                issued = await users.issue_key(session, user, "browser")
                accounts[name] = Account(user.id, issued.plaintext)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            for name, hostile in (("demo", False), ("mallory", True), ("dana", False)):
                account = accounts[name]
                account.seeded = await seed_dashboard(
                    client, database, account.headers, account.user_id, marker=name, hostile=hostile
                )
    finally:
        await database.dispose()
    return accounts


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    root = tmp_path_factory.mktemp("ui-browser")
    db_url = databases.fresh_sqlite(root)
    with CaptureServer(root / "smtp") as smtp:
        env = live_env(db_url, smtp, SENDWARDEN_TIMEZONE=timezone_away_from_midnight())
        with LiveServer(env, workdir=root / "server") as server:
            accounts = asyncio.run(_make_accounts(server.base_url, db_url))
            yield Site(server.base_url, db_url, accounts)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    yield from chromium(tmp_path / "profile")


def sign_in(driver: Any, site: Site, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{site.base_url}/ui/sign-in")
    driver.find_element(By.ID, "api_key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/sign-in'] button").click()
    wait_for(driver, lambda d: d.current_url.endswith("/ui/today"))


def wait_for(driver: Any, condition: Any, timeout: float = 15) -> Any:
    """Poll `condition` while the page may still be navigating.

    An element found on the old page may be gone by the time it is read: Selenium
    reports that as a stale element, but chromedriver sometimes only as an
    inspector error ("does not belong to the document") or an unloaded document;
    all of these mean "not yet", and any other error still fails the test.
    """
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.support.ui import WebDriverWait

    navigating = ("does not belong to the document", "document unloaded", "No node with given id")

    def settled(d: Any) -> Any:
        try:
            return condition(d)
        except (NoSuchElementException, StaleElementReferenceException):
            return False
        except WebDriverException as exc:
            if any(text in str(exc.msg) for text in navigating):
                return False
            raise

    return WebDriverWait(driver, timeout).until(settled)


def h1(driver: Any) -> str:
    """The page's first heading, read in one step so a navigation cannot split it."""
    text = driver.execute_script(
        "var h = document.querySelector('h1'); return h ? h.innerText : null;"
    )
    if text is None:
        from selenium.common.exceptions import NoSuchElementException

        raise NoSuchElementException("no h1 on the page yet")
    return str(text).strip()


def submit(driver: Any, form_css: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"{form_css} button[type=submit]").click()


def api_allows(site: Site, account: Account, email: str) -> bool:
    r = httpx.post(
        f"{site.base_url}{API}/policy/validate",
        json={"recipient_email": email},
        headers=account.headers,
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["allowed"])


def test_sign_in_and_sign_out(browser: Any, site: Site) -> None:
    key = site.accounts["demo"].key
    browser.get(f"{site.base_url}/ui/today")
    assert browser.current_url.endswith("/ui/sign-in") and h1(browser) == "Sign in"
    screenshot(browser, "sign-in")
    sign_in(browser, site, key)
    assert h1(browser) == "Today"
    cookies = {c["name"]: c for c in browser.get_cookies()}
    session = cookies["sw_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert all(
        key not in c["value"] and key.split("_", 2)[2] not in c["value"] for c in cookies.values()
    )
    assert browser.execute_script("return document.cookie") == ""  # nothing readable by scripts
    assert key not in browser.current_url
    submit(browser, "form[action='/ui/sign-out']")
    wait_for(browser, lambda d: d.current_url.endswith("/ui/sign-in"))
    browser.get(f"{site.base_url}/ui/attempts")
    assert browser.current_url.endswith("/ui/sign-in")


def test_wrong_key_shows_an_error_and_no_session(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{site.base_url}/ui/sign-in")
    browser.find_element(By.ID, "api_key").send_keys("sw_notakey_reallynot")
    submit(browser, "form[action='/ui/sign-in']")
    wait_for(browser, lambda d: "unknown or revoked" in d.page_source)
    assert "sw_session" not in {c["name"] for c in browser.get_cookies()}


def test_every_page_renders_with_data(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    account = site.accounts["demo"]
    assert account.seeded is not None
    sign_in(browser, site, account.key)
    for name, path in PAGES.items():
        browser.get(site.base_url + path)
        assert "Sendwarden" in browser.title, name
        assert not browser.find_elements(By.CSS_SELECTOR, "p.empty") or name == "today", name
        screenshot(browser, name)
    browser.get(f"{site.base_url}/ui/today")
    assert browser.find_element(By.ID, "sent-today").text == "1"
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) == 2
    details = {
        "attempt-blocked": f"/ui/attempts/{account.seeded.blocked_attempt}",
        "attempt-unknown": f"/ui/attempts/{account.seeded.unknown_attempt}",
        "campaign": f"/ui/campaigns/{account.seeded.campaign_id}",
    }
    for name, path in details.items():
        browser.get(site.base_url + path)
        screenshot(browser, name)
    browser.get(site.base_url + details["attempt-unknown"])
    assert browser.find_element(By.CSS_SELECTOR, "button[value=failed]").is_displayed()


def test_every_page_renders_empty(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, site, site.accounts["carol"].key)
    for name, path in PAGES.items():
        browser.get(site.base_url + path)
        empties = browser.find_elements(By.CSS_SELECTOR, "p.empty")
        assert empties and all(e.is_displayed() for e in empties), name
        screenshot(browser, f"{name}-empty")
    browser.get(f"{site.base_url}/ui/today")
    assert "sendwarden demo" in browser.find_element(By.CSS_SELECTOR, "p.empty").text


def test_phone_width_has_no_sideways_scrolling(tmp_path: Path, site: Site) -> None:
    for driver in chromium(tmp_path / "phone", width=390, height=844):
        sign_in(driver, site, site.accounts["demo"].key)
        for name, path in PAGES.items():
            driver.get(site.base_url + path)
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            wide = driver.execute_script(
                "return [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1"
                " && !e.closest('.scroll'))"
                ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
            )
            assert overflow <= 1, f"{name} scrolls sideways by {overflow}px: {wide}"
            screenshot(driver, f"{name}-phone")


def test_keyboard_reaches_the_navigation_and_the_forms(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    sign_in(browser, site, site.accounts["demo"].key)
    browser.get(f"{site.base_url}/ui/suppression")
    focused: list[str] = []
    for _ in range(25):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        element = browser.switch_to.active_element
        focused.append(element.get_attribute("href") or element.get_attribute("id") or "")
    assert any(f.endswith("/ui/inbox") for f in focused)
    assert "target" in focused and "reason" in focused


def _assert_nothing_ran(driver: Any, where: str) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return window.__xss === undefined"), where
    # A payload that ran would have replaced the whole title with "pwned".
    assert driver.title != "pwned" and driver.title.endswith("Sendwarden"), where
    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        pass
    else:  # pragma: no cover - only when an alert opened
        raise AssertionError(f"an alert opened on {where}")


def test_planted_script_payloads_never_execute(browser: Any, site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    account = site.accounts["mallory"]
    assert account.seeded is not None
    sign_in(browser, site, account.key)
    # CSV contents too: a payload as the reason of an imported row.
    csv_file = tmp_path / "hostile.csv"
    csv_file.write_text(
        'email,reason\ncsv@hostile.example,"<img src=x onerror=""window.__xss=1"">"\n'
    )
    browser.get(f"{site.base_url}/ui/suppression")
    browser.find_element(By.CSS_SELECTOR, "#import-suppression input[type=file]").send_keys(
        str(csv_file)
    )
    submit(browser, "#import-suppression")
    wait_for(browser, lambda d: "1 added" in d.page_source)
    seeded = account.seeded
    paths = [
        *PAGES.values(),
        f"/ui/attempts/{seeded.sent_attempt}",
        f"/ui/attempts/{seeded.blocked_attempt}",
        f"/ui/attempts/{seeded.unknown_attempt}",
        f"/ui/campaigns/{seeded.campaign_id}",
        "/ui/suppression?q=" + "%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
        "/ui/attempts?recipient=%22%3E%3Cimg+src%3Dx+onerror%3Dwindow.__xss%3D1%3E",
    ]
    for path in paths:
        browser.get(site.base_url + path)
        _assert_nothing_ran(browser, path)
    browser.get(f"{site.base_url}/ui/inbox")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "<script>window.__xss=1" in body  # shown as text, not run
    screenshot(browser, "inbox-hostile")
    browser.get(f"{site.base_url}/ui/suppression?flash=%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E")
    _assert_nothing_ran(browser, "forged flash message")


def test_suppression_added_in_the_ui_makes_the_next_api_send_403(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    account = site.accounts["dana"]
    assert account.seeded is not None
    email = account.seeded.lead_emails[0]
    sign_in(browser, site, account.key)
    browser.get(f"{site.base_url}/ui/suppression")
    browser.find_element(By.ID, "target").send_keys(email)
    browser.find_element(By.ID, "reason").send_keys("asked on the phone")
    submit(browser, "#add-suppression")
    wait_for(browser, lambda d: f"Suppressed {email}" in d.page_source)
    r = httpx.post(
        f"{site.base_url}{API}/outreach/send",
        json={
            "campaign_id": account.seeded.campaign_id,
            "lead_id": account.seeded.lead_ids[0],
            "subject": "A new idea",
            "body": "Hello again.\n",
        },
        headers=account.headers,
    )
    assert r.status_code == 403, r.text
    assert "suppress" in r.json()["reason"].lower()
    screenshot(browser, "suppression-added")


def test_reclassifying_a_reply_lifts_its_suppression(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    account = site.accounts["demo"]
    assert account.seeded is not None
    email = account.seeded.lead_emails[0]
    form = f"form[action='/ui/replies/{account.seeded.reply_id}/reclassify']"
    sign_in(browser, site, account.key)
    for cls, allowed in (("not_interested", False), ("interested", True)):
        browser.get(f"{site.base_url}/ui/inbox")
        Select(browser.find_element(By.CSS_SELECTOR, f"{form} select")).select_by_value(cls)
        submit(browser, form)
        wait_for(browser, lambda d, c=cls: f"is now {c}" in d.page_source)
        assert api_allows(site, account, email) is allowed, cls


def test_csv_import_through_the_page(browser: Any, site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    account = site.accounts["carol"]
    rows = "".join(f"bulk{i}@import{i % 7}.example,list {i}\n" for i in range(300))
    csv_file = tmp_path / "suppression.csv"
    csv_file.write_text("email,reason\n" + rows + "broken-row@\n")
    sign_in(browser, site, account.key)
    browser.get(f"{site.base_url}/ui/suppression")
    browser.find_element(By.CSS_SELECTOR, "#import-suppression input[type=file]").send_keys(
        str(csv_file)
    )
    submit(browser, "#import-suppression")
    wait_for(browser, lambda d: "300 added" in d.page_source)
    assert "1 rows skipped" in browser.page_source and "line 302" in browser.page_source
    screenshot(browser, "suppression-imported")
    assert not api_allows(site, account, "bulk5@import5.example")
    # Leads too, on a campaign made in the page.
    browser.get(f"{site.base_url}/ui/campaigns")
    browser.find_element(By.ID, "name").send_keys("Imported in the browser")
    submit(browser, "form[action='/ui/campaigns']")
    wait_for(browser, lambda d: "Campaign created" in d.page_source)
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "website_url,contact_email,contact_name\n"
        "https://one.example/post,ed@one.example,Ed\nhttps://two.example/,,\nnot a url,,\n"
    )
    browser.find_element(By.CSS_SELECTOR, "#import-leads input[type=file]").send_keys(str(leads))
    submit(browser, "#import-leads")
    wait_for(browser, lambda d: "2 added" in d.page_source)
    assert "https://one.example/post" in browser.page_source and "line 4" in browser.page_source


def test_forms_with_a_missing_or_wrong_csrf_token_are_refused(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    account = site.accounts["carol"]
    sign_in(browser, site, account.key)
    for tamper, target in (
        ("el.value = 'forged'", "csrf-wrong@victim.example"),
        ("el.remove()", "csrf-missing@victim.example"),
    ):
        browser.get(f"{site.base_url}/ui/suppression")
        browser.execute_script(
            f"var el = document.querySelector('#add-suppression input[name=csrf_token]'); {tamper};"
        )
        browser.find_element(By.ID, "target").send_keys(target)
        submit(browser, "#add-suppression")
        wait_for(browser, lambda d: h1(d) == "Form refused")
        assert api_allows(site, account, target)


def test_docs_and_redoc_render_offline(browser: Any, site: Site) -> None:
    from selenium.webdriver.common.by import By

    requested_urls(browser)  # drop what came before
    browser.get(f"{site.base_url}/docs")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-tag"))
    assert "Sendwarden" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    screenshot(browser, "docs")
    urls = requested_urls(browser)
    assert any(u.endswith("/openapi.json") for u in urls)
    assert not foreign_requests(urls, site.base_url)
    browser.get(f"{site.base_url}/redoc")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".api-content h1"))
    screenshot(browser, "redoc")
    assert not foreign_requests(requested_urls(browser), site.base_url)


def test_dashboard_pages_request_nothing_from_another_host(browser: Any, site: Site) -> None:
    sign_in(browser, site, site.accounts["demo"].key)
    requested_urls(browser)
    for path in PAGES.values():
        browser.get(site.base_url + path)
    urls = requested_urls(browser)
    assert any(u.endswith("/ui/static/ui.css") for u in urls)
    assert not foreign_requests(urls, site.base_url)
