"""Who may remove whom (policy.inbound_trust): pure rules."""

from __future__ import annotations

import pytest

from sendwarden.policy.inbound_trust import same_mailbox, writer_speaks_for


@pytest.mark.parametrize(
    ("writer", "recipient", "expected"),
    [
        ("editor@blog.example", "editor@blog.example", True),
        ("Editor@Blog.Example", "editor@blog.example", True),
        ("boss@mail.blog.example", "editor@blog.example", True),
        ("boss@blog.co.uk", "editor@news.blog.co.uk", True),
        ("stranger@other.example", "editor@blog.example", False),
        ("someone@gmail.com", "editor@gmail.com", False),
        ("someone@hotmail.co.uk", "editor@hotmail.co.uk", False),
        ("editor@gmail.com", "editor@gmail.com", True),
        (None, "editor@blog.example", False),
        ("not an address", "editor@blog.example", False),
        ("a@blog.co.uk", "b@other.co.uk", False),
    ],
)
def test_writer_speaks_for(writer: str | None, recipient: str, expected: bool) -> None:
    assert writer_speaks_for(writer, recipient) is expected


def test_same_mailbox_ignores_case_and_rejects_garbage() -> None:
    assert same_mailbox("A@X.example", "a@x.example")
    assert not same_mailbox("a@x.example", None)
    assert not same_mailbox("nonsense", "a@x.example")
