"""`sendwarden validate`: the policy dry run, recorded in the audit log."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.errors import EXIT_BLOCKED
from sendwarden.cli.output import out, print_fields, print_json, print_table
from sendwarden.cli.state import JsonOption, UserOption, acting_user, in_transaction, settings
from sendwarden.policy import PolicyDecision
from sendwarden.services import policy_check
from sendwarden.services.context import PolicySettings

VALIDATE_FIELDS = (
    "allowed",
    "reason",
    "legal_basis",
    "daily_user_count",
    "daily_user_limit",
    "daily_domain_count",
    "daily_domain_limit",
    "region",
)


def print_checks(checks: list[dict[str, Any]]) -> None:
    print_table(
        ["Check", "Result", "Detail"],
        [(c["name"], "pass" if c["passed"] else "FAIL", c["detail"]) for c in checks],
    )


def validate(
    recipient: Annotated[str, typer.Argument(help="Recipient address to check.")],
    sender: Annotated[
        str | None,
        typer.Option("--sender", help="Requested sender address (alias rules apply)."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject (used by the duplicate rule).")
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dry-run every policy rule for a prospective send and record it in the audit log.

    Exit status: 0 when the send would be allowed, 3 when a rule blocks it,
    1 on errors (e.g. an invalid address).
    """
    policy = PolicySettings.from_settings(settings())
    address = policy_check.parse_recipient(recipient)

    async def work(session: AsyncSession) -> PolicyDecision:
        owner = await acting_user(session, user)
        decision = await policy_check.check(
            session,
            user_id=owner.id,
            recipient=address,
            requested_sender=sender,
            subject=subject,
            consent_recorded=None,
            settings=policy,
        )
        await policy_check.record_validation(session, decision, user_id=owner.id, subject=subject)
        return decision

    payload = policy_check.decision_payload(in_transaction(work))
    if as_json:
        print_json(payload)
    else:
        print_fields(
            [(name, payload[name]) for name in VALIDATE_FIELDS]
            + [("effective_sender_email", payload["effective_sender_email"])],
            title=f"Policy check for {payload['recipient_email']}",
        )
        print_checks(payload["checks"])
        verdict = "ALLOWED" if payload["allowed"] else "BLOCKED"
        out().print(f"[bold]{verdict}[/bold]: {escape(payload['reason'])}")
    if not payload["allowed"]:
        raise typer.Exit(EXIT_BLOCKED)


def register(app: typer.Typer) -> None:
    app.command()(validate)
