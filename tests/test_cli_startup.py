"""The CLI starts without loading the application (issue 13 item 1).

Timing is measured by bench/cli_startup.py; here the structure that makes it fast is
guarded: the heavy libraries are imported only by the commands that use them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "fastapi",
    "sqlalchemy",
    "uvicorn",
    "aiosmtplib",
    "alembic",
    "httpx",
    "dkim",
    "pydantic",
    "email.mime",
    "sendwarden.api",
    "sendwarden.storage",
    "sendwarden.services",
    "sendwarden.transport",
)


def loaded_after(code: str) -> list[str]:
    """The HEAVY modules imported once `code` has run in a fresh interpreter."""
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


RUN_CLI = (
    "from sendwarden.cli.main import app\n"
    "try:\n"
    "    app({args!r}, prog_name='sendwarden')\n"
    "except SystemExit:\n"
    "    pass"
)


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert loaded_after("import sendwarden.cli.main") == []


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_load_no_heavy_module(args: list[str]) -> None:
    assert loaded_after(RUN_CLI.format(args=args)) == []


def test_a_command_loads_what_it_needs() -> None:
    # The probe can fail: the lazy loading really imports the command's module.
    assert "sqlalchemy" in loaded_after(RUN_CLI.format(args=["users", "list", "--help"]))


def test_database_commands_do_not_load_the_transport(tmp_path: Path) -> None:
    # `users list` opens the database and nothing else: the send pipeline, SMTP and DKIM
    # (services.wiring) stay unloaded, which keeps such commands under 0.8 s.
    database = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    args = ["--database-url", database, "users", "list"]
    loaded = loaded_after(RUN_CLI.format(args=args))
    assert "sqlalchemy" in loaded  # it did run against the database
    assert "sendwarden.transport" not in loaded and "dkim" not in loaded
