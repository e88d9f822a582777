"""Per-process objects the routes share, built once by the application factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sendwarden.config import Settings
from sendwarden.services.context import PolicySettings
from sendwarden.storage.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    policy: PolicySettings
    extras: dict[str, Any] = field(default_factory=dict)
