"""The built-in capture server: TLS and AUTH enforced, every message kept."""

from __future__ import annotations

import asyncio
import ipaddress
import mailbox
import socket
import ssl
import stat
from pathlib import Path

import aiosmtplib
import pytest
from cryptography import x509

from sendwarden.devsmtp import CapturedMessage, CaptureServer, generate_self_signed_cert
from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.pool import SmtpPool

USER, PASSWORD = "demo", "demo-password"
MESSAGE = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def trusted_context(server: CaptureServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_file))


def client(server: CaptureServer, **kwargs: object) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname="localhost",
        port=server.port,
        start_tls=False,
        tls_context=trusted_context(server),
        local_hostname="client.test",
        timeout=5,
        **kwargs,  # type: ignore[arg-type]
    )


def config(server: CaptureServer, pool_size: int = 1) -> SmtpConfig:
    return SmtpConfig(
        host="localhost",
        port=server.port,
        username=USER,
        password=PASSWORD,
        verify_tls=True,
        ca_file=server.ca_file,
        timeout=5,
        pool_size=pool_size,
        max_messages_per_connection=100,
        helo_name=None,
    )


def test_certificate_covers_localhost_and_loopback_ip(tmp_path: Path) -> None:
    paths = generate_self_signed_cert(tmp_path)

    cert = x509.load_pem_x509_certificate(paths.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]
    assert stat.S_IMODE(paths.key_file.stat().st_mode) == 0o600


async def test_captures_message_in_memory_and_in_maildir(tmp_path: Path) -> None:
    with CaptureServer(tmp_path, username=USER, password=PASSWORD) as server:
        pool = SmtpPool(config(server))
        await pool.send(MESSAGE, sender="a@example.com", recipients=["b@example.org"])
        await pool.close()

        [captured] = server.wait_for(1)

    assert captured == CapturedMessage("a@example.com", ("b@example.org",), MESSAGE)
    stored = list(mailbox.Maildir(tmp_path / "Maildir", create=False))
    assert [m.as_bytes().replace(b"\n", b"\r\n") for m in stored] == [MESSAGE]


async def test_plaintext_mail_is_refused_until_starttls(tmp_path: Path) -> None:
    with CaptureServer(tmp_path) as server:
        smtp = client(server)
        await smtp.connect()
        await smtp.ehlo()
        assert smtp.supports_extension("starttls")
        assert "auth" not in smtp.esmtp_extensions  # no AUTH offered before TLS

        with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
            await smtp.mail("a@example.com")

        assert caught.value.code == 530
        smtp.close()
        assert server.messages == []


async def test_mail_is_refused_without_auth(tmp_path: Path) -> None:
    with CaptureServer(tmp_path) as server:
        smtp = client(server)
        await smtp.connect()
        await smtp.starttls()

        with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
            await smtp.mail("a@example.com")

        assert caught.value.code == 530
        smtp.close()


@pytest.mark.parametrize("mechanism", ["plain", "login"])
async def test_auth_plain_and_login_accept_the_configured_credentials(
    tmp_path: Path, mechanism: str
) -> None:
    with CaptureServer(tmp_path, username=USER, password=PASSWORD) as server:
        smtp = client(server)
        await smtp.connect()
        await smtp.starttls()
        await smtp.ehlo()

        auth = smtp.auth_plain if mechanism == "plain" else smtp.auth_login
        reply = await auth(USER, PASSWORD)

        assert reply.code == 235
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await client_login(server, USER, "wrong")
        await smtp.quit()


async def client_login(server: CaptureServer, user: str, password: str) -> None:
    smtp = client(server)
    await smtp.connect()
    await smtp.starttls()
    try:
        await smtp.login(user, password)
    finally:
        smtp.close()


async def test_concurrent_deliveries_are_all_kept(tmp_path: Path) -> None:
    seen: list[CapturedMessage] = []
    with CaptureServer(
        tmp_path, username=USER, password=PASSWORD, on_message=seen.append
    ) as server:
        pool = SmtpPool(config(server, pool_size=3))
        await asyncio.gather(
            *(
                pool.send(
                    MESSAGE.replace(b"hi", f"hi {i}".encode()),
                    sender="a@example.com",
                    recipients=["b@example.org"],
                )
                for i in range(30)
            )
        )
        await pool.close()

        captured = server.wait_for(30)

    assert len(captured) == 30
    assert len({m.raw for m in captured}) == 30
    assert len(list(mailbox.Maildir(tmp_path / "Maildir", create=False))) == 30
    assert seen == captured


def test_wait_for_times_out_when_nothing_arrives(tmp_path: Path) -> None:
    with CaptureServer(tmp_path) as server, pytest.raises(TimeoutError):
        server.wait_for(1, timeout=0.05)


def test_stop_releases_the_port(tmp_path: Path) -> None:
    with CaptureServer(tmp_path) as server:
        port = server.port
        assert port > 0

    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_implicit_tls_server_speaks_tls_from_the_first_byte(tmp_path: Path) -> None:
    with CaptureServer(tmp_path, implicit_tls=True) as server:
        context = trusted_context(server)
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.recv(1024).startswith(b"220 ")


def test_repr_does_not_show_the_password(tmp_path: Path) -> None:
    server = CaptureServer(tmp_path, username=USER, password=PASSWORD)

    assert PASSWORD not in repr(server)
