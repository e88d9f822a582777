"""Validated field types shared by the request models."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from sendwarden.policy import InvalidAddress, normalize_domain, normalize_email

MAX_SUBJECT_CHARS = 998  # RFC 5322 line limit; a longer subject cannot be a single header line


def _no_header_breaks(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain CR or LF characters (header injection)")
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
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


EmailAddress = Annotated[str, Field(max_length=320), AfterValidator(_email)]
DomainName = Annotated[str, Field(max_length=253), AfterValidator(_domain)]
HeaderText = Annotated[str, Field(max_length=MAX_SUBJECT_CHARS), AfterValidator(_no_header_breaks)]
ShortText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_header_breaks)]
