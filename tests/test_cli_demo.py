"""`sendwarden demo` and `sendwarden dev-smtp` as real processes, with an empty environment."""

from __future__ import annotations

import mailbox
import os
import re
import signal
import smtplib
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from sendwarden.api.app import API_PREFIX

DEMO_TIMEOUT = 60


def bare_env(tmp_path: Path) -> dict[str, str]:
    """Nothing but PATH and HOME: no DATABASE_URL, no SMTP_*, no SENDWARDEN_*."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "COLUMNS": "200"}


def sendwarden(*args: str) -> list[str]:
    return [sys.executable, "-m", "sendwarden.cli.main", *args]


def test_demo_runs_with_no_configuration(tmp_path: Path) -> None:
    # A .env with nonsense in the working directory must not matter either.
    (tmp_path / ".env").write_text("DATABASE_URL=postgresql://nobody@127.0.0.1:1/x\nSMTP_PORT=1\n")
    started = time.monotonic()
    result = subprocess.run(
        sendwarden("demo", "--dir", "tmp"),
        cwd=tmp_path,
        env=bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < DEMO_TIMEOUT
    out = result.stdout
    rows = [line for line in out.splitlines() if re.match(r"^│ \d+ ", line)]
    assert len(rows) == 7, out
    by_recipient = {row.split("│")[2].strip(): row for row in rows[:6]}
    assert " EU " in by_recipient["editor@beispiel-verlag.de"]
    assert " UK " in by_recipient["desk@example-news.co.uk"]
    assert " US " in by_recipient["editor@example-blog.com"]
    assert "legitimate_interest" in by_recipient["editor@example-blog.com"]
    assert "consent" in by_recipient["desk@example-news.co.uk"]
    assert "blocked: suppression" in by_recipient["no-thanks@example-shop.com"]
    assert "blocked: daily_domain_cap" in by_recipient["tips@example-blog.com"]
    assert "blocked: idempotency" in rows[6] and "editor@beispiel-verlag.de" in rows[6]
    assert sum("│ sent " in row for row in rows) == 4
    assert "4 sent, 3 blocked" in out

    demo_dir = tmp_path / "tmp"
    assert str(demo_dir / "smtp" / "Maildir") in out
    assert len(list(mailbox.Maildir(demo_dir / "smtp" / "Maildir", create=False))) == 4
    assert len(list((demo_dir / "messages").glob("*.eml"))) == 4
    assert (demo_dir / "sendwarden-demo.db").is_file()
    assert not (tmp_path / "sendwarden.db").exists()
    assert "sw_" not in out  # the API key is only printed with --keep-running

    # The way back: bounce and reply through the inbound path, one click through the API.
    suppressed = {
        row.split("│")[1].strip(): row.split("│")[2].strip()
        for row in out.split("Suppression list", 1)[1].splitlines()
        if re.match(r"^│ \S+@", row)
    }
    assert suppressed == {
        "no-thanks@example-shop.com": "manual",
        "guestposts@example-blog.com": "bounce",
        "desk@example-news.co.uk": "reply",
        "editor@beispiel-verlag.de": "unsubscribe",
    }
    assert "Hard bounce (DSN 5.1.1)" in out and "One-click unsubscribe" in out
    assert "Next steps" in out and "sendwarden dev-smtp" in out and "/docs" in out
    assert (demo_dir / "sendwarden-demo.db").is_file()  # --dir is the user's: kept


def run_demo(tmp_path: Path, *args: str, columns: str = "200") -> str:
    result = subprocess.run(
        sendwarden("demo", *args),
        env={**bare_env(tmp_path), "COLUMNS": columns},
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_demo_removes_its_temporary_directory_unless_keep_dir(tmp_path: Path) -> None:
    out = run_demo(tmp_path)
    removed = re.search(r"Removed (\S+) \(--keep-dir keeps it\)", out)
    assert removed is not None and not Path(removed.group(1)).exists()
    assert "Inspect it:" not in out  # no pointers into the directory it deletes
    kept = run_demo(tmp_path, "--keep-dir")
    directory = re.search(r"Sendwarden demo in (\S+)", kept)
    assert directory is not None and "Removed" not in kept
    assert (Path(directory.group(1)) / "sendwarden-demo.db").is_file()
    assert "Inspect it:" in kept


def test_demo_fits_an_80_column_terminal(tmp_path: Path) -> None:
    out = run_demo(tmp_path, columns="80")
    too_wide = [
        line for line in out.splitlines() if len(line) > 80 and "Inspect it:" not in line
    ]  # the one command to copy is never broken
    assert too_wide == []
    assert "guestposts@example-blog.com" in out  # addresses are not cut short


def test_demo_can_run_again_in_the_same_directory(tmp_path: Path) -> None:
    for _ in range(2):
        result = subprocess.run(
            sendwarden("demo", "--dir", str(tmp_path / "d")),
            env=bare_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert len(list((tmp_path / "d" / "messages").glob("*.eml"))) == 4


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not seen in {lines}")


@pytest.fixture
def popen(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_keep_running_serves_until_interrupted(
    tmp_path: Path, popen: list[subprocess.Popen[str]]
) -> None:
    process = subprocess.Popen(
        sendwarden("demo", "--dir", str(tmp_path / "d"), "--keep-running"),
        env=bare_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    popen.append(process)
    lines = read_until(process, "Press Ctrl-C", DEMO_TIMEOUT)
    url = re.search(r"API: (http://127\.0\.0\.1:\d+)", "\n".join(lines))
    key = next(line for line in lines if line.startswith("sw_"))
    assert url is not None
    response = httpx.get(
        f"{url.group(1)}{API_PREFIX}/campaigns",
        headers={"Authorization": f"Bearer {key}"},
        trust_env=False,
    )
    assert response.status_code == 200 and response.json()["total"] == 1
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    assert process.stdout is not None
    assert "Demo stopped." in process.stdout.read()


def test_dev_smtp_prints_settings_and_logs_each_message(
    tmp_path: Path, popen: list[subprocess.Popen[str]]
) -> None:
    process = subprocess.Popen(
        sendwarden(
            "dev-smtp",
            "--port",
            "0",
            "--dir",
            str(tmp_path / "mail"),
            "--user",
            "dev",
            "--password",
            "s3cret pass",
        ),
        env=bare_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    popen.append(process)
    lines = read_until(process, "Press Ctrl-C", 30)
    exports = dict(
        re.findall(r"export (SMTP_[A-Z_]+)=(.*)$", line)[0] for line in lines if "export " in line
    )
    assert set(exports) == {"SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASS", "SMTP_CA_FILE"}
    assert exports["SMTP_PASS"] == "'s3cret pass'"  # shell-quoted
    context = ssl.create_default_context(cafile=exports["SMTP_CA_FILE"])
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.org", "Hi"
    message.set_content("Hello")
    with smtplib.SMTP(exports["SMTP_HOST"], int(exports["SMTP_PORT"]), timeout=10) as client:
        client.starttls(context=context)
        client.login(exports["SMTP_USER"], "s3cret pass")
        client.send_message(message)
    logged = read_until(process, "received", 10)[-1]
    assert "from=<a@example.com>" in logged and "to=<b@example.org>" in logged
    assert "subject='Hi'" in logged
    assert len(list(mailbox.Maildir(tmp_path / "mail" / "Maildir", create=False))) == 1
    assert str(tmp_path / "mail" / "Maildir") in "\n".join(lines)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
