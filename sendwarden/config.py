"""Runtime configuration, read from the environment and an optional `.env` file.

Field names equal the environment variable names (case-insensitive), so the
table in the README and product.md §8 map one to one onto this class.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sendwarden.db"
# The async drivers Sendwarden ships with; plain sqlite:// and postgres(ql):// map onto them.
SUPPORTED_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = Field(default=10, ge=1)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_pass: SecretStr | None = None
    smtp_verify_tls: bool = True
    smtp_ca_file: Path | None = None
    smtp_send_timeout: float = Field(default=30.0, gt=0)
    smtp_from_email: str | None = None
    smtp_from_name: str | None = None
    smtp_allowed_from_emails: str = ""
    smtp_pool_size: int = Field(default=4, ge=1)
    smtp_max_messages_per_connection: int = Field(default=100, ge=1)
    smtp_helo_name: str | None = None

    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_pass: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_fetch_limit: int = Field(default=50, ge=1)
    imap_verify_tls: bool = True
    imap_ca_file: Path | None = None

    sendwarden_timezone: str = "UTC"
    sendwarden_public_url: str | None = None
    sendwarden_secret_key: SecretStr | None = None
    sendwarden_audit_key_file: Path | None = None
    sendwarden_user_daily_cap: int = Field(default=100, ge=0)
    sendwarden_domain_daily_cap: int = Field(default=20, ge=0)
    sendwarden_require_consent: bool = False
    sendwarden_allow_test_domains: bool = False
    sendwarden_poll_interval: float = Field(default=0, ge=0)
    sendwarden_max_body_bytes: int = Field(default=512 * 1024, ge=1024)
    sendwarden_log_level: str = "INFO"
    sendwarden_keep_alive: int = Field(default=5, ge=1)
    sendwarden_opentelemetry: bool = False
    sendwarden_recover_on_start: bool = True
    sendwarden_instance_name: str = Field(default_factory=socket.gethostname)
    sendwarden_lease_expiry: float = Field(default=30.0, gt=0)
    sendwarden_lease_heartbeat: float = Field(default=5.0, gt=0)
    sendwarden_lease_sweep_interval: float = Field(default=10.0, gt=0)
    sendwarden_auth_failure_limit: int = Field(default=30, ge=0)
    sendwarden_auth_failure_window: int = Field(default=60, ge=1)
    sendwarden_webhooks_allow_private: bool = False
    sendwarden_webhooks_dispatch: bool = True
    sendwarden_webhooks_retry_base: float = Field(default=5.0, gt=0)
    sendwarden_webhooks_timeout: float = Field(default=10.0, gt=0)

    dkim_private_key_path: Path | None = None
    dkim_selector: str | None = None
    dkim_domain: str | None = None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the plain URLs people copy from their hosting panel."""
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://"):
            return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
        if value.startswith("sqlite:///"):
            value = "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in SUPPORTED_DATABASE_SCHEMES:
            shown = f"scheme {scheme!r}" if scheme else "URL without a scheme"
            raise ValueError(
                f"unsupported database {shown}: use sqlite:///PATH or"
                " postgresql://USER:PASSWORD@HOST/DATABASE"
            )
        return value

    @model_validator(mode="after")
    def _heartbeat_within_expiry(self) -> Settings:
        if self.sendwarden_lease_heartbeat * 2 > self.sendwarden_lease_expiry:
            raise ValueError(
                "SENDWARDEN_LEASE_HEARTBEAT must be at most half of SENDWARDEN_LEASE_EXPIRY,"
                " or a live process could be taken for dead"
            )
        return self

    @property
    def allowed_sender_patterns(self) -> list[str]:
        return [p.strip() for p in self.smtp_allowed_from_emails.split(",") if p.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
