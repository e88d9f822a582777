"""Validated field types shared by the request models."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from sendwarden.policy import InvalidAddress, normalize_domain, normalize_email
from sendwarden.transport.errors import HeaderInjectionError
from sendwarden.transport.message import check_header_value

MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit; a longer subject cannot be a single header line


# Every boundary of str.splitlines(): the email package refuses them all in headers, so
# letting one through would turn a 422 into a failure deep inside the send pipeline.
_LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and SMTP forbids it: refuse it at the edge.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _no_header_breaks(value: str) -> str:
    if _LINE_BREAKS.intersection(value):
        raise ValueError(
            "must not contain CR or LF characters or other line breaks (header injection)"
        )
    return _no_nul(value)


def _no_header_controls(value: str) -> str:
    # The message builder's own rule (control characters but TAB, Unicode line
    # separators), applied at the edge so the answer is a 422 naming the field.
    try:
        check_header_value("header", value)
    except HeaderInjectionError:
        raise ValueError(
            "must not contain CR, LF, other control characters or line separators"
            " (header injection)"
        ) from None
    return value


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except InvalidAddress as exc:
        raise ValueError(str(exc)) from exc


def _domain(value: str) -> str:
    try:
        return normalize_domain(value)
    except InvalidAddress as exc:
        raise ValueError(str(exc)) from exc


EmailAddress = Annotated[
    str, Field(max_length=320), AfterValidator(_no_header_breaks), AfterValidator(_email)
]
DomainName = Annotated[
    str, Field(max_length=253), AfterValidator(_no_header_breaks), AfterValidator(_domain)
]
HeaderText = Annotated[
    str,
    Field(max_length=MAX_SUBJECT_CHARS),
    AfterValidator(_no_header_breaks),
    AfterValidator(_no_header_controls),
]
ShortText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_header_breaks)]
# Free text (descriptions, notes, reasons, bodies, search terms): anything but NUL.
FreeText = Annotated[str, AfterValidator(_no_nul)]
