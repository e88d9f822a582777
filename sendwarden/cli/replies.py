"""`sendwarden replies ...`: the answers to a campaign's mail, and correcting their class."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.cli.campaigns import MAX_ID, CampaignOption
from sendwarden.cli.output import print_json, print_page
from sendwarden.cli.state import (
    JsonOption,
    LimitOption,
    OffsetOption,
    UserOption,
    acting_user,
    in_transaction,
)
from sendwarden.inbound.model import ReplyClass
from sendwarden.schemas.inbound import ReplyOut
from sendwarden.services import replies
from sendwarden.services.campaigns import owned_campaign
from sendwarden.services.errors import NotFound
from sendwarden.storage import inbound
from sendwarden.storage.models import Reply

replies_app = typer.Typer(
    help="List a campaign's replies and correct their classification.", no_args_is_help=True
)


def reply_record(reply: Reply) -> dict[str, Any]:
    """The HTTP API's reply, as JSON-ready values."""
    return ReplyOut.from_row(reply).model_dump(mode="json")


@replies_app.command("list")
def list_replies(
    campaign: CampaignOption,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the replies to a campaign's mail, newest first, with their classification."""

    async def work(session: AsyncSession) -> tuple[list[Reply], int]:
        owner = await acting_user(session, user)
        await owned_campaign(session, owner.id, campaign)
        return await inbound.list_replies(
            session, user_id=owner.id, campaign_id=campaign, limit=limit, offset=offset
        )

    rows, total = in_transaction(work)
    print_page(
        [reply_record(r) for r in rows],
        [
            ("ID", "id"),
            ("Received (UTC)", "created_at"),
            ("From", "from_address"),
            ("Subject", "subject"),
            ("Class", "classification"),
            ("Auto class", "auto_classification"),
            ("Lead", "lead_id"),
        ],
        total=total,
        limit=limit,
        offset=offset,
        as_json=as_json,
    )


@replies_app.command("reclassify")
def reclassify(
    reply_id: Annotated[int, typer.Argument(help="Reply ID.", min=1, max=MAX_ID)],
    classification: Annotated[ReplyClass, typer.Argument(help="The reply's correct class.")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct a reply's class (recorded in the audit log).

    Moving a reply away from not_interested or unsubscribe_request lifts the
    suppression it caused; moving it to one of them suppresses the address the
    reply answers.
    """

    async def work(session: AsyncSession) -> tuple[Reply, str]:
        owner = await acting_user(session, user)
        reply = await inbound.get_reply(session, user_id=owner.id, reply_id=reply_id)
        if reply is None:
            raise NotFound(f"reply {reply_id} not found")
        previous = reply.classification
        await replies.reclassify(session, reply, classification, actor_id=owner.id)
        return reply, previous

    reply, previous = in_transaction(work)
    if as_json:
        print_json(reply_record(reply))
    elif previous == reply.classification:
        typer.echo(f"Reply {reply.id} is already {reply.classification}; nothing changed.")
    else:
        typer.echo(f"Reply {reply.id} reclassified from {previous} to {reply.classification}.")


def register(app: typer.Typer) -> None:
    app.add_typer(replies_app, name="replies")
