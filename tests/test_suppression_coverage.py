"""What a suppression covers: sub-addresses of a mailbox, and a subdomain entry (issue 10.7).

An address entry covers its mailbox and every "+tag" sub-address of it, whichever
spelling was entered; the duplicate rule treats "+tag" variants as one mailbox. Mail
still goes to the address as given. A domain entered as a subdomain covers that
subdomain and its subdomains only, and the API says so in `covers`.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.policy import mailbox_key
from tests.support.api_helpers import API, make_campaign, make_lead, send
from tests.support.harness import ApiHarness, AppFactory, smtp_settings
from tests.support.smtp_server import FaultyServer


@pytest.fixture
async def app(api_factory: AppFactory, smtp: FaultyServer) -> ApiHarness:
    return await api_factory(**smtp_settings(smtp))


async def suppress(app: ApiHarness, **target: str) -> dict[str, object]:
    r = await app.client.post(f"{API}/suppression", json=target, headers=app.alice.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def send_to(app: ApiHarness, address: str, subject: str = "Guest post idea") -> int:
    c = await make_campaign(app.client, app.alice.headers)
    lead = await make_lead(app.client, app.alice.headers, c, address)
    return (await send(app.client, app.alice.headers, c, lead, subject=subject)).status_code


async def test_suppressed_mailbox_covers_its_sub_addresses(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    entry = await suppress(app, email="Editor@x.example")
    assert entry["value"] == "editor@x.example"
    assert "all its sub-addresses (editor+…@x.example)" in str(entry["covers"])

    assert await send_to(app, "editor+tag@x.example") == 403
    assert await send_to(app, "EDITOR+news.letter@x.example") == 403
    assert await send_to(app, "editorial@x.example") == 200  # another mailbox
    assert [m.rcpt_tos for m in smtp.messages] == [("editorial@x.example",)]


async def test_suppressed_sub_address_covers_the_base_mailbox(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    entry = await suppress(app, email="editor+tag@x.example")
    assert entry["value"] == "editor+tag@x.example"  # kept as entered
    assert "the mailbox editor@x.example and all its sub-addresses" in str(entry["covers"])

    assert await send_to(app, "editor@x.example") == 403
    assert await send_to(app, "editor+other@x.example") == 403
    assert smtp.messages == []
    listed = (await app.client.get(f"{API}/suppression", headers=app.alice.headers)).json()
    assert [i["covers"] for i in listed["items"]] == [entry["covers"]]


async def test_duplicate_rule_treats_sub_addresses_as_one_mailbox(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    assert await send_to(app, "editor+a@x.example") == 200
    assert await send_to(app, "editor@x.example") == 403
    assert await send_to(app, "Editor+b@x.example") == 403
    assert await send_to(app, "editor+b@x.example", subject="Another idea") == 200
    # Sent to the address as given, not to the base mailbox.
    assert [m.rcpt_tos for m in smtp.messages] == [
        ("editor+a@x.example",),
        ("editor+b@x.example",),
    ]


async def test_subdomain_suppression_covers_only_that_subdomain(
    app: ApiHarness, smtp: FaultyServer
) -> None:
    entry = await suppress(app, domain="Mail.X.org")
    assert entry["value"] == "mail.x.org"
    covers = str(entry["covers"])
    assert covers.startswith("only mail.x.org and its subdomains; not x.org")

    assert await send_to(app, "a@mail.x.org") == 403
    assert await send_to(app, "a@deep.mail.x.org") == 403
    assert await send_to(app, "a@x.org") == 200
    assert await send_to(app, "a@www.x.org") == 200
    assert len(smtp.messages) == 2

    whole = await suppress(app, domain="x.org")
    assert whole["covers"] == "x.org and all its subdomains"
    assert await send_to(app, "b@www.x.org") == 403
    listed = (await app.client.get(f"{API}/suppression", headers=app.alice.headers)).json()
    assert {i["value"]: i["covers"] for i in listed["items"]} == {
        "mail.x.org": covers,
        "x.org": "x.org and all its subdomains",
    }


async def test_registrable_domain_under_a_public_suffix_is_shown_whole(app: ApiHarness) -> None:
    entry = await suppress(app, domain="news.example.co.uk")
    assert "not example.co.uk" in str(entry["covers"])
    entry = await suppress(app, domain="example.co.uk")
    assert entry["covers"] == "example.co.uk and all its subdomains"


_LOCAL = st.from_regex(r"[a-z0-9][a-z0-9.]{0,10}[a-z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)


@given(_LOCAL, st.from_regex(r"[a-z0-9_+-]{0,12}", fullmatch=True))
def test_mailbox_key_drops_any_sub_address(local: str, tag: str) -> None:
    assert mailbox_key(f"{local.upper()}+{tag}@X.example") == f"{local}@x.example"
    assert mailbox_key(f"{local}@x.example") == f"{local}@x.example"


def test_cli_suppress_add_and_list_say_what_an_entry_covers(sqlite_url: str) -> None:
    import json

    from typer.testing import CliRunner

    from sendwarden.cli.main import app as cli_app

    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(cli_app, ["--database-url", sqlite_url, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    cli("users", "create", "alice")
    added = cli("suppress", "add", "mail.x.org", "--user", "alice")
    assert "Covers only mail.x.org and its subdomains; not x.org" in added
    cli("suppress", "add", "editor+tag@x.example", "--user", "alice")
    listed = json.loads(cli("suppress", "list", "--json", "--user", "alice"))
    assert {i["value"]: i["covers"] for i in listed["items"]} == {
        "mail.x.org": "only mail.x.org and its subdomains; not x.org or its other subdomains"
        " (suppress x.org to cover the whole domain)",
        "editor+tag@x.example": "the mailbox editor@x.example and all its sub-addresses"
        " (editor+…@x.example)",
    }
