"""DKIM: sign before sending, verify what the server received with dkimpy."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sendwarden.transport.dkim import DkimSigner
from sendwarden.transport.errors import TransportConfigError
from sendwarden.transport.message import UnsubscribeLinks, build_message, message_bytes
from sendwarden.transport.pool import SmtpPool
from tests.support.smtp_server import FaultyServer, running_smtp_server

SELECTOR = "sw2026"
DOMAIN = "example.com"


DnsFunc = Callable[..., bytes | None]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def dnsfunc(rsa_key: rsa.RSAPrivateKey) -> DnsFunc:
    public = rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FaultyServer]:
    with running_smtp_server(tmp_path / "smtp") as running:
        yield running


def outgoing() -> bytes:
    return message_bytes(
        build_message(
            sender_email=f"outreach@{DOMAIN}",
            sender_name="Jörg Müller",
            recipient_email="lead@bücher.de",
            subject="Grüße – quick question",
            text_body="Hallo Anna,\n.\n.leading dot line\nBis bald – Jörg\n",
            html_body="<p>Hallo</p>",
            unsubscribe=UnsubscribeLinks(
                mailto="unsubscribe@example.com", url="https://sw.example.com/u/" + "x" * 120
            ),
        )
    )


async def test_received_message_verifies_against_the_published_key(
    server: FaultyServer, key_file: Path, dnsfunc: DnsFunc
) -> None:
    signer = DkimSigner.from_file(key_file, SELECTOR, DOMAIN)
    pool = SmtpPool(server.config())
    try:
        await pool.send(
            signer.sign(outgoing()), sender=f"outreach@{DOMAIN}", recipients=["lead@bücher.de"]
        )
    finally:
        await pool.close()

    [captured] = server.wait_for(1)
    assert captured.raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(captured.raw, dnsfunc=dnsfunc)


def test_altered_body_fails_verification(key_file: Path, dnsfunc: DnsFunc) -> None:
    signed = DkimSigner.from_file(key_file, SELECTOR, DOMAIN).sign(outgoing())

    tampered = signed.replace(b"Hallo Anna", b"Hallo Bert")

    assert tampered != signed
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)


def test_altered_subject_fails_verification(key_file: Path, dnsfunc: DnsFunc) -> None:
    signed = DkimSigner.from_file(key_file, SELECTOR, DOMAIN).sign(outgoing())
    start = signed.index(b"\r\nSubject:") + 2
    end = signed.index(b"\r\n", start)

    tampered = signed[:start] + b"Subject: something else" + signed[end:]

    assert not dkim.verify(tampered, dnsfunc=dnsfunc)


def test_signature_covers_the_required_headers(key_file: Path) -> None:
    signed = DkimSigner.from_file(key_file, SELECTOR, DOMAIN).sign(outgoing())
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = re.sub(r"\r\n[ \t]+", " ", header)
    h_tag = re.search(r"\bh=([^;]+)", unfolded)
    assert h_tag is not None

    signed_headers = {name.strip().lower() for name in h_tag.group(1).split(":")}

    assert signed_headers >= {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "mime-version",
        "content-type",
    }
    assert f"d={DOMAIN};" in unfolded.replace(" ", "")
    assert f"s={SELECTOR};" in unfolded.replace(" ", "")


def test_repr_does_not_show_the_private_key(key_file: Path) -> None:
    signer = DkimSigner.from_file(key_file, SELECTOR, DOMAIN)

    assert "PRIVATE KEY" not in repr(signer)
    assert "sw2026" in repr(signer)


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TransportConfigError):
        DkimSigner.from_file(tmp_path / "absent.pem", SELECTOR, DOMAIN)


def test_non_pem_key_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pem"
    path.write_text("not a key")

    with pytest.raises(TransportConfigError):
        DkimSigner.from_file(path, SELECTOR, DOMAIN)
