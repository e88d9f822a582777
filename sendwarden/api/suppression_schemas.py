"""Response bodies of the bulk suppression routes (import jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from sendwarden.api.schemas import ImportRowError


class ImportAccepted(BaseModel):
    id: int
    state: Literal["running"]
    status_url: str


class ImportJobOut(BaseModel):
    id: int
    state: Literal["running", "done", "failed"]
    scope: Literal["user", "global"]
    lines: int
    added: int
    duplicate: int
    invalid_count: int
    invalid: list[ImportRowError]
    bytes: int
    sha256: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
