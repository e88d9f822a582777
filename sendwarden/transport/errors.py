"""Errors raised by the SMTP side.

`str()` of every error here is a short classification that is safe to show to
API clients and to write to logs: no server text, no credentials.
"""

from __future__ import annotations

from typing import Any, Literal

from sendwarden.mailformat import parse_enhanced_status

DeliveryStage = Literal["connect", "tls", "auth", "mail", "rcpt", "data", "timeout", "protocol"]


class TransportConfigError(Exception):
    """The SMTP settings are missing or unusable."""


class MessageBuildError(ValueError):
    """A message could not be built from the given values (maps to HTTP 422)."""


class HeaderInjectionError(MessageBuildError):
    """A header-bound value contains CR, LF, NUL or another control character."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(
            f"header field {field!r} must not contain CR, LF or other control characters"
        )


class InvalidAddressError(MessageBuildError):
    """A value meant to be a single e-mail address is not one."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"header field {field!r} is not a single valid e-mail address")


class DeliveryError(Exception):
    """A message was not accepted by the SMTP server.

    `server_message` keeps the server's reply text for internal storage; it is
    deliberately left out of `str()`.
    """

    def __init__(
        self,
        stage: DeliveryStage,
        *,
        code: int | None = None,
        server_message: str = "",
        summary: str | None = None,
        during: DeliveryStage | None = None,
    ) -> None:
        self.stage: DeliveryStage = stage
        self.during: DeliveryStage = during or stage
        self.code = code
        self.server_message = server_message
        self.endpoint: str | None = None  # "host:port", set by the transport when known
        self.enhanced_status = parse_enhanced_status(server_message) if code is not None else None
        self.permanent = code is not None and 500 <= code < 600
        if summary is None:
            summary = f"{stage} rejected" if code is not None else f"{stage} failed"
        self.summary = summary
        parts = [summary]
        if code is not None:
            parts.append(str(code))
        if self.enhanced_status is not None:
            parts.append(self.enhanced_status)
        super().__init__(" ".join(parts))

    @property
    def outcome_unknown(self) -> bool:
        """True when the server may have accepted the message anyway.

        A timeout, a dropped connection or a reply without a 4xx/5xx code after
        the message data was sent cannot tell delivered from not. The reply to
        the DATA command itself counts too (aiosmtplib sends command and content
        in one call): unknown is the side that never sends twice.
        """
        return self.code is None and self.during == "data"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments are not restored by Exception's default pickling.
        return (
            _rebuild_delivery_error,
            (self.stage, self.code, self.server_message, self.summary, self.during),
        )

    def __repr__(self) -> str:
        return (
            f"DeliveryError(stage={self.stage!r}, code={self.code!r}, "
            f"enhanced_status={self.enhanced_status!r}, permanent={self.permanent!r})"
        )


def _rebuild_delivery_error(
    stage: DeliveryStage,
    code: int | None,
    server_message: str,
    summary: str,
    during: DeliveryStage,
) -> DeliveryError:
    return DeliveryError(
        stage, code=code, server_message=server_message, summary=summary, during=during
    )
