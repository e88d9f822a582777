"""Errors the services raise; the HTTP and CLI edges translate them."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: `str(error)` is a message safe to show to the caller."""


class NotFound(ServiceError):
    pass


class InvalidInput(ServiceError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Conflict(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class NotConfigured(ServiceError):
    pass


class UpstreamFailed(ServiceError):
    """A server we depend on (IMAP, SMTP) failed; nothing was changed."""


class OutcomeNotRecorded(ServiceError):
    """SMTP ran but its result could not be stored: the attempt stays reserved (`sending`)."""


class KeyRevoked(ServiceError):
    """The API key was revoked after the request was let in: nothing was done."""
