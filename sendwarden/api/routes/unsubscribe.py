"""RFC 8058 one-click unsubscribe: no API key, the signed token is the authority."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from sendwarden.api.deps import Session, State
from sendwarden.services import unsubscribe as service

router = APIRouter(tags=["unsubscribe"])

Token = Annotated[str, Path(min_length=10, max_length=1000)]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=html.escape(title), body=body), status_code=status)


@router.get("/u/{token}", response_class=HTMLResponse)
async def confirm_page(token: Token, state: State) -> HTMLResponse:
    """A confirmation page; nothing changes until the button is pressed (link scanners GET)."""
    claim = service.read_token(await state.secret(), token)
    address = html.escape(claim.recipient)
    form = (
        f"<p>Stop all further outreach emails to <strong>{address}</strong>?</p>"
        f'<form method="post" action="/u/{html.escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", form)


@router.post("/u/{token}", response_class=HTMLResponse)
async def one_click(token: Token, state: State, session: Session) -> HTMLResponse:
    """RFC 8058 one-click: suppresses the recipient for the sending user."""
    done = await service.unsubscribe(session, await state.secret(), token)
    return _page(
        "Unsubscribed",
        f"<p>{html.escape(done.recipient)} will receive no further emails from us.</p>",
    )
