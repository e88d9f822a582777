"""Which subjects and headers make a mail a List-Unsubscribe mailto request (pure)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from sendwarden.inbound.unsubscribe_mail import mailto_request, mailto_subject

TOKEN = "AuRNNoAT8a70QbS-fLWZxyHCoxKiU8REVPorytt7ob3t52rWCdolh6vOPxjuLYDSqzx"


@pytest.mark.parametrize(
    ("subject", "apple", "expected"),
    [
        (mailto_subject(TOKEN), False, (True, TOKEN)),
        (f"Unsubscribe%20{TOKEN}", False, (True, TOKEN)),
        ("unsubscribe", False, (True, None)),
        ("  UNSUBSCRIBE  ", False, (True, None)),
        ("Guest post", True, (True, None)),
        ("Re: unsubscribe", False, (False, None)),
        ("Re: Guest post", False, (False, None)),
        ("How do I unsubscribe?", False, (False, None)),
        ("unsubscribe me please from this nonsense", False, (False, None)),
    ],
)
def test_mailto_request_shapes(
    subject: str, apple: bool, expected: tuple[bool, str | None]
) -> None:
    msg = EmailMessage()
    msg["Subject"] = subject
    if apple:
        msg["X-Apple-Unsubscribe"] = "true"
    assert mailto_request(msg, subject) == expected
