"""GET /bounces, GET /sender-incidents and suppression evidence (issue 11 item 5), fed by
real DSNs through a real Dovecot poll."""

from __future__ import annotations

from tests.support.api_helpers import API
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.harness import ApiHarness
from tests.test_inbound_polling import app, dsn, folder, poll, sent_to  # noqa: F401


async def fill(harness: ApiHarness, dovecot: DovecotServer, mailbox_folder: str) -> dict[str, str]:
    gone = await sent_to(harness, "gone@hard.example")
    full = await sent_to(harness, "full@soft.example")
    strict = await sent_to(harness, "fine@strict.example")
    dovecot.append(dsn(gone, "5.1.1", "550 5.1.1 User unknown", ident="v-hard"), mailbox_folder)
    dovecot.append(
        dsn(full, "4.2.2", "452 4.2.2 Mailbox full", ident="v-soft", action="delayed"),
        mailbox_folder,
    )
    dovecot.append(
        dsn(strict, "5.7.1", "550 5.7.1 Rejected: poor sender reputation", ident="v-inc"),
        mailbox_folder,
    )
    while (await poll(harness, dovecot, mailbox_folder)).more_pending:
        pass
    return {"hard": gone.message_id, "soft": full.message_id, "incident": strict.message_id}


async def get(harness: ApiHarness, path: str, **params: str) -> dict[str, object]:
    r = await harness.client.get(f"{API}{path}", params=params, headers=harness.alice.headers)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def test_bounces_list_shows_match_status_and_why(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    ids = await fill(app, dovecot_server, folder)
    page = await get(app, "/bounces")
    assert page["total"] == 2
    items = {i["classification"]: i for i in page["items"]}  # type: ignore[attr-defined]
    hard = items["hard"]
    assert (hard["recipient"], hard["status"], hard["message_id"], hard["source"]) == (
        "gone@hard.example",
        "5.1.1",
        ids["hard"],
        "dsn",
    )
    assert (
        "User unknown" in hard["diagnostic"] and hard["attempt_id"] and hard["inbound_message_id"]
    )
    assert "hard bounce" in hard["explanation"]
    assert "temporary failure number 1" in items["soft"]["explanation"]
    assert (await get(app, "/bounces", kind="soft"))["total"] == 1
    assert (await get(app, "/bounces", status="5.1"))["total"] == 1
    assert (await get(app, "/bounces", recipient="gone@hard.example"))["total"] == 1
    assert (await get(app, "/bounces", recipient="soft.example"))["total"] == 1
    assert (await get(app, "/bounces", since="2999-01-01T00:00:00"))["total"] == 0
    assert (await get(app, "/bounces", limit="1", offset="1"))["items"].__len__() == 1  # type: ignore[attr-defined]


async def test_sender_incidents_list_shows_the_refusal(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    ids = await fill(app, dovecot_server, folder)
    page = await get(app, "/sender-incidents")
    [item] = page["items"]  # type: ignore[misc]
    assert (item["recipient"], item["status"], item["message_id"]) == (
        "fine@strict.example",
        "5.7.1",
        ids["incident"],
    )
    assert "reputation" in item["diagnostic"] and "not suppressed" in item["explanation"]
    assert (await get(app, "/sender-incidents", recipient="strict.example"))["total"] == 1
    assert (await get(app, "/sender-incidents", status="4"))["total"] == 0


async def test_bounces_and_incidents_are_scoped_to_the_user(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    await fill(app, dovecot_server, folder)
    for path in ("/bounces", "/sender-incidents"):
        r = await app.client.get(f"{API}{path}", headers=app.bob.headers)
        assert r.status_code == 200 and r.json()["total"] == 0
        assert (await app.client.get(f"{API}{path}")).status_code == 401


async def test_bad_filters_are_422_naming_the_field(app: ApiHarness) -> None:  # noqa: F811
    for params in ({"status": "x.1"}, {"kind": "medium"}, {"since": "yesterday"}):
        r = await app.client.get(f"{API}/bounces", params=params, headers=app.alice.headers)
        assert r.status_code == 422, (params, r.text)
        assert next(iter(params)) in r.text


async def test_suppression_list_shows_why_an_address_was_suppressed(
    app: ApiHarness,  # noqa: F811
    dovecot_server: DovecotServer,
    folder: str,  # noqa: F811
) -> None:
    ids = await fill(app, dovecot_server, folder)
    page = await get(app, "/suppression")
    [entry] = page["items"]  # type: ignore[misc]
    assert entry["email"] == "gone@hard.example" and entry["source"] == "bounce"
    evidence = entry["evidence"]
    assert evidence["status"] == "5.1.1" and evidence["classification"] == "hard"
    assert evidence["message_id"] == ids["hard"] and evidence["via"] == "dsn"
    assert evidence["inbound_message_id"]
