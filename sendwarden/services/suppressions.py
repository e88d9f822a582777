"""Suppression list operations shared by the HTTP API, the CLI and inbound processing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import InvalidAddress, address_key, normalize_domain, normalize_email
from sendwarden.services.csv_cells import from_cell, to_cell
from sendwarden.services.errors import Forbidden, InvalidInput
from sendwarden.storage import audit, suppression
from sendwarden.storage.models import Suppression, SuppressionKind, SuppressionSource, User
from sendwarden.webhooks import emit as webhook_events

CSV_COLUMNS = ("kind", "value", "reason", "source", "scope", "created_at")


def parse_target(value: str) -> tuple[SuppressionKind, str]:
    """An address (contains '@') or a domain, normalised for storage and comparison."""
    value = value.strip()
    try:
        if "@" in value.lstrip("@"):
            return SuppressionKind.EMAIL, address_key(normalize_email(value))
        return SuppressionKind.DOMAIN, normalize_domain(value)
    except InvalidAddress as exc:
        raise InvalidInput("email" if "@" in value else "domain", str(exc)) from exc


def owner_for(user: User, scope: str) -> int | None:
    if scope == "global":
        if not user.is_admin:
            raise Forbidden("Only an admin user may add or remove global suppressions")
        return None
    return user.id


async def add(
    session: AsyncSession,
    *,
    user_id: int | None,
    actor_id: int | None,
    kind: SuppressionKind,
    value: str,
    reason: str | None,
    source: SuppressionSource,
    attempt_id: int | None = None,
    evidence: dict[str, object] | None = None,
) -> tuple[Suppression, bool]:
    row, created = await suppression.add(
        session,
        suppression.NewSuppression(
            kind=kind,
            value=value,
            reason=reason,
            source=source.value,
            user_id=user_id,
            attempt_id=attempt_id,
        ),
    )
    if created:
        await webhook_events.suppression(session, "suppression.added", row, actor_id)
        await audit.append(
            session,
            audit.AuditRecord(
                event="suppression_added",
                user_id=actor_id if user_id is None else user_id,
                lead_email=value if kind == SuppressionKind.EMAIL else None,
                reason=reason,
                attempt_id=attempt_id,
                details={
                    "kind": kind.value,
                    "value": value,
                    "source": source.value,
                    "scope": "global" if user_id is None else "user",
                    **(evidence or {}),
                },
            ),
        )
    return row, created


async def remove(
    session: AsyncSession, *, user: User, target: str, scope: str
) -> Suppression | None:
    kind, value = parse_target(target)
    owner = owner_for(user, scope)
    row = await suppression.remove(session, user_id=owner, kind=kind.value, value=value)
    if row is not None:
        await webhook_events.suppression(session, "suppression.removed", row, user.id)
        await audit.append(
            session,
            audit.AuditRecord(
                event="suppression_removed",
                user_id=user.id,
                lead_email=value if kind == SuppressionKind.EMAIL else None,
                details={"kind": kind.value, "value": value, "scope": scope, "source": row.source},
            ),
        )
    return row


@dataclass
class ImportResult:
    added: int = 0
    duplicate: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)


def _decoded_lines(data: bytes) -> Iterator[tuple[int, str | None]]:
    """Yield (line number, text) per line; text is None where the line is not UTF-8."""
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield number, None


def parse_csv(data: bytes) -> Iterator[tuple[int, str | None, str | None, str | None]]:
    """Yield (line, target, reason, error) rows of a suppression CSV.

    Accepted shapes: a header naming an `email`, `domain` or `value` column
    (and optionally `reason`), or headerless rows of `target[,reason]`.
    """
    lines = list(_decoded_lines(data))
    target_col, reason_col = 0, 1
    start = 0
    if lines and lines[0][1] is not None:
        header = [h.strip().lower() for h in next(csv.reader([lines[0][1]]))]
        names = [h for h in ("email", "domain", "value", "address") if h in header]
        if names:
            target_col = header.index(names[0])
            reason_col = header.index("reason") if "reason" in header else -1
            start = 1
    for number, text in lines[start:]:
        if text is None:
            yield number, None, None, "line is not valid UTF-8"
            continue
        if not text.strip():
            continue
        try:
            row = next(csv.reader([text]))
        except csv.Error as exc:
            yield number, None, None, f"malformed CSV: {exc}"
            continue
        if target_col >= len(row) or not row[target_col].strip():
            yield number, None, None, "no email or domain in this row"
            continue
        reason = from_cell(row[reason_col].strip()) if 0 <= reason_col < len(row) else None
        yield number, from_cell(row[target_col].strip()), reason or None, None


async def import_csv(
    session: AsyncSession,
    *,
    user_id: int | None,
    actor_id: int,
    data: bytes,
    default_reason: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    result = ImportResult()
    for number, target, reason, error in parse_csv(data):
        if progress is not None:
            progress(number)
        if error is not None or target is None:
            result.invalid.append((number, _preview(target), error or "invalid row"))
            continue
        try:
            kind, value = parse_target(target)
        except InvalidInput as exc:
            result.invalid.append((number, _preview(target), exc.message))
            continue
        _, created = await add(
            session,
            user_id=user_id,
            actor_id=actor_id,
            kind=kind,
            value=value,
            reason=reason or default_reason,
            source=SuppressionSource.IMPORT,
        )
        if created:
            result.added += 1
        else:
            result.duplicate += 1
    return result


def _preview(value: str | None) -> str:
    if value is None:
        return ""
    return value if len(value) <= 80 else value[:77] + "..."


def export_rows(rows: Iterable[Suppression]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.kind,
                to_cell(row.value),
                to_cell(row.reason or ""),
                to_cell(row.source),
                "global" if row.user_id is None else "user",
                row.created_at.isoformat(),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
