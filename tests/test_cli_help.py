"""`--help` reads like a Unix tool's: flags take no value, arguments are NAME (item 6)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from sendwarden.cli.main import app

runner = CliRunner()


def command_paths() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk([*path, name], sub)

    walk([], get_command(app))
    return found


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_help_shows_no_bool_type_and_no_brace_placeholders(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    assert not re.search(r"\{[a-z_-]+\}", result.stdout), result.stdout


def test_arguments_are_shown_in_capitals_in_the_usage_line() -> None:
    result = runner.invoke(app, ["users", "create", "--help"], terminal_width=200)
    assert "Usage: sendwarden users create [OPTIONS] NAME" in result.stdout


def test_flags_have_no_type_but_valued_options_do() -> None:
    result = runner.invoke(app, ["validate", "--help"], terminal_width=200)
    json_line = next(line for line in result.stdout.splitlines() if "--json" in line)
    sender_line = next(line for line in result.stdout.splitlines() if "--sender" in line)
    assert "<" not in json_line
    assert "<str>" in sender_line
