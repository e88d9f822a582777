"""What a fresh clone shows a newcomer matches reality (issue 13 item 5)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sendwarden.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def env_example_names() -> list[str]:
    text = (ROOT / ".env.example").read_text()
    return re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M)


def test_env_example_lists_every_setting_once() -> None:
    names = env_example_names()
    expected = {name.upper() for name in Settings.model_fields}
    assert set(names) - expected == set(), "unknown settings in .env.example"
    assert expected - set(names) == set(), "settings missing from .env.example"


def test_env_example_loads_as_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper() in {n.upper() for n in Settings.model_fields}:
            monkeypatch.delenv(name)  # only the file counts
    loaded = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert loaded.smtp_host == "smtp.example.com" and loaded.smtp_port == 587
    assert loaded.sendwarden_allow_test_domains is False


def test_license_is_mit_as_pyproject_says() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2026 Sendwarden contributors" in license_text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}


def test_readme_dev_smtp_sample_matches_what_dev_smtp_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("$ sendwarden dev-smtp --dir ./mail\n", 1)[1].split("```", 1)[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "sendwarden.cli", "dev-smtp", "--dir", "./mail", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    try:
        for line in process.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    real_dir = str((tmp_path / "mail").resolve())
    normalised = [
        re.sub(r"(127\.0\.0\.1:|SMTP_PORT=)\d+", r"\g<1>2525", line).replace(
            real_dir, "/path/to/mail"
        )
        for line in printed
    ]
    assert normalised == sample.strip("\n").splitlines()
