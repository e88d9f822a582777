"""ARCHITECTURE.md names files that exist, and answers each newcomer question with one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "ARCHITECTURE.md").read_text()
PATH = re.compile(r"`((?:sendwarden/|tests/)?[a-z_/]+\.py)")
LAYERS = ("api", "cli", "schemas", "services", "policy", "storage", "transport", "inbound")


def _resolve(name: str) -> Path:
    if name.startswith(("sendwarden/", "tests/")):
        return ROOT / name
    if name.split("/", 1)[0] in LAYERS:
        return ROOT / "sendwarden" / name
    return ROOT / "sendwarden" / name  # tls.py, mailformat.py


def test_every_file_the_map_names_exists() -> None:
    named = set(PATH.findall(MAP))
    assert len(named) > 40
    missing = sorted(name for name in named if not _resolve(name).is_file())
    assert not missing, missing


def test_each_newcomer_question_has_one_file_that_exists() -> None:
    rows = re.findall(r"^\| (Where [^|]+\?) \| `([^`]+)` \|$", MAP, flags=re.M)
    assert len(rows) == 8, rows
    for question, answer in rows:
        assert (ROOT / answer).is_file(), (question, answer)


def test_the_readme_links_the_map() -> None:
    assert "(ARCHITECTURE.md)" in (ROOT / "README.md").read_text()
