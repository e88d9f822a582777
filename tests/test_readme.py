"""The README's promises: the two commands first, and every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

from sendwarden.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_demo_and_test_commands() -> None:
    blocks = code_blocks(README.read_text())
    first, second = blocks[0][1].strip(), blocks[1][1].strip()
    assert first.endswith("pip install -e . && sendwarden demo")
    assert second.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    second = code_blocks(README.read_text())[1][1].strip()
    command = second.split("&& ", 2)[-1]  # after creating and activating the virtualenv
    ci = (README.parent / ".ci" / "run").read_text()
    assert command in ci


def test_readme_documents_every_setting() -> None:
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - documented == set()
    assert documented - expected == set()
