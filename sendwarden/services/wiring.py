"""Assembles the long-lived service objects from settings (shared by API, CLI and demo)."""

from __future__ import annotations

from sendwarden.config import Settings
from sendwarden.services.context import PolicySettings
from sendwarden.services.inbound_effects import record_send_time_rejection
from sendwarden.services.send import SendPipeline
from sendwarden.storage import instance
from sendwarden.storage.db import Database
from sendwarden.transport.config import SmtpConfig
from sendwarden.transport.dkim import DkimSigner
from sendwarden.transport.errors import TransportConfigError
from sendwarden.transport.pool import SmtpPool


async def load_secret(settings: Settings, db: Database) -> bytes:
    if settings.sendwarden_secret_key is not None:
        return settings.sendwarden_secret_key.get_secret_value().encode()
    async with db.transaction() as session:
        return await instance.get_or_create_secret(session)


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
