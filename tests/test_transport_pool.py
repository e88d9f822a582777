"""SmtpPool against a real aiosmtpd server over real sockets (STARTTLS + AUTH)."""

from __future__ import annotations

import asyncio
import email
import pickle
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from email import policy
from pathlib import Path

import pytest

from sendwarden.config import Settings
from sendwarden.transport import pool as pool_module
from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.errors import DeliveryError, TransportConfigError
from sendwarden.transport.message import build_message, message_bytes
from sendwarden.transport.pool import DeliveryReceipt, SmtpPool
from tests.support.smtp_server import PASSWORD, Faults, FaultyServer, running_smtp_server

SENDER = "outreach@example.com"
RECIPIENT = "lead@example.org"


def raw_message(subject: str = "Hello", recipient: str = RECIPIENT) -> bytes:
    return message_bytes(
        build_message(
            sender_email=SENDER,
            sender_name="Outreach",
            recipient_email=recipient,
            subject=subject,
            text_body="Hi there",
        )
    )


async def send(
    pool: SmtpPool, subject: str = "Hello", recipient: str = RECIPIENT
) -> DeliveryReceipt:
    return await pool.send(raw_message(subject, recipient), sender=SENDER, recipients=[recipient])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultyServer]:
    with running_smtp_server(tmp_path) as running:
        yield running


MakePool = Callable[[SmtpConfig], SmtpPool]


@pytest.fixture
async def make_pool() -> AsyncIterator[MakePool]:
    pools: list[SmtpPool] = []

    def make(config: SmtpConfig) -> SmtpPool:
        pool = SmtpPool(config)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


def subjects(server: FaultyServer) -> list[str]:
    return [
        str(email.message_from_bytes(m.raw, policy=policy.default)["Subject"])
        for m in server.messages
    ]


async def test_send_delivers_over_verified_starttls_with_auth(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config())
    raw = raw_message("Exact bytes")

    receipt = await pool.send(raw, sender=SENDER, recipients=[RECIPIENT])

    assert receipt.code == 250
    [captured] = server.wait_for(1)
    assert captured.raw == raw
    assert captured.envelope_from == SENDER
    assert captured.rcpt_tos == (RECIPIENT,)


async def test_pool_reuses_one_connection_for_sequential_sends(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config())

    for i in range(20):
        await send(pool, f"message {i}")

    assert pool.stats.connections_opened == 1
    assert pool.size == 1
    assert len(server.wait_for(20)) == 20


async def test_max_messages_per_connection_rotates_connections(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config(max_messages_per_connection=3))

    for i in range(7):
        await send(pool, f"message {i}")

    assert pool.stats.connections_opened == 3
    assert server.commands_seen("QUIT") == 2  # the two full connections said goodbye
    assert len(server.wait_for(7)) == 7


async def test_concurrent_sends_never_exceed_pool_size(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config(pool_size=3))
    sizes: list[int] = []

    async def send_and_sample(i: int) -> None:
        sizes.append(pool.size)
        await send(pool, f"message {i}")
        sizes.append(pool.size)

    await asyncio.gather(*(send_and_sample(i) for i in range(24)))

    assert max(sizes) <= 3
    assert pool.stats.connections_opened <= 3
    assert pool.stats.connections_opened >= 2  # the sends really overlapped
    assert sorted(subjects(server)) == sorted(f"message {i}" for i in range(24))


async def test_idle_connection_is_checked_with_noop_before_reuse(
    server: FaultyServer, make_pool: MakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "IDLE_CHECK_AFTER_SECONDS", 0.0)
    pool = make_pool(server.config())

    await send(pool, "first")
    await send(pool, "second")

    assert server.commands_seen("NOOP") == 1
    assert pool.stats.connections_opened == 1


async def test_dead_idle_connection_is_replaced(
    tmp_path: Path, make_pool: MakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "IDLE_CHECK_AFTER_SECONDS", 0.0)
    with running_smtp_server(tmp_path, idle_timeout=0.2) as server:
        pool = make_pool(server.config())
        await send(pool, "first")
        await asyncio.sleep(0.5)  # the server hangs up on the idle connection

        await send(pool, "second")

        assert pool.stats.connections_opened == 2
        assert subjects(server) == ["first", "second"]


FAULTS = [
    pytest.param(
        Faults(mail_reply="421 4.3.2 Service shutting down"),
        ("mail", 421, "4.3.2", False),
        id="421-at-mail",
    ),
    pytest.param(
        Faults(rcpt_reply="451 4.3.0 Try again later"),
        ("rcpt", 451, "4.3.0", False),
        id="451-at-rcpt",
    ),
    pytest.param(
        Faults(rcpt_reply="550 5.1.1 <lead@example.org>: No such user"),
        ("rcpt", 550, "5.1.1", True),
        id="550-5.1.1-at-rcpt",
    ),
    pytest.param(
        Faults(rcpt_reply="421 4.7.0 Too many connections"),
        ("rcpt", 421, "4.7.0", False),
        id="421-at-rcpt",
    ),
    pytest.param(
        Faults(data_reply="552 5.3.4 Message size exceeds limit"),
        ("data", 552, "5.3.4", True),
        id="552-at-data",
    ),
    pytest.param(
        Faults(data_reply="554 5.7.1 Rejected as spam"),
        ("data", 554, "5.7.1", True),
        id="554-at-data",
    ),
    pytest.param(
        Faults(data_reply="451 4.7.1 Greylisted"),
        ("data", 451, "4.7.1", False),
        id="451-at-data",
    ),
    pytest.param(Faults(reject_auth=True), ("auth", 535, "5.7.8", True), id="auth-rejected"),
    pytest.param(Faults(drop_during_data=True), ("data", None, None, False), id="dropped-in-data"),
    pytest.param(Faults(no_starttls=True), ("tls", None, None, False), id="no-starttls"),
    pytest.param(Faults(untrusted_cert=True), ("tls", None, None, False), id="untrusted-cert"),
]


@pytest.mark.parametrize(("faults", "expected"), FAULTS)
async def test_smtp_fault_raises_classified_error_and_pool_recovers(
    server: FaultyServer,
    make_pool: MakePool,
    faults: Faults,
    expected: tuple[str, int | None, str | None, bool],
) -> None:
    pool = make_pool(server.config())
    await send(pool, "before")  # a warm connection exists when the fault starts
    server.faults = faults
    await asyncio.sleep(0)

    # Faults at connection set-up only show on a new connection.
    if faults.no_starttls or faults.untrusted_cert or faults.reject_auth:
        await pool.close()
        pool = make_pool(server.config())

    with pytest.raises(DeliveryError) as caught:
        await send(pool, "during fault")

    stage, code, enhanced, permanent = expected
    error = caught.value
    assert (error.stage, error.code, error.enhanced_status, error.permanent) == (
        stage,
        code,
        enhanced,
        permanent,
    )
    assert pool.size == 0  # the failed connection was not returned to the pool

    server.faults = Faults()
    await send(pool, "after")

    assert subjects(server) == ["before", "after"]


async def test_no_starttls_is_refused_and_nothing_is_sent(
    server: FaultyServer, make_pool: MakePool
) -> None:
    server.faults = Faults(no_starttls=True)
    pool = make_pool(server.config())

    with pytest.raises(DeliveryError) as caught:
        await send(pool)

    assert caught.value.stage == "tls"
    assert str(caught.value) == "server does not offer STARTTLS"
    assert server.messages == []


async def test_untrusted_certificate_is_accepted_with_verify_off(
    server: FaultyServer, make_pool: MakePool
) -> None:
    server.faults = Faults(untrusted_cert=True)
    pool = make_pool(server.config(verify_tls=False, ca_file=None))

    await send(pool, "unverified")

    assert subjects(server) == ["unverified"]


async def test_certificate_not_in_default_trust_store_is_refused(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config(ca_file=None))

    with pytest.raises(DeliveryError) as caught:
        await send(pool)

    assert caught.value.stage == "tls"


async def test_timeout_raises_timeout_error_and_pool_recovers(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config(timeout=1.0))
    server.faults = Faults(stall_seconds=3.0)

    with pytest.raises(DeliveryError) as caught:
        await send(pool, "stalled")

    assert caught.value.stage == "timeout"
    assert caught.value.code is None
    assert not caught.value.permanent
    assert str(caught.value) == "timeout during data"
    server.faults = Faults()
    await send(pool, "after")
    assert "after" in subjects(server)


async def test_connection_refused_is_a_connect_error(tmp_path: Path, make_pool: MakePool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with running_smtp_server(tmp_path) as server:
        pool = make_pool(server.config(host="127.0.0.1", port=free_port))

    with pytest.raises(DeliveryError) as caught:
        await send(pool)

    assert caught.value.stage == "connect"


async def test_implicit_tls_like_port_465_works(tmp_path: Path, make_pool: MakePool) -> None:
    with running_smtp_server(tmp_path, implicit_tls=True) as server:
        pool = make_pool(server.config(implicit_tls=True))

        await send(pool, "implicit")
        await send(pool, "implicit again")

        assert subjects(server) == ["implicit", "implicit again"]
        assert pool.stats.connections_opened == 1


async def test_implicit_tls_refuses_untrusted_certificate(
    tmp_path: Path, make_pool: MakePool
) -> None:
    with running_smtp_server(tmp_path, implicit_tls=True) as server:
        pool = make_pool(server.config(implicit_tls=True, ca_file=None))

        with pytest.raises(DeliveryError) as caught:
            await send(pool)

        assert caught.value.stage == "tls"


async def test_idn_and_utf8_recipients_use_a_labels_and_smtputf8(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config())

    await send(pool, "idn", recipient="anna@bücher.de")
    await send(pool, "utf8", recipient="jörg@bücher.de")

    first, second = server.wait_for(2)
    assert first.rcpt_tos == ("anna@xn--bcher-kva.de",)
    assert second.rcpt_tos == ("jörg@xn--bcher-kva.de",)
    received = email.message_from_string(second.raw.decode("utf-8"), policy=policy.default)
    assert received["To"].addresses[0].username == "jörg"


async def test_password_never_appears_in_config_repr_or_error(
    server: FaultyServer, make_pool: MakePool
) -> None:
    config = server.config()
    server.faults = Faults(reject_auth=True)
    pool = make_pool(config)

    with pytest.raises(DeliveryError) as caught:
        await send(pool)

    assert PASSWORD not in repr(config)
    assert PASSWORD not in str(config)
    for text in (str(caught.value), repr(caught.value), caught.value.server_message):
        assert PASSWORD not in text
    assert str(caught.value) == "auth rejected 535 5.7.8"


async def test_close_quits_idle_connections(server: FaultyServer, make_pool: MakePool) -> None:
    pool = make_pool(server.config(pool_size=2))
    await asyncio.gather(send(pool, "a"), send(pool, "b"))
    opened = pool.size

    await pool.close()

    assert pool.size == 0
    assert server.commands_seen("QUIT") == opened
    with pytest.raises(RuntimeError):
        await send(pool)


async def test_cancelled_send_discards_its_connection(
    server: FaultyServer, make_pool: MakePool
) -> None:
    pool = make_pool(server.config())
    server.faults = Faults(stall_seconds=3.0)
    task = asyncio.create_task(send(pool, "cancelled"))
    await asyncio.sleep(0.3)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert pool.size == 0
    server.faults = Faults()
    await send(pool, "after")
    assert pool.stats.connections_opened == 2


def test_config_from_settings_reads_smtp_variables() -> None:
    settings = Settings(
        smtp_host="mail.example.com",
        smtp_port=465,
        smtp_user="me@example.com",
        smtp_pass="hunter2-secret",
        smtp_send_timeout=12,
    )

    config = SmtpConfig.from_settings(settings)

    assert (config.host, config.port, config.username) == (
        "mail.example.com",
        465,
        "me@example.com",
    )
    assert config.password == "hunter2-secret"
    assert config.timeout == 12
    assert config.uses_implicit_tls
    assert "hunter2-secret" not in repr(config)


def test_config_without_smtp_host_is_a_config_error() -> None:
    with pytest.raises(TransportConfigError):
        SmtpConfig.from_settings(Settings(smtp_host=None))


def test_delivery_error_survives_pickling_without_losing_its_classification() -> None:
    error = DeliveryError("rcpt", code=550, server_message="5.1.1 No such user")

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.stage, copy.code, copy.enhanced_status, copy.permanent) == (
        "rcpt",
        550,
        "5.1.1",
        True,
    )
    assert str(copy) == "rcpt rejected 550 5.1.1"
