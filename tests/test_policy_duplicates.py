from __future__ import annotations

import hashlib
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sendwarden.policy.duplicates import duplicate_key, normalize_subject

FAST = settings(max_examples=200, deadline=None)

SENDER = "outreach@agency.com"
RECIPIENT = "jane@example.com"

subjects = st.text(max_size=40)
whitespace = st.text(alphabet=" \t\n\u00a0\u3000", min_size=1, max_size=3)


def test_normalize_subject_strips_collapses_and_casefolds() -> None:
    assert normalize_subject("  Guest   Post\tIdea \n") == "guest post idea"


def test_normalize_subject_none_is_empty() -> None:
    assert normalize_subject(None) == ""


def test_normalize_subject_casefolds_beyond_ascii() -> None:
    assert normalize_subject("STRASSE") == normalize_subject("Straße")


def test_idempotency_key_is_hex_sha256_of_normalised_components() -> None:
    expected_payload = json.dumps(["outreach@agency.com", "jane@example.com", "hello there"])
    expected = hashlib.sha256(expected_payload.encode()).hexdigest()
    assert duplicate_key("Outreach@Agency.com", " Jane@EXAMPLE.com", "  Hello   There") == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)


def test_idempotency_key_components_are_unambiguous() -> None:
    # Components that concatenate to the same text must still give different keys.
    assert duplicate_key("a@b.co", "c@d.co", "x") != duplicate_key("a@b.co", "c@d.cox", "")


def test_idempotency_key_idn_domain_spellings_agree() -> None:
    assert duplicate_key(SENDER, "jörg@bücher.de", "Hi") == duplicate_key(
        SENDER, "JÖRG@xn--bcher-kva.de", "hi"
    )


# Words without whitespace. Turkish dotless "ı" is left out: upper() maps it to "I",
# which is the upper case of "i" too, so case-insensitivity cannot hold for it.
words_strategy = st.text(alphabet=st.characters(exclude_characters="ı"), min_size=1, max_size=8)


@FAST
@given(
    st.lists(words_strategy.filter(lambda w: w.split() == [w]), max_size=5),
    st.lists(whitespace, min_size=6, max_size=6),
    st.booleans(),
)
def test_idempotency_key_invariant_under_subject_whitespace_and_case(
    words: list[str], gaps: list[str], upper: bool
) -> None:
    subject = " ".join(words)
    variant = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:], strict=False))
    variant = variant.upper() if upper else variant.lower()
    assert normalize_subject(variant) == normalize_subject(subject)
    assert duplicate_key(SENDER, RECIPIENT, variant) == duplicate_key(SENDER, RECIPIENT, subject)


@FAST
@given(subjects, subjects)
def test_idempotency_key_sensitive_to_subject(first: str, second: str) -> None:
    same = normalize_subject(first) == normalize_subject(second)
    keys_equal = duplicate_key(SENDER, RECIPIENT, first) == duplicate_key(SENDER, RECIPIENT, second)
    assert keys_equal == same


@FAST
@given(st.emails(), st.emails())
def test_idempotency_key_sensitive_to_recipient(first: str, second: str) -> None:
    same = first.lower() == second.lower()
    assert (duplicate_key(SENDER, first, "s") == duplicate_key(SENDER, second, "s")) == same


@FAST
@given(st.emails(), st.emails())
def test_idempotency_key_sensitive_to_sender(first: str, second: str) -> None:
    same = first.lower() == second.lower()
    assert (duplicate_key(first, RECIPIENT, "s") == duplicate_key(second, RECIPIENT, "s")) == same
