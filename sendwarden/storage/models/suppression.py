"""The suppression list and its background imports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sendwarden.storage.models.base import Base
from sendwarden.storage.types import UTCDateTime, utcnow


class SuppressionKind(StrEnum):
    EMAIL = "email"
    DOMAIN = "domain"


class SuppressionSource(StrEnum):
    MANUAL = "manual"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    REPLY = "reply"
    UNSUBSCRIBE = "unsubscribe"
    IMPORT = "import"


class Suppression(Base):
    """One suppressed address or domain; user_id NULL means global (all users)."""

    __tablename__ = "suppressions"
    __table_args__ = (
        Index(
            "uq_suppressions_user_entry",
            "user_id",
            "kind",
            "value",
            unique=True,
            sqlite_where=text("user_id IS NOT NULL"),
            postgresql_where=text("user_id IS NOT NULL"),
        ),
        Index(
            "uq_suppressions_global_entry",
            "kind",
            "value",
            unique=True,
            sqlite_where=text("user_id IS NULL"),
            postgresql_where=text("user_id IS NULL"),
        ),
        Index("ix_suppressions_value", "value"),
        Index("ix_suppressions_mailbox", "mailbox"),
        # The keyset export (PostgreSQL; SQLite's planner would take it for searches).
        Index("ix_suppressions_user_id_id", "user_id", "id").ddl_if(dialect="postgresql"),
        # Prefix search as a range in code point order, whatever the database's
        # collation (SQLite's BINARY index above already is).
        Index("ix_suppressions_value_c", text('(value COLLATE "C")')).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    # Email entries: mailbox_key(value), i.e. without a "+tag"; what sends are matched on.
    mailbox: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(20))
    attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: why suppressed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SuppressionImport(Base):
    """A background suppression import and how far it got (GET /suppression/imports/{id})."""

    __tablename__ = "suppression_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    invalid_count: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[str] = mapped_column(Text, default="[]")  # JSON, bounded
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The lease owner of the process running it: the lease sweep fails a dead one's jobs.
    process: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
