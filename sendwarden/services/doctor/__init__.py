"""`sendwarden doctor`: the configuration checked end to end, one result per check.

Each check reports `ok`, `fail` (with the fix) or `skip` (a feature left off, or a
step not reached because an earlier one failed). Nothing is sent and nothing is
written: SMTP stops after AUTH, IMAP opens the folder read-only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def skip(name: str, detail: str, fix: str | None = None) -> Check:
    return Check(name, "skip", detail, fix)


def not_reached(*names: str) -> list[Check]:
    return [skip(name, "not checked: an earlier step failed") for name in names]


def all_passed(checks: list[Check]) -> bool:
    return all(check.status != "fail" for check in checks)
