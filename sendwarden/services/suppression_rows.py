"""Checking suppression import lines: the CPU-heavy part of a bulk import.

Pure functions of their arguments that import no database code, so a batch of
lines can be checked in a helper process (services.cpu_pool) while the
server's event loop goes on: email-validator costs ~25 us a row, and a
million rows in the loop's own thread starve every other request of the GIL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sendwarden.policy.addresses import (
    InvalidAddress,
    address_key,
    allow_test_domains,
    mailbox_of_key,
    normalize_domain,
    normalize_email,
    test_domains_allowed,
)
from sendwarden.services.errors import InvalidInput
from sendwarden.services.suppression_csv import Columns, CsvRow, RawLine, parse_line

EMAIL = "email"
DOMAIN = "domain"


class Checked(NamedTuple):
    """A row ready to store (kind set), or an invalid line (kind None, error set)."""

    line: int
    kind: str | None
    value: str | None  # the normalised target; as given for an invalid line
    mailbox: str | None
    reason: str | None
    error: str | None


def parse_target_value(value: str) -> tuple[str, str]:
    """(kind, normalised value) of an address (contains '@') or a domain."""
    value = value.strip()
    try:
        if "@" in value.lstrip("@"):
            return EMAIL, address_key(normalize_email(value))
        return DOMAIN, normalize_domain(value)
    except InvalidAddress as exc:
        raise InvalidInput("email" if "@" in value else "domain", str(exc)) from exc


def check_row(row: CsvRow) -> Checked:
    if row.error is not None or row.target is None:
        return Checked(row.line, None, row.target, None, None, row.error or "invalid row")
    try:
        kind, value = parse_target_value(row.target)
    except InvalidInput as exc:
        return Checked(row.line, None, row.target, None, None, exc.message)
    mailbox = mailbox_of_key(value) if kind == EMAIL else None
    return Checked(row.line, kind, value, mailbox, row.reason, None)


def check_lines(
    lines: Sequence[RawLine], columns: Columns, test_domains: bool
) -> tuple[list[Checked], bool]:
    """The lines' rows in order (blank lines skipped), and whether any had content.

    `test_domains` carries the server's SENDWARDEN_ALLOW_TEST_DOMAINS into a
    helper process, whose module state starts at the default.
    """
    if test_domains_allowed() != test_domains:
        allow_test_domains(test_domains)
    checked: list[Checked] = []
    for line in lines:
        row = parse_line(line, columns)
        if row is not None:
            checked.append(check_row(row))
    return checked, bool(checked)
