from __future__ import annotations

import pytest

from sendwarden.policy.addresses import InvalidAddress
from sendwarden.policy.sender import SenderDecision, resolve_sender

DEFAULT = "outreach@agency.com"


def test_sender_alias_none_requested_uses_default() -> None:
    decision = resolve_sender(None, ["*@agency.com"], DEFAULT)
    assert decision == SenderDecision(
        requested=None,
        effective=DEFAULT,
        fell_back=False,
        reason="No sender requested; using default sender",
    )


@pytest.mark.parametrize("empty", ["", "   "])
def test_sender_alias_empty_requested_uses_default(empty: str) -> None:
    decision = resolve_sender(empty, ["*@agency.com"], DEFAULT)
    assert (decision.requested, decision.effective, decision.fell_back) == (None, DEFAULT, False)


def test_sender_alias_exact_address_allowed() -> None:
    decision = resolve_sender("anna@agency.com", ["anna@agency.com"], DEFAULT)
    assert (decision.effective, decision.fell_back) == ("anna@agency.com", False)
    assert "anna@agency.com" in decision.reason


def test_sender_alias_glob_allows_any_local_part() -> None:
    decision = resolve_sender("ben@brand.io", ["*@brand.io"], DEFAULT)
    assert (decision.effective, decision.fell_back) == ("ben@brand.io", False)
    assert "'*@brand.io'" in decision.reason


def test_sender_alias_glob_case_insensitive() -> None:
    decision = resolve_sender("Ben.Smith@Brand.IO", ["*@BRAND.io"], DEFAULT)
    assert (decision.effective, decision.fell_back) == ("Ben.Smith@brand.io", False)


def test_sender_alias_exact_address_case_insensitive() -> None:
    decision = resolve_sender("ANNA@agency.com", ["anna@AGENCY.COM"], DEFAULT)
    assert (decision.effective, decision.fell_back) == ("ANNA@agency.com", False)


def test_sender_alias_glob_compares_idn_domain_in_a_label_form() -> None:
    assert not resolve_sender("jörg@xn--bcher-kva.de", ["*@Bücher.de"], DEFAULT).fell_back
    assert not resolve_sender("jörg@bücher.de", ["*@xn--bcher-kva.de"], DEFAULT).fell_back


def test_sender_alias_glob_in_domain_labels() -> None:
    assert not resolve_sender("a@mail.brand.io", ["*@*.brand.io"], DEFAULT).fell_back
    assert resolve_sender("a@brand.io.evil.com", ["*@*.brand.io"], DEFAULT).fell_back


def test_sender_alias_glob_does_not_match_other_domain_suffix() -> None:
    assert resolve_sender("a@notbrand.io", ["*@brand.io"], DEFAULT).fell_back


def test_sender_alias_falls_back_to_default() -> None:
    decision = resolve_sender("ceo@other.com", ["*@agency.com"], DEFAULT)
    assert decision.requested == "ceo@other.com"
    assert decision.effective == DEFAULT
    assert decision.fell_back
    assert "ceo@other.com is not allowed" in decision.reason
    assert "SMTP_FROM_EMAIL" in decision.reason


def test_sender_alias_empty_allow_list_falls_back() -> None:
    decision = resolve_sender("anna@agency.com", [], DEFAULT)
    assert (decision.effective, decision.fell_back) == (DEFAULT, True)
    assert "SMTP_ALLOWED_FROM_EMAILS is empty" in decision.reason


def test_sender_alias_blank_patterns_are_ignored() -> None:
    decision = resolve_sender("anna@agency.com", ["", "  "], DEFAULT)
    assert decision.fell_back
    assert "SMTP_ALLOWED_FROM_EMAILS is empty" in decision.reason


def test_sender_alias_default_sender_always_allowed() -> None:
    decision = resolve_sender("Outreach@Agency.com", [], DEFAULT)
    assert (decision.effective, decision.fell_back) == ("Outreach@agency.com", False)


def test_sender_alias_patterns_are_trimmed() -> None:
    assert not resolve_sender("anna@agency.com", ["  anna@agency.com  "], DEFAULT).fell_back
    assert not resolve_sender("anna@agency.com", ["*@agency.com."], DEFAULT).fell_back


def test_sender_alias_requested_is_normalised() -> None:
    decision = resolve_sender("  anna@Agency.COM. ", ["*@agency.com"], DEFAULT)
    assert decision.requested == decision.effective == "anna@agency.com"


def test_sender_alias_invalid_requested_raises() -> None:
    with pytest.raises(InvalidAddress):
        resolve_sender("not an address", ["*"], DEFAULT)


def test_sender_alias_header_injection_in_requested_raises() -> None:
    with pytest.raises(InvalidAddress):
        resolve_sender("a@agency.com\r\nBcc: x@y.com", ["*@agency.com"], DEFAULT)


def test_sender_alias_invalid_default_sender_names_the_setting() -> None:
    with pytest.raises(InvalidAddress, match="^SMTP_FROM_EMAIL is misconfigured: 'nope'"):
        resolve_sender(None, [], "nope")
