from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendwarden.policy.addresses import (
    InvalidAddress,
    address_key,
    domain_of,
    normalize_domain,
    normalize_email,
    public_suffix,
    registrable_domain,
)

FAST = settings(max_examples=200, deadline=None)

# Characters that are valid in IDNA2008 labels after UTS#46 mapping, across scripts.
_IDN_LETTERS = (
    "abcdefghijklmnopqrstuvwxyz0123456789"
    "äöüßéèçñåøæœłżźćęąšžčřůýíáóú"
    "абвгдежзийклмнопрстуфхцчшщыэюя"
    "αβγδεζηθικλμνξοπρστυφχψως"
)
_LOCAL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-_äöüßéÄÖÜÉжЖλΛ"
_SUFFIXES = ["com", "de", "co.uk", "com.au", "fr", "xn--p1ai", "рф", "ελ", "io"]

idn_labels = st.text(alphabet=_IDN_LETTERS, min_size=1, max_size=15)
registrable_idn_domains = st.builds(
    lambda label, suffix: f"{label}.{suffix}", idn_labels, st.sampled_from(_SUFFIXES)
)
idn_domains = st.builds(
    lambda subs, registrable: ".".join([*subs, registrable]),
    st.lists(idn_labels, max_size=2),
    registrable_idn_domains,
)
local_parts = st.lists(
    st.text(alphabet=_LOCAL_CHARS, min_size=1, max_size=10), min_size=1, max_size=3
).map(".".join)
idn_emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, idn_domains)


def _upper_domain(domain: str) -> str:
    # ß and ς are distinct IDNA2008 code points from their upper-case mappings (ss, σ).
    return "".join(c if c in "ßς" else c.upper() for c in domain)


def test_normalize_email_idn_domain_becomes_a_label() -> None:
    assert normalize_email("Jörg@Bücher.DE") == "Jörg@xn--bcher-kva.de"


def test_normalize_email_a_label_and_u_label_are_one_form() -> None:
    assert normalize_email("x@XN--BCHER-KVA.DE") == normalize_email("x@bücher.de")


def test_normalize_email_trims_surrounding_whitespace() -> None:
    assert normalize_email("  \tjane@example.com  ") == "jane@example.com"


def test_normalize_email_strips_trailing_dot_of_domain() -> None:
    assert normalize_email("jane@example.com.") == "jane@example.com"


def test_normalize_email_keeps_plus_tag() -> None:
    assert normalize_email("jane+outreach@example.com") == "jane+outreach@example.com"


def test_normalize_email_keeps_local_part_case_and_lowers_domain() -> None:
    assert normalize_email("Jane.Doe@Example.COM") == "Jane.Doe@example.com"


def test_normalize_email_nfc_normalises_local_part() -> None:
    decomposed = "Cafe\u0301@example.com"
    assert normalize_email(decomposed) == "Caf\u00e9@example.com"


@pytest.mark.parametrize(
    "bad", ["a@b.com\r\nBcc: x@y.com", "a@b.com\n", "\ra@b.com", "a\x00@b.com"]
)
def test_normalize_email_rejects_cr_lf_nul(bad: str) -> None:
    with pytest.raises(InvalidAddress, match="contains"):
        normalize_email(bad)


def test_normalize_email_rejects_invalid_with_clear_message() -> None:
    with pytest.raises(InvalidAddress, match=r"^'a@@b' is not a valid email address: .+"):
        normalize_email("a@@b")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plainaddress",
        '"quoted"@example.com',
        "a(comment)@example.com",
        "Jane <jane@example.com>",
        "a@[192.0.2.1]",
        "a@localhost",
        "a@foo.test",
        "a..b@example.com",
        "a@-example.com",
    ],
)
def test_normalize_email_rejects_what_email_validator_rejects(bad: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize_email(bad)


def test_invalid_address_is_a_value_error() -> None:
    assert issubclass(InvalidAddress, ValueError)


def test_address_key_lowers_local_part() -> None:
    assert address_key("Jane.Doe@Example.com") == "jane.doe@example.com"


def test_address_key_caseless_unicode_local_part() -> None:
    assert address_key("STRASSE@example.de") == address_key("straße@example.de")


def test_domain_of_returns_a_label_domain() -> None:
    assert domain_of("Jörg@Bücher.DE") == "xn--bcher-kva.de"


def test_normalize_domain_strips_at_sign_trailing_dot_and_case() -> None:
    assert normalize_domain("  @Bücher.DE. ") == "xn--bcher-kva.de"


@pytest.mark.parametrize(
    "bad", ["", "@", "example", "exa mple.com", "a_b.com", "a@b.com", "x.com\n"]
)
def test_normalize_domain_rejects_invalid_hostname(bad: str) -> None:
    with pytest.raises(InvalidAddress, match="is not a valid domain"):
        normalize_domain(bad)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("mail.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("b.example.com", "example.com"),
        ("a.b.c.example.com.au", "example.com.au"),
        ("Mail.Example.COM", "example.com"),
    ],
)
def test_registrable_domain_uses_public_suffix_list(domain: str, expected: str) -> None:
    assert registrable_domain(domain) == expected


def test_registrable_domain_of_public_suffix_is_itself() -> None:
    assert registrable_domain("co.uk") == "co.uk"
    assert registrable_domain("uk") == "uk"


def test_registrable_domain_unknown_tld_uses_default_rule() -> None:
    assert registrable_domain("zzunknown") == "zzunknown"
    assert registrable_domain("mail.example.zzunknown") == "example.zzunknown"


def test_registrable_domain_ignores_private_section() -> None:
    # github.io is a PRIVATE-section suffix: with only_icann it is one registrable domain.
    assert registrable_domain("alice.github.io") == "github.io"


def test_registrable_domain_accepts_u_labels() -> None:
    assert registrable_domain("mail.bücher.de") == "xn--bcher-kva.de"
    assert registrable_domain("почта.пример.рф") == registrable_domain("пример.xn--p1ai")


def test_registrable_domain_rejects_invalid_domain() -> None:
    with pytest.raises(InvalidAddress):
        registrable_domain("a..b")


def test_public_suffix_is_icann_suffix_in_a_label_form() -> None:
    assert public_suffix("mail.example.co.uk") == "co.uk"
    assert public_suffix("пример.рф") == "xn--p1ai"


@FAST
@given(st.emails())
def test_normalize_email_is_idempotent(email: str) -> None:
    once = normalize_email(email)
    assert normalize_email(once) == once


@FAST
@given(idn_emails)
def test_normalize_email_is_idempotent_for_idn_addresses(email: str) -> None:
    once = normalize_email(email)
    assert normalize_email(once) == once
    assert once.rsplit("@", 1)[1].isascii()


@FAST
@given(st.emails(), st.data())
def test_address_key_is_case_insensitive(email: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(email), max_size=len(email)))
    recased = "".join(c.swapcase() if flip else c for c, flip in zip(email, flips, strict=True))
    assert address_key(recased) == address_key(email)


@FAST
@given(idn_emails)
def test_address_key_is_case_insensitive_for_idn_addresses(email: str) -> None:
    local, domain = email.rsplit("@", 1)
    assert address_key(f"{local.upper()}@{_upper_domain(domain)}") == address_key(email)


@FAST
@given(st.text(max_size=30), st.sampled_from(["\r", "\n", "\r\n"]), st.text(max_size=30))
def test_any_string_with_cr_or_lf_is_rejected(before: str, newline: str, after: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize_email(before + newline + after)
    with pytest.raises(InvalidAddress):
        normalize_domain(before + newline + after)


@FAST
@given(registrable_idn_domains, st.lists(idn_labels, min_size=1, max_size=3))
def test_registrable_domain_ignores_subdomains(domain: str, subs: list[str]) -> None:
    assert registrable_domain(domain) == normalize_domain(domain)
    assert registrable_domain(".".join([*subs, domain])) == registrable_domain(domain)
