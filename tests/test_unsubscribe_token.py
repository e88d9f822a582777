"""One-click unsubscribe tokens: HMAC-signed, tamper-evident, expiring."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendwarden.policy.unsubscribe_token import (
    InvalidToken,
    UnsubscribeClaim,
    make_legacy_unsubscribe_token,
    make_unsubscribe_token,
    verify_unsubscribe_token,
)

SECRET = b"k" * 32
NOW = 1_800_000_000
URLSAFE = re.compile(r"[A-Za-z0-9_-]+")
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "


def token(**overrides: object) -> str:
    values: dict[str, object] = {
        "user_id": 7,
        "recipient": "lead@example.org",
        "attempt_id": 4242,
        "issued_at": NOW,
    }
    values.update(overrides)
    return make_unsubscribe_token(SECRET, **values)  # type: ignore[arg-type]


def legacy(**overrides: object) -> str:
    values: dict[str, object] = {
        "user_id": 7,
        "recipient": "lead@example.org",
        "attempt_id": 4242,
        "issued_at": NOW,
    }
    values.update(overrides)
    return make_legacy_unsubscribe_token(SECRET, **values)  # type: ignore[arg-type]


def test_token_is_opaque_no_claim_readable() -> None:
    made = token(recipient="lead@example.org", user_id=7, attempt_id=4242)
    padded = made + "=" * (-len(made) % 4)
    decoded = base64.urlsafe_b64decode(padded)
    for clear in (b"lead@example.org", b"lead", b"example", b"4242", b":7:"):
        assert clear not in decoded
    assert "." not in made
    # Two tokens for the same claim differ (random nonce): nothing to correlate.
    assert token() != token()


def test_legacy_token_already_sent_still_verifies() -> None:
    claim = verify_unsubscribe_token(SECRET, legacy(), now=NOW + 60)

    assert claim == UnsubscribeClaim(7, "lead@example.org", 4242, NOW)


@pytest.mark.parametrize("index", range(0, 60, 7))
def test_altered_legacy_token_is_rejected(index: int) -> None:
    valid = legacy()
    altered = valid[:index] + ("A" if valid[index] != "A" else "B") + valid[index + 1 :]
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, altered, now=NOW)


def test_expired_legacy_token_is_rejected() -> None:
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, legacy(), now=NOW + 181 * 86400)


def test_valid_token_round_trips_to_its_claim() -> None:
    claim = verify_unsubscribe_token(SECRET, token(), now=NOW + 60)

    assert claim == UnsubscribeClaim(
        user_id=7, recipient="lead@example.org", attempt_id=4242, issued_at=NOW
    )


def test_token_is_url_safe_without_padding() -> None:
    assert URLSAFE.fullmatch(token())


def test_token_signed_with_another_secret_is_rejected() -> None:
    forged = make_unsubscribe_token(
        b"other-secret", user_id=7, recipient="lead@example.org", attempt_id=4242, issued_at=NOW
    )

    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, forged, now=NOW)


def test_payload_swapped_between_legacy_tokens_is_rejected() -> None:
    victim_payload = legacy(recipient="victim@example.org").split(".")[0]
    own_signature = legacy().split(".")[1]

    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, f"{victim_payload}.{own_signature}", now=NOW)


def test_expired_token_is_rejected() -> None:
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, token(), now=NOW + 181 * 86400)


def test_token_at_max_age_is_still_valid() -> None:
    claim = verify_unsubscribe_token(SECRET, token(), now=NOW + 3600, max_age_seconds=3600)

    assert claim.attempt_id == 4242


def test_token_issued_in_the_future_is_rejected() -> None:
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, token(issued_at=NOW + 86400), now=NOW)


@pytest.mark.parametrize(
    "garbage", ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "QUJD.QUJD", token() + "A"]
)
def test_garbage_is_rejected(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, garbage, now=NOW)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        make_unsubscribe_token(b"", user_id=1, recipient="a@b.c", attempt_id=1, issued_at=NOW)


@given(
    user_id=st.integers(min_value=0, max_value=2**63),
    attempt_id=st.integers(min_value=0, max_value=2**63),
    recipient=st.text(min_size=1, max_size=80),
    age=st.integers(min_value=0, max_value=180 * 86400),
)
def test_any_claim_round_trips(user_id: int, attempt_id: int, recipient: str, age: int) -> None:
    made = make_unsubscribe_token(
        SECRET, user_id=user_id, recipient=recipient, attempt_id=attempt_id, issued_at=NOW
    )

    claim = verify_unsubscribe_token(SECRET, made, now=NOW + age)

    assert claim == UnsubscribeClaim(user_id, recipient, attempt_id, NOW)


@given(
    recipient=st.emails(),
    position=st.integers(min_value=0),
    replacement=st.sampled_from(TOKEN_ALPHABET),
)
def test_any_single_character_alteration_is_rejected(
    recipient: str, position: int, replacement: str
) -> None:
    valid = token(recipient=recipient)
    index = position % len(valid)
    altered = valid[:index] + replacement + valid[index + 1 :]
    if altered == valid:
        return

    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, altered, now=NOW)


@given(st.text(max_size=120))
def test_arbitrary_strings_never_verify(text: str) -> None:
    with pytest.raises(InvalidToken):
        verify_unsubscribe_token(SECRET, text, now=NOW)


def test_every_single_character_alteration_of_one_token_is_rejected() -> None:
    valid = token()
    for index in range(len(valid)):
        for replacement in TOKEN_ALPHABET:
            altered = valid[:index] + replacement + valid[index + 1 :]
            if altered == valid:
                continue
            with pytest.raises(InvalidToken):
                verify_unsubscribe_token(SECRET, altered, now=NOW)
