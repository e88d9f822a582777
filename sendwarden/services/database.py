"""The database a process opens from its settings, with the audit chain's key.

Kept apart from `services.wiring` (which assembles the send pipeline and SMTP pool) so
that CLI commands which only read or write rows start without importing the transport.
"""

from __future__ import annotations

from sendwarden.config import Settings
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database


def audit_key(settings: Settings) -> AuditKey:
    """The audit chain's key (storage.audit_key): never the secret kept in the database."""
    secret = settings.sendwarden_secret_key
    return AuditKey(
        settings.database_url,
        secret=secret.get_secret_value().encode() if secret is not None else None,
        key_file=settings.sendwarden_audit_key_file,
    )


def open_database(settings: Settings) -> Database:
    return Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        audit_key=audit_key(settings),
    )
