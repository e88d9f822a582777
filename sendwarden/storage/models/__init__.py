"""The relational schema, one module per area. Changes go through Alembic migrations
(storage/migrations). Importing this package registers every table on `Base.metadata`."""

from sendwarden.storage.models.audit import AuditEntry, AuditHead
from sendwarden.storage.models.base import NAMING, Base
from sendwarden.storage.models.inbound import (
    BounceEvent,
    InboundMessage,
    MailboxCursor,
    Reply,
    SenderIncident,
)
from sendwarden.storage.models.outreach import (
    ApiKey,
    Attempt,
    AttemptStatus,
    Campaign,
    Lead,
    LeadStatus,
    User,
)
from sendwarden.storage.models.sending import (
    DailyCounter,
    DuplicateKey,
    DuplicateKeyState,
    HttpIdempotencyKey,
    InstanceSetting,
    ProcessLease,
)
from sendwarden.storage.models.suppression import (
    Suppression,
    SuppressionImport,
    SuppressionKind,
    SuppressionSource,
)
from sendwarden.storage.models.ui import UiSession
from sendwarden.storage.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ApiKey",
    "Attempt",
    "AttemptStatus",
    "AuditEntry",
    "AuditHead",
    "Base",
    "BounceEvent",
    "Campaign",
    "DailyCounter",
    "DuplicateKey",
    "DuplicateKeyState",
    "HttpIdempotencyKey",
    "InboundMessage",
    "InstanceSetting",
    "Lead",
    "LeadStatus",
    "MailboxCursor",
    "NAMING",
    "ProcessLease",
    "Reply",
    "SenderIncident",
    "Suppression",
    "SuppressionImport",
    "SuppressionKind",
    "SuppressionSource",
    "UiSession",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
