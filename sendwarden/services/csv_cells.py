"""CSV cells that spreadsheets show as text instead of running them (CWE-1236).

Exported values come from outside: a lead's address may be `=cmd@example.com`
(a valid local part), and a bounce reason is whatever a remote server wrote.
A cell starting with = + - @ or a tab/CR is a formula to Excel, LibreOffice and
Sheets, so it gets a leading apostrophe, as OWASP recommends. Imports take it
off again, so an exported file re-imports unchanged.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def from_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
