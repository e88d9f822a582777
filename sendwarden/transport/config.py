"""SMTP connection settings, derived from the application `Settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sendwarden.config import Settings
from sendwarden.transport.errors import TransportConfigError

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    verify_tls: bool
    ca_file: Path | None
    timeout: float
    pool_size: int
    max_messages_per_connection: int
    helo_name: str | None
    # TLS from the first byte instead of STARTTLS; always on for port 465.
    implicit_tls: bool = False

    @property
    def uses_implicit_tls(self) -> bool:
        return self.implicit_tls or self.port == IMPLICIT_TLS_PORT

    @classmethod
    def from_settings(cls, s: Settings) -> SmtpConfig:
        if not s.smtp_host:
            raise TransportConfigError("SMTP_HOST is not set")
        if s.smtp_ca_file is not None and not s.smtp_ca_file.is_file():
            raise TransportConfigError(f"SMTP_CA_FILE {s.smtp_ca_file} does not exist")
        if s.smtp_user and s.smtp_pass is None:
            raise TransportConfigError("SMTP_USER is set but SMTP_PASS is not")
        return cls(
            host=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_pass.get_secret_value() if s.smtp_pass is not None else None,
            verify_tls=s.smtp_verify_tls,
            ca_file=s.smtp_ca_file,
            timeout=s.smtp_send_timeout,
            pool_size=s.smtp_pool_size,
            max_messages_per_connection=s.smtp_max_messages_per_connection,
            helo_name=s.smtp_helo_name,
            implicit_tls=s.smtp_port == IMPLICIT_TLS_PORT,
        )
