"""`sendwarden doctor` against real servers: SMTP (STARTTLS+AUTH), Dovecot and DNS (item 3)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner, Result

from sendwarden.cli.main import app
from sendwarden.services.doctor.mail_auth import dkim_record
from tests.support.dns_server import dns_server, txt
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.smtp_server import PASSWORD, USERNAME, Faults, FaultyServer

runner = CliRunner()
DOMAIN = "sender.example"
SELECTOR = "sw1"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SMTP_", "IMAP_", "SENDWARDEN_", "DKIM_", "DATABASE_")):
            monkeypatch.delenv(name)


def pem_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def dkim_pem() -> bytes:
    return pem_key()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[FaultyServer]:
    with FaultyServer(tmp_path / "smtp") as server:
        yield server


def zone(dkim_value: str, *, spf: bool = True, dmarc: bool = True) -> str:
    lines = [txt(f"{SELECTOR}._domainkey.{DOMAIN}", dkim_value)]
    if spf:
        lines.append(txt(DOMAIN, "v=spf1 ip4:127.0.0.1 -all"))
    if dmarc:
        lines.append(txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=quarantine"))
    return "\n".join(lines)


@pytest.fixture
def env(
    tmp_path: Path,
    sqlite_url: str,
    smtp: FaultyServer,
    dovecot_server: DovecotServer,
    dkim_pem: bytes,
) -> dict[str, str]:
    key_path = tmp_path / "dkim.pem"
    key_path.write_bytes(dkim_pem)
    imap = dovecot_server.starttls_config()  # IMAP_PORT other than 993 means STARTTLS
    return {
        "DATABASE_URL": sqlite_url,
        "SMTP_HOST": "localhost",
        "SMTP_PORT": str(smtp.port),
        "SMTP_USER": USERNAME,
        "SMTP_PASS": PASSWORD,
        "SMTP_CA_FILE": str(smtp.ca_file),
        "SMTP_FROM_EMAIL": f"outreach@{DOMAIN}",
        "SMTP_SEND_TIMEOUT": "5",
        "IMAP_HOST": imap.host,
        "IMAP_PORT": str(imap.port),
        "IMAP_USER": imap.username,
        "IMAP_PASS": imap.password,
        "IMAP_CA_FILE": str(imap.ca_file),
        "DKIM_PRIVATE_KEY_PATH": str(key_path),
        "DKIM_SELECTOR": SELECTOR,
        "SENDWARDEN_PUBLIC_URL": "https://sendwarden.sender.example",
    }


def doctor(env: dict[str, str], *args: str) -> tuple[Result, dict[str, Any]]:
    result = runner.invoke(app, ["doctor", "--json", *args], env=env)
    return result, json.loads(result.stdout)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_doctor_all_pass_against_real_servers(env: dict[str, str], dkim_pem: bytes) -> None:
    record = dkim_record(dkim_pem, SELECTOR, DOMAIN)
    with dns_server(zone(record.value)) as nameserver:
        result, report = doctor(env, "--dns", "--nameserver", nameserver)
    assert result.exit_code == 0, result.output
    assert report["ok"] is True
    checks = by_name(report)
    assert all(c["status"] == "ok" for c in checks.values()), checks
    assert {
        "Database",
        "Database schema",
        "SMTP connect",
        "SMTP STARTTLS",
        "SMTP certificate",
        "SMTP AUTH",
        "IMAP login",
        "IMAP folder",
        "DKIM key",
        "Public URL",
        "DNS SPF",
        "DNS DKIM",
        "DNS DMARC",
    } == set(checks)
    assert record.value in checks["DKIM key"]["detail"]  # the record to publish


def assert_fails(
    env: dict[str, str], check: str, fix: str, *args: str
) -> dict[str, dict[str, Any]]:
    result, report = doctor(env, *args)
    assert result.exit_code == 1, result.output
    checks = by_name(report)
    assert checks[check]["status"] == "fail", checks
    assert fix in checks[check]["fix"], checks[check]
    return checks


def test_bad_smtp_password_fails_auth(env: dict[str, str]) -> None:
    checks = assert_fails({**env, "SMTP_PASS": "wrong"}, "SMTP AUTH", "SMTP_PASS")
    assert checks["SMTP certificate"]["status"] == "ok"
    assert "wrong" not in json.dumps(checks)


def test_untrusted_certificate_names_smtp_ca_file(env: dict[str, str], smtp: FaultyServer) -> None:
    smtp.faults = Faults(untrusted_cert=True)
    checks = assert_fails(env, "SMTP certificate", "SMTP_CA_FILE")
    assert checks["SMTP AUTH"]["status"] == "skip"


def test_no_starttls_is_named(env: dict[str, str], smtp: FaultyServer) -> None:
    smtp.faults = Faults(no_starttls=True)
    assert_fails(env, "SMTP STARTTLS", "587")


def test_imap_wrong_folder(env: dict[str, str]) -> None:
    checks = assert_fails({**env, "IMAP_FOLDER": "NoSuchFolder"}, "IMAP folder", "IMAP_FOLDER")
    assert checks["IMAP login"]["status"] == "ok"


def test_imap_wrong_password(env: dict[str, str]) -> None:
    assert_fails({**env, "IMAP_PASS": "nope"}, "IMAP login", "IMAP_PASS")


def test_missing_dkim_key(env: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.pem")
    assert_fails({**env, "DKIM_PRIVATE_KEY_PATH": missing}, "DKIM key", "DKIM_PRIVATE_KEY_PATH")


def test_missing_sqlite_file_is_not_created(env: dict[str, str], tmp_path: Path) -> None:
    fresh = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    assert_fails(fresh, "Database", "sendwarden init")
    assert not (tmp_path / "new.db").exists()


def test_uninitialised_database(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    fresh = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    assert_fails(fresh, "Database schema", "sendwarden init")


def test_missing_public_url(env: dict[str, str]) -> None:
    without = {k: v for k, v in env.items() if k != "SENDWARDEN_PUBLIC_URL"}
    assert_fails(without, "Public URL", "SENDWARDEN_PUBLIC_URL")


def test_dns_records_missing(env: dict[str, str], dkim_pem: bytes) -> None:
    record = dkim_record(dkim_pem, SELECTOR, DOMAIN)
    with dns_server(zone(record.value, spf=False, dmarc=False)) as nameserver:
        checks = assert_fails(env, "DNS SPF", "v=spf1", "--dns", "--nameserver", nameserver)
    assert checks["DNS DMARC"]["status"] == "fail" and "v=DMARC1" in checks["DNS DMARC"]["fix"]
    assert checks["DNS DKIM"]["status"] == "ok"


def test_dns_dkim_record_with_another_key(env: dict[str, str], dkim_pem: bytes) -> None:
    other = dkim_record(pem_key(), SELECTOR, DOMAIN)
    mine = dkim_record(dkim_pem, SELECTOR, DOMAIN)
    with dns_server(zone(other.value)) as nameserver:
        checks = assert_fails(env, "DNS DKIM", mine.value, "--dns", "--nameserver", nameserver)
    assert "another public key" in checks["DNS DKIM"]["detail"]


def test_table_output_names_the_fix(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["doctor"], env={**env, "SMTP_PASS": "wrong"}, terminal_width=200)
    assert result.exit_code == 1
    assert "SMTP AUTH" in result.stdout and "check SMTP_USER and SMTP_PASS" in result.stdout
    assert "1 check(s) failed." in result.stdout
