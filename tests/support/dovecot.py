"""A throwaway, real Dovecot IMAP server for tests.

Each `DovecotServer` lives in its own temporary directory: config, TLS
certificates (a CA and a leaf for 127.0.0.1/localhost, generated with
`cryptography`), a passwd-file user and its Maildir. It listens on free
loopback ports: `imap_port` (plain, STARTTLS offered when TLS is on) and
`imaps_port` (implicit TLS).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from imapclient import IMAPClient

from sendwarden.inbound.imap import ImapConfig

DOVECOT_MISSING = "Dovecot not installed: apt-get install dovecot-imapd"

# Dovecot drops privileges to this uid for mail access; first_valid_uid below admits it.
MAIL_UID = 65534
MAIL_GID = 65534
START_TIMEOUT_S = 10.0


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_test_pki(directory: Path) -> tuple[Path, Path, Path]:
    """Write ca.pem, cert.pem (leaf for localhost/127.0.0.1) and key.pem."""
    now = dt.datetime.now(dt.UTC)
    validity = (now - dt.timedelta(minutes=5), now + dt.timedelta(days=1))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sendwarden test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "cert.pem",
        directory / "key.pem",
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf_cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


class DovecotServer:
    """Start with `start()`, always `stop()` (the fixture below does both)."""

    def __init__(self, *, tls: bool = True) -> None:
        self.tls = tls
        self.username = "replies@example.com"
        self.password = "pw-" + secrets.token_urlsafe(12)
        self.imap_port = _free_port()
        self.imaps_port = _free_port() if tls else 0
        self._dir = Path(tempfile.mkdtemp(prefix="sendwarden-dovecot-"))
        self._conf = self._dir / "dovecot.conf"
        self._ca_file: Path | None = None

    @property
    def ca_file(self) -> Path:
        if self._ca_file is None:
            raise RuntimeError("this DovecotServer runs without TLS")
        return self._ca_file

    @property
    def log_path(self) -> Path:
        return self._dir / "dovecot.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError(DOVECOT_MISSING)
        self._write_config()
        startup_log = self._dir / "startup.log"
        # Not a pipe: the daemonised master inherits it and would keep a pipe open forever.
        with startup_log.open("wb") as output:
            result = subprocess.run(
                [binary, "-c", str(self._conf)], stdout=output, stderr=output, check=False
            )
        if result.returncode != 0:
            raise RuntimeError(f"dovecot failed to start:\n{startup_log.read_text()}")
        self._wait_until_listening()

    def stop(self) -> None:
        try:
            subprocess.run(
                ["doveadm", "-c", str(self._conf), "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                timeout=10,
            )
            self._wait_for_master_exit()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

    def config(self, folder: str = "INBOX", fetch_limit: int = 50) -> ImapConfig:
        """Settings for the implicit-TLS port, verifying against our CA."""
        return ImapConfig(
            host="127.0.0.1",
            port=self.imaps_port,
            username=self.username,
            password=self.password,
            folder=folder,
            fetch_limit=fetch_limit,
            verify_tls=True,
            ca_file=self.ca_file,
            timeout=10.0,
            implicit_tls=True,
        )

    def starttls_config(self, folder: str = "INBOX", fetch_limit: int = 50) -> ImapConfig:
        """Settings for the plain port, upgraded with STARTTLS."""
        return dataclasses.replace(
            self.config(folder, fetch_limit), port=self.imap_port, implicit_tls=None
        )

    def client(self) -> IMAPClient:
        """A logged-in client over implicit TLS, for test setup; caller logs out."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", self.imaps_port, ssl=True, ssl_context=context, timeout=10)
        client.login(self.username, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, raw)
        finally:
            client.logout()

    def create_folder(self, folder: str) -> None:
        client = self.client()
        try:
            client.create_folder(folder)
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            status = client.folder_status(folder, [b"UIDVALIDITY"])
        finally:
            client.logout()
        return int(status[b"UIDVALIDITY"])

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            return dict(client.get_flags(client.search(["ALL"])))
        finally:
            client.logout()

    def reset_uidvalidity(self, folder: str = "INBOX") -> int:
        """Give `folder` a new UIDVALIDITY, as a server does after rebuilding a mailbox.

        doveadm works for INBOX too (which IMAP cannot delete) and keeps the
        messages, so a client must fetch them all again from the start.
        """
        before = self.uidvalidity(folder)
        subprocess.run(
            ["doveadm", "-c", str(self._conf), "mailbox", "update", "-u", self.username]
            + ["--uid-validity", str(before + 1), folder],
            check=True,
            capture_output=True,
        )
        after = self.uidvalidity(folder)
        if after == before:
            raise RuntimeError(f"UIDVALIDITY of {folder!r} did not change ({before})")
        return after

    def _write_config(self) -> None:
        self._dir.chmod(0o755)  # the mail processes run as `nobody` and must traverse it
        mail_root = self._dir / "mail"
        mail_root.mkdir()
        os.chown(mail_root, MAIL_UID, MAIL_GID)
        users = self._dir / "users"
        home = mail_root / self.username
        users.write_text(
            f"{self.username}:{{PLAIN}}{self.password}:{MAIL_UID}:{MAIL_GID}::{home}\n"
        )
        users.chmod(0o644)  # read by Dovecot's unprivileged auth process; a throwaway password

        if self.tls:
            self._ca_file, cert, key = _write_test_pki(self._dir)
            ssl_block = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\n"
            imaps_listener = (
                f"  inet_listener imaps {{\n    address = 127.0.0.1\n"
                f"    port = {self.imaps_port}\n    ssl = yes\n  }}\n"
            )
        else:
            ssl_block = "ssl = no\n"
            imaps_listener = ""

        self._conf.write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {self._dir}/run
state_dir = {self._dir}/state
log_path = {self.log_path}
{ssl_block}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 100
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
{imaps_listener}}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )

    def _wait_until_listening(self) -> None:
        ports = [p for p in (self.imap_port, self.imaps_port) if p]
        deadline = time.monotonic() + START_TIMEOUT_S
        while ports:
            try:
                with socket.create_connection(("127.0.0.1", ports[0]), timeout=1):
                    ports.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Dovecot did not listen on {ports[0]}; log:\n{self.log_text()}"
                    ) from None
                time.sleep(0.02)

    def _master_pid(self) -> int | None:
        try:
            return int((self._dir / "run" / "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def _wait_for_master_exit(self) -> None:
        pid = self._master_pid()
        if pid is None:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)  # doveadm stop did not work: this is our own master


def _unavailable_or_fail() -> None:
    if dovecot_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{DOVECOT_MISSING} (CI must not skip IMAP tests)")
        pytest.skip(DOVECOT_MISSING)


# `name=` lets test modules import these under another name (no shadowed-import warnings).
@pytest.fixture(scope="module", name="dovecot_server")
def dovecot_server() -> Iterator[DovecotServer]:
    """A running Dovecot with TLS (STARTTLS on `imap_port`, implicit TLS on `imaps_port`)."""
    _unavailable_or_fail()
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", name="plaintext_only_dovecot_server")
def plaintext_only_dovecot_server() -> Iterator[DovecotServer]:
    """A Dovecot that offers no TLS at all (so no STARTTLS)."""
    _unavailable_or_fail()
    server = DovecotServer(tls=False)
    try:
        server.start()
        yield server
    finally:
        server.stop()
