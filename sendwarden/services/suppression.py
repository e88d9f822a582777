"""Suppression list operations shared by the HTTP API, the CLI and inbound processing."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.policy import (
    mailbox_key,
    registrable_domain,
)
from sendwarden.services.errors import Forbidden
from sendwarden.services.suppression_rows import parse_target_value
from sendwarden.storage import audit, suppression
from sendwarden.storage.models import Suppression, SuppressionKind, SuppressionSource, User
from sendwarden.webhooks import emit as webhook_events


def parse_target(value: str) -> tuple[SuppressionKind, str]:
    """An address (contains '@') or a domain, normalised for storage and comparison."""
    kind, normalized = parse_target_value(value)
    return SuppressionKind(kind), normalized


def coverage(kind: str, value: str) -> str:
    """What an entry blocks, in words, for the API and CLI to show next to it.

    An address covers its mailbox with every "+tag" sub-address, whichever of them
    was entered. A domain covers itself and its subdomains; entered as a subdomain
    it does NOT cover its parent (registrable) domain or that domain's other
    subdomains: suppress the registrable domain for that.
    """
    if kind == SuppressionKind.EMAIL.value:
        base = mailbox_key(value)
        local, _, domain = base.rpartition("@")
        return f"the mailbox {base} and all its sub-addresses ({local}+…@{domain})"
    registrable = registrable_domain(value)
    if registrable == value:
        return f"{value} and all its subdomains"
    return (
        f"only {value} and its subdomains; not {registrable} or its other subdomains"
        f" (suppress {registrable} to cover the whole domain)"
    )


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
        if evidence:
            row.evidence = json.dumps(evidence, default=str, sort_keys=True)
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
