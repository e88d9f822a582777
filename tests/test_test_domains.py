"""`.test` addresses: refused by default, accepted with SENDWARDEN_ALLOW_TEST_DOMAINS (item 8)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from sendwarden.api.app import API_PREFIX
from sendwarden.cli.main import app
from sendwarden.policy import InvalidAddress, normalize_email
from sendwarden.policy.addresses import allow_test_domains, normalize_domain
from tests.support.harness import open_harness

runner = CliRunner()
STAGING = "qa-inbox@staging.test"


@pytest.fixture(autouse=True)
def refused_again_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)
    yield
    allow_test_domains(False)


def test_test_domains_are_refused_by_default() -> None:
    with pytest.raises(InvalidAddress, match="special-use"):
        normalize_email(STAGING)
    with pytest.raises(InvalidAddress):
        normalize_domain("staging.test")


def test_allowing_test_domains_accepts_them_and_only_them() -> None:
    allow_test_domains(True)
    assert normalize_email(STAGING) == STAGING
    assert normalize_domain("@Staging.TEST") == "staging.test"
    for other in ("a@box.local", "a@box.invalid", "a@localhost"):
        with pytest.raises(InvalidAddress):
            normalize_email(other)


def test_refusing_again_forgets_memoised_acceptances() -> None:
    allow_test_domains(True)
    normalize_email(STAGING)
    allow_test_domains(False)
    with pytest.raises(InvalidAddress):
        normalize_email(STAGING)


def validate(url: str, allowed: str | None) -> tuple[int, str]:
    env = {"SMTP_FROM_EMAIL": "outreach@sender.example"}
    if allowed is not None:
        env["SENDWARDEN_ALLOW_TEST_DOMAINS"] = allowed
    runner.invoke(app, ["--database-url", url, "users", "create", "qa"], env=env)
    result = runner.invoke(app, ["--database-url", url, "validate", STAGING, "--json"], env=env)
    return result.exit_code, result.output


def test_cli_refuses_a_test_recipient_without_the_setting(sqlite_url: str) -> None:
    code, output = validate(sqlite_url, None)
    assert code == 1 and "special-use" in output


def test_cli_checks_a_test_recipient_with_the_setting(sqlite_url: str) -> None:
    code, output = validate(sqlite_url, "true")
    assert code == 0, output
    assert '"allowed": true' in output and STAGING in output


@pytest.mark.parametrize("allowed", [False, True])
async def test_api_follows_the_setting(sqlite_url: str, allowed: bool) -> None:
    async with open_harness(sqlite_url, sendwarden_allow_test_domains=allowed) as api:
        response = await api.client.post(
            f"{API_PREFIX}/policy/validate",
            json={"recipient_email": STAGING},
            headers=api.alice.headers,
        )
    assert response.status_code == (200 if allowed else 422), response.text
