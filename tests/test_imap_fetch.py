"""IMAP fetching against a real Dovecot (tests/support/dovecot.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendwarden.config import Settings
from sendwarden.inbound.imap import (
    FetchBatch,
    FetchedMessage,
    ImapConfig,
    ImapConfigError,
    ImapError,
    MailboxCursor,
    fetch_new_messages,
)
from tests.support.dovecot import DovecotServer
from tests.support.dovecot import dovecot_server as dovecot_server_fixture  # noqa: F401
from tests.support.dovecot import (  # noqa: F401
    plaintext_only_dovecot_server as plaintext_only_dovecot_server_fixture,
)

_folder_numbers = itertools.count()


def fresh_folder(server: DovecotServer, name: str | None = None) -> str:
    """A new, empty folder so the tests sharing one server do not see each other's mail."""
    folder = name if name is not None else f"test-{next(_folder_numbers)}"
    server.create_folder(folder)
    return folder


def message(n: int) -> bytes:
    return (
        f"From: prospect{n}@example.org\r\nTo: replies@example.com\r\n"
        f"Message-ID: <reply-{n}@example.org>\r\nSubject: Re: hello {n}\r\n\r\nReply {n}\r\n"
    ).encode()


def append_messages(server: DovecotServer, folder: str, numbers: range) -> list[bytes]:
    raws = [message(n) for n in numbers]
    for raw in raws:
        server.append(raw, folder)
    return raws


# --- against Dovecot ---------------------------------------------------------------------


@pytest.mark.imap
async def test_fetch_over_implicit_tls_returns_appended_messages(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    raws = append_messages(dovecot_server, folder, range(2))

    batch = await fetch_new_messages(dovecot_server.config(folder), None)

    assert [m.raw for m in batch.messages] == raws
    assert [m.uid for m in batch.messages] == [1, 2]
    assert batch.uidvalidity == dovecot_server.uidvalidity(folder)
    assert (batch.more_pending, batch.reset) == (False, False)


@pytest.mark.imap
async def test_fetch_over_starttls_returns_appended_messages(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    raws = append_messages(dovecot_server, folder, range(2))
    config = dovecot_server.starttls_config(folder)
    assert not config.uses_implicit_tls

    batch = await fetch_new_messages(config, None)

    assert [m.raw for m in batch.messages] == raws
    assert "Login: user=<replies@example.com>, method=PLAIN" in dovecot_server.log_text()


@pytest.mark.imap
async def test_cursor_advances_and_nothing_is_returned_twice(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    config = dovecot_server.config(folder)
    append_messages(dovecot_server, folder, range(2))

    first = await fetch_new_messages(config, None)
    assert first.next_cursor == MailboxCursor(first.uidvalidity, 2)

    append_messages(dovecot_server, folder, range(2, 3))
    second = await fetch_new_messages(config, first.next_cursor)

    assert [m.uid for m in second.messages] == [3]
    assert second.messages[0].raw == message(2)
    assert second.next_cursor == MailboxCursor(first.uidvalidity, 3)


@pytest.mark.imap
async def test_cursor_at_highest_uid_returns_nothing(dovecot_server: DovecotServer) -> None:
    # `UID n:*` matches the highest UID even when it is below n; it must not come back.
    folder = fresh_folder(dovecot_server)
    config = dovecot_server.config(folder)
    append_messages(dovecot_server, folder, range(3))
    everything = await fetch_new_messages(config, None)

    again = await fetch_new_messages(config, everything.next_cursor)

    assert again.messages == ()
    assert again.more_pending is False
    assert again.next_cursor is None  # keep the stored cursor


@pytest.mark.imap
async def test_more_messages_than_fetch_limit_are_taken_over_successive_polls(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    config = dovecot_server.config(folder, fetch_limit=3)
    raws = append_messages(dovecot_server, folder, range(7))

    batches: list[FetchBatch] = []
    cursor: MailboxCursor | None = None
    for _ in range(3):
        batch = await fetch_new_messages(config, cursor)
        batches.append(batch)
        cursor = batch.next_cursor or cursor

    assert [len(b.messages) for b in batches] == [3, 3, 1]
    assert [b.more_pending for b in batches] == [True, True, False]
    fetched = [m for b in batches for m in b.messages]
    assert [m.uid for m in fetched] == list(range(1, 8))
    assert [m.raw for m in fetched] == raws
    assert (await fetch_new_messages(config, cursor)).messages == ()


@pytest.mark.imap
async def test_limit_argument_overrides_configured_fetch_limit(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    append_messages(dovecot_server, folder, range(3))

    batch = await fetch_new_messages(dovecot_server.config(folder, fetch_limit=50), None, limit=2)

    assert [m.uid for m in batch.messages] == [1, 2]
    assert batch.more_pending is True


@pytest.mark.imap
async def test_uidvalidity_change_resets_and_fetches_from_the_start(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    config = dovecot_server.config(folder)
    raws = append_messages(dovecot_server, folder, range(3))
    before = await fetch_new_messages(config, None)
    assert before.next_cursor is not None

    new_uidvalidity = dovecot_server.reset_uidvalidity(folder)
    after = await fetch_new_messages(config, before.next_cursor)

    assert after.reset is True
    assert after.uidvalidity == new_uidvalidity != before.uidvalidity
    assert [m.raw for m in after.messages] == raws
    assert after.next_cursor == MailboxCursor(new_uidvalidity, 3)


@pytest.mark.imap
async def test_untrusted_certificate_is_refused_when_verifying(
    dovecot_server: DovecotServer,
) -> None:
    without_our_ca = dataclasses.replace(dovecot_server.config(), ca_file=None)

    for config in (
        without_our_ca,
        dataclasses.replace(without_our_ca, port=dovecot_server.imap_port, implicit_tls=None),
    ):
        with pytest.raises(ImapError, match="TLS"):
            await fetch_new_messages(config, None)


@pytest.mark.imap
async def test_untrusted_certificate_is_accepted_when_verification_is_off(
    dovecot_server: DovecotServer,
) -> None:
    folder = fresh_folder(dovecot_server)
    append_messages(dovecot_server, folder, range(1))
    unverified = dataclasses.replace(dovecot_server.config(folder), ca_file=None, verify_tls=False)

    for config in (
        unverified,
        dataclasses.replace(unverified, port=dovecot_server.imap_port, implicit_tls=None),
    ):
        batch = await fetch_new_messages(config, None)
        assert [m.raw for m in batch.messages] == [message(0)]


@pytest.mark.imap
async def test_wrong_password_raises_imap_error_without_the_password(
    dovecot_server: DovecotServer,
) -> None:
    wrong_password = "Wr0ng-s3cret-Pa55"
    config = dataclasses.replace(dovecot_server.config(), password=wrong_password)

    with pytest.raises(ImapError, match="login failed") as raised:
        await fetch_new_messages(config, None)

    assert wrong_password not in str(raised.value)
    assert wrong_password not in repr(raised.value)


@pytest.mark.imap
async def test_folder_with_imap_special_characters_is_fetched_safely(
    dovecot_server: DovecotServer,
) -> None:
    tricky = 'Replies "quoted" (paren) * % \\ back & more'
    folder = fresh_folder(dovecot_server, tricky)
    dovecot_server.append(message(100), "INBOX")
    dovecot_server.append(message(101), folder)

    batch = await fetch_new_messages(dovecot_server.config(folder), None)

    assert [m.raw for m in batch.messages] == [message(101)]


@pytest.mark.imap
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.text(
        alphabet=string.ascii_letters + string.digits + " \"\\()*%&{}[]<>!#$'+,-;=?@^_|",
        min_size=1,
        max_size=16,
    ).filter(lambda n: n.strip() == n and n.upper() != "INBOX")
)
def test_any_folder_name_is_passed_as_one_quoted_argument(
    dovecot_server: DovecotServer, name: str
) -> None:
    folder = f"hyp-{next(_folder_numbers)}-{name}"
    fresh_folder(dovecot_server, folder)
    dovecot_server.append(message(200), folder)

    batch = asyncio.run(fetch_new_messages(dovecot_server.config(folder), None))

    assert [m.raw for m in batch.messages] == [message(200)]


@pytest.mark.imap
@pytest.mark.parametrize("folder", ["Does not exist", 'nope" INBOX', "INBOX.missing*"])
async def test_nonexistent_folder_raises_imap_error(
    dovecot_server: DovecotServer, folder: str
) -> None:
    with pytest.raises(ImapError, match="cannot open IMAP folder"):
        await fetch_new_messages(dovecot_server.config(folder), None)


@pytest.mark.imap
async def test_fetch_never_marks_messages_seen(dovecot_server: DovecotServer) -> None:
    folder = fresh_folder(dovecot_server)
    append_messages(dovecot_server, folder, range(2))

    batch = await fetch_new_messages(dovecot_server.config(folder), None)

    assert len(batch.messages) == 2
    flags = dovecot_server.flags(folder)
    assert flags and all(b"\\Seen" not in f for f in flags.values())


@pytest.mark.imap
async def test_login_is_refused_when_the_server_offers_no_starttls(
    plaintext_only_dovecot_server: DovecotServer,
) -> None:
    server = plaintext_only_dovecot_server
    config = ImapConfig(
        host="127.0.0.1",
        port=server.imap_port,
        username=server.username,
        password=server.password,
        folder="INBOX",
        fetch_limit=10,
        verify_tls=False,
        ca_file=None,
        timeout=10.0,
    )

    with pytest.raises(ImapError, match="STARTTLS") as raised:
        await fetch_new_messages(config, None)

    assert server.password not in str(raised.value)
    assert "Login: user=" not in server.log_text()


# --- pure --------------------------------------------------------------------------------


def imap_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "imap_host": "imap.example.com",
        "imap_user": "replies@example.com",
        "imap_pass": "hunter2-secret",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_config_from_settings_maps_every_imap_setting() -> None:
    config = ImapConfig.from_settings(
        imap_settings(
            imap_port=143,
            imap_folder="Replies",
            imap_fetch_limit=7,
            imap_verify_tls=False,
            imap_ca_file="/etc/ssl/ca.pem",
        )
    )

    assert config.host == "imap.example.com"
    assert (config.port, config.username, config.password) == (
        143,
        "replies@example.com",
        "hunter2-secret",
    )
    assert (config.folder, config.fetch_limit, config.verify_tls) == ("Replies", 7, False)
    assert str(config.ca_file) == "/etc/ssl/ca.pem"
    assert config.uses_implicit_tls is False


def test_port_993_means_implicit_tls() -> None:
    assert ImapConfig.from_settings(imap_settings()).uses_implicit_tls is True


@pytest.mark.parametrize("missing", ["imap_host", "imap_user", "imap_pass"])
def test_config_from_settings_without_host_user_or_pass_is_an_error(missing: str) -> None:
    with pytest.raises(ImapConfigError, match=missing.upper()):
        ImapConfig.from_settings(imap_settings(**{missing: None}))


def test_config_repr_hides_the_password() -> None:
    config = ImapConfig.from_settings(imap_settings())

    assert "hunter2-secret" not in repr(config)


@pytest.mark.parametrize("field", ["folder", "username", "password", "host"])
@pytest.mark.parametrize("bad", ["a\r\nA1 DELETE INBOX", "a\nb", "a\0b"])
def test_config_rejects_line_breaks_and_nul_that_quoting_cannot_protect(
    field: str, bad: str
) -> None:
    config = ImapConfig.from_settings(imap_settings())

    with pytest.raises(ImapConfigError):
        dataclasses.replace(config, **{field: bad})  # type: ignore[arg-type]


async def test_limit_below_one_is_rejected() -> None:
    config = ImapConfig.from_settings(imap_settings())

    with pytest.raises(ValueError, match="limit"):
        await fetch_new_messages(config, None, limit=0)


@given(uids=st.lists(st.integers(1, 10_000), min_size=1, unique=True), validity=st.integers(1))
def test_next_cursor_is_the_highest_uid_of_the_batch(uids: list[int], validity: int) -> None:
    messages = tuple(FetchedMessage(uid, b"") for uid in sorted(uids))
    batch = FetchBatch(validity, messages, more_pending=False, reset=False)

    assert batch.next_cursor == MailboxCursor(validity, max(uids))


def test_empty_batch_after_reset_records_the_new_uidvalidity() -> None:
    assert FetchBatch(9, (), more_pending=False, reset=True).next_cursor == MailboxCursor(9, 0)
    assert FetchBatch(9, (), more_pending=False, reset=False).next_cursor is None


@pytest.mark.parametrize(("uidvalidity", "last_uid"), [(-1, 0), (1, -1)])
def test_negative_cursor_is_rejected(uidvalidity: int, last_uid: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        MailboxCursor(uidvalidity, last_uid)
