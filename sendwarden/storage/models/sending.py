"""Send bookkeeping: duplicate keys, HTTP Idempotency-Keys, daily cap counters, leases."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sendwarden.storage.models.base import Base
from sendwarden.storage.types import UTCDateTime, utcnow


class DuplicateKeyState(StrEnum):
    IN_FLIGHT = "in_flight"
    USED = "used"


class DuplicateKey(Base):
    """The 24 h duplicate rule: one (sender, recipient, subject) key for all users.

    `user_id` is the user whose attempt holds the key now; it is not part of the key.
    """

    __tablename__ = "send_keys"
    __table_args__ = (
        UniqueConstraint("key_hash"),  # also the index of the duplicate look-up
        Index("ix_send_keys_attempt_id", "attempt_id"),  # mark_used by attempt
        Index("ix_send_keys_used_at", "used_at"),  # the purge of expired keys
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class HttpIdempotencyKey(Base):
    """HTTP `Idempotency-Key` header: the first response, replayed for 24 h."""

    __tablename__ = "request_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_request_keys_created_at", "created_at"),  # the purge of expired keys
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DailyCounter(Base):
    """Sends reserved per (user, scope, key, day); scope 'user' has key ''."""

    __tablename__ = "daily_counters"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ProcessLease(Base):
    """A serving process's heartbeat: its in-flight sends are recovered once it stops."""

    __tablename__ = "process_leases"
    owner: Mapped[str] = mapped_column(String(255), primary_key=True)  # attempts.owner
    instance: Mapped[str] = mapped_column(String(255))  # SENDWARDEN_INSTANCE_NAME
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class InstanceSetting(Base):
    __tablename__ = "instance_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
