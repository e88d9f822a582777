"""What the services need from configuration, resolved once per process."""

from __future__ import annotations

from dataclasses import dataclass

from sendwarden.config import Settings
from sendwarden.policy import validate_timezone


@dataclass(frozen=True)
class PolicySettings:
    user_cap: int
    domain_cap: int
    timezone: str
    allowed_sender_patterns: tuple[str, ...]
    default_sender: str | None
    require_consent: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicySettings:
        return cls(
            user_cap=settings.sendwarden_user_daily_cap,
            domain_cap=settings.sendwarden_domain_daily_cap,
            timezone=validate_timezone(settings.sendwarden_timezone),
            allowed_sender_patterns=tuple(settings.allowed_sender_patterns),
            default_sender=settings.smtp_from_email,
            require_consent=settings.sendwarden_require_consent,
        )
