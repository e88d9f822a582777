"""Assembles the long-lived service objects from settings (shared by API, CLI and demo)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from sendwarden.config import Settings
from sendwarden.services.context import PolicySettings
from sendwarden.services.inbound_effects import record_send_time_rejection
from sendwarden.services.send import SendPipeline
from sendwarden.storage import attempts, instance, leases, request_keys, send_key_purge
from sendwarden.storage.audit_key import AuditKey
from sendwarden.storage.db import Database
from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.dkim import DkimSigner
from sendwarden.transport.errors import TransportConfigError
from sendwarden.transport.pool import SmtpPool
from sendwarden.webhooks import emit as webhook_events


async def load_secret(settings: Settings, db: Database) -> bytes:
    if settings.sendwarden_secret_key is not None:
        return settings.sendwarden_secret_key.get_secret_value().encode()
    async with db.transaction() as session:
        return await instance.get_or_create_secret(session)


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


def dkim_signer(settings: Settings) -> DkimSigner | None:
    if settings.dkim_private_key_path is None or not settings.dkim_selector:
        return None
    domain = settings.dkim_domain or (settings.smtp_from_email or "").rpartition("@")[2]
    return DkimSigner.from_file(settings.dkim_private_key_path, settings.dkim_selector, domain)


def build_pipeline(
    settings: Settings,
    db: Database,
    policy: PolicySettings,
    secret: bytes,
    owner: str | None = None,
) -> tuple[SendPipeline, SmtpPool | None]:
    pool: SmtpPool | None = None
    problem: str | None = None
    try:
        pool = SmtpPool(SmtpConfig.from_settings(settings))
    except TransportConfigError as exc:
        problem = str(exc)  # the pipeline answers 503 with this on send
    pipeline = SendPipeline(
        db=db,
        settings=settings,
        policy=policy,
        transport=pool,
        secret=secret,
        dkim=dkim_signer(settings),
        on_rejection=record_send_time_rejection,
        transport_problem=problem,
        owner=owner,
    )
    return pipeline, pool


async def settle_interrupted(session: AsyncSession, owners: Sequence[str]) -> list[int]:
    """What dies with a process: its `sending` attempts become `unknown` (their duplicate
    key stays reserved, so nothing resends them), its `Idempotency-Key`s are freed."""
    await request_keys.release_interrupted(session, owner=owners)
    interrupted = await attempts.mark_interrupted_as_unknown(session, owner=owners)
    await webhook_events.attempts_unknown(session, interrupted)
    return interrupted


async def recover_interrupted_sends(settings: Settings, db: Database) -> list[int]:
    """Start-up crash recovery (product.md §4): everything this host was running.

    Owners are the host name (CLI sends, rows from before leases) and the lease
    ids of this host's serving processes; other hosts' work is left alone.
    """
    instance = settings.sendwarden_instance_name
    async with db.transaction() as session:
        await request_keys.purge_expired(session)
        await send_key_purge.purge_expired(session)
        candidates = {
            *await attempts.sending_owners(session),
            *await request_keys.in_progress_owners(session),
            *await leases.all_owners(session),
        }
        owners = {owner for owner in candidates if leases.belongs_to(owner, instance)}
        recovered = await settle_interrupted(session, sorted(owners))
        await leases.remove(session, sorted(owners))
        return recovered
