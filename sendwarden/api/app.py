"""The FastAPI application factory: wiring only, no business rules."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig

from sendwarden import __version__, ui
from sendwarden.api import errors, lean
from sendwarden.api.hot_path import ValidateHotPath
from sendwarden.api.limits import BodySizeLimit
from sendwarden.api.request_log import RequestLog
from sendwarden.api.routes import (
    attempts,
    audit,
    bounces,
    campaigns,
    health,
    inbound,
    policy,
    send,
    suppression,
    unsubscribe,
    webhooks,
)
from sendwarden.api.state import AppState
from sendwarden.config import Settings, get_settings
from sendwarden.observability.logging import configure_logging
from sendwarden.policy.addresses import allow_test_domains
from sendwarden.services import cpu_pool
from sendwarden.services.background import start_background_poller
from sendwarden.services.context import PolicySettings
from sendwarden.services.crash_recovery import recover_interrupted_sends
from sendwarden.services.database import open_database
from sendwarden.services.leases import LeaseKeeper
from sendwarden.storage import leases
from sendwarden.webhooks import dispatcher as webhook_dispatcher
from sendwarden.webhooks import docs as webhook_docs

API_PREFIX = "/api/v1/backlink-outreach"
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.sendwarden_log_level)
    allow_test_domains(settings.sendwarden_allow_test_domains)
    state = AppState(
        settings=settings,
        db=open_database(settings),
        policy=PolicySettings.from_settings(settings),
        lease_owner=leases.new_owner(settings.sendwarden_instance_name),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.sendwarden_recover_on_start:
            await recover_interrupted_sends(settings, state.db)
        lease = LeaseKeeper(settings, state.db, state.lease_owner)
        await lease.start()
        poller = start_background_poller(settings, state.db)
        webhooks = webhook_dispatcher.start(settings, state.db)
        # What start-up built (modules, the app, SQLAlchemy's tables) lives as long as
        # the process: out of the collector's sight. Its full passes walked it all
        # with the loop stopped (90-140 ms, several times per bulk import) and on
        # every request's allocations (a few % of a validate's CPU).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for task in (poller, webhooks):
                if task is not None:
                    task.cancel()
            await lease.stop()
            await cpu_pool.shutdown()
            await state.close()

    app = FastAPI(
        title="Sendwarden",
        version=__version__,
        description="Compliance-first gateway for cold outreach email.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from sendwarden.ui, with local assets
        redoc_url=None,
        # Off, FastAPI does not look up the global OpenTelemetry providers on every
        # request (3 % of a validate's CPU); /metrics and the JSON logs stay.
        telemetry=None if settings.sendwarden_opentelemetry else _NO_TELEMETRY,
    )
    app.state.sendwarden = state
    errors.install(app)
    lean.publish_bodies(app)
    # Innermost of our middleware: the request id, log line and body limit still apply.
    app.add_middleware(ValidateHotPath, path=f"{API_PREFIX}/policy/validate", state=state)
    app.add_middleware(BodySizeLimit, max_bytes=settings.sendwarden_max_body_bytes)
    app.add_middleware(RequestLog)

    api = APIRouter(prefix=API_PREFIX)
    for module in (policy, send, suppression, campaigns, attempts, inbound, audit, webhooks):
        api.include_router(module.router)
    api.include_router(bounces.router)
    webhook_docs.document(app)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(unsubscribe.router)
    ui.install(app)
    return app
