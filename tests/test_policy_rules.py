from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendwarden.policy.addresses import InvalidAddress
from sendwarden.policy.duplicates import duplicate_key
from sendwarden.policy.rules import (
    PolicyDecision,
    PolicyInputs,
    SuppressionHit,
    evaluate,
    refused,
)
from sendwarden.policy.sender import resolve_sender
from tests.test_policy_addresses import idn_emails

FAST = settings(max_examples=200, deadline=None)

CHECK_ORDER = (
    "sender_alias",
    "suppression",
    "idempotency",
    "daily_user_cap",
    "daily_domain_cap",
    "legal_basis",
)
SENDER = resolve_sender(None, [], "outreach@agency.com")


def inputs(**changes: Any) -> PolicyInputs:
    base = PolicyInputs(
        recipient_email="jane@mail.example.com",
        sender=SENDER,
        subject="Guest post idea",
        user_count=0,
        user_cap=100,
        domain_count=0,
        domain_cap=20,
        suppression=None,
        duplicate=None,
        require_consent=False,
        consent_recorded=None,
    )
    return replace(base, **changes)


def detail(decision: PolicyDecision, name: str) -> str:
    return next(check.detail for check in decision.checks if check.name == name)


def test_all_checks_pass_when_nothing_blocks() -> None:
    decision = evaluate(inputs())
    assert decision.allowed
    assert decision.reason == "All checks passed"
    assert decision.blocked_by is None
    assert all(check.passed for check in decision.checks)


def test_all_six_checks_always_returned_in_order() -> None:
    decision = evaluate(
        inputs(suppression=SuppressionHit("jane@mail.example.com", "email", "user", None))
    )
    assert tuple(check.name for check in decision.checks) == CHECK_ORDER


def test_decision_carries_recipient_domain_region_and_counts() -> None:
    decision = evaluate(inputs(recipient_email="Jörg@mail.Bücher.de", user_count=3, domain_count=2))
    assert decision.recipient_email == "Jörg@mail.xn--bcher-kva.de"
    assert decision.recipient_domain == "mail.xn--bcher-kva.de"
    assert decision.registrable_domain == "xn--bcher-kva.de"
    assert (decision.region, decision.legal_basis) == ("EU", "consent")
    assert (decision.user_count, decision.user_cap) == (3, 100)
    assert (decision.domain_count, decision.domain_cap) == (2, 20)


def test_idempotency_key_uses_effective_sender() -> None:
    fell_back = resolve_sender("ceo@other.com", ["*@agency.com"], "outreach@agency.com")
    decision = evaluate(inputs(sender=fell_back))
    assert decision.duplicate_key == duplicate_key(
        "outreach@agency.com", "jane@mail.example.com", "Guest post idea"
    )


def test_sender_alias_never_blocks() -> None:
    fell_back = resolve_sender("ceo@other.com", ["*@agency.com"], "outreach@agency.com")
    decision = evaluate(inputs(sender=fell_back))
    assert decision.allowed
    assert decision.sender is fell_back
    assert decision.checks[0].passed
    assert detail(decision, "sender_alias") == fell_back.reason
    assert "fell back" in detail(decision, "sender_alias")


def test_suppression_blocks_by_email() -> None:
    hit = SuppressionHit("jane@mail.example.com", "email", "user", "replied: not interested")
    decision = evaluate(inputs(suppression=hit))
    assert not decision.allowed
    assert decision.blocked_by == "suppression"
    assert "jane@mail.example.com (email, user): replied: not interested" in decision.reason


def test_suppression_blocks_by_registrable_domain() -> None:
    hit = SuppressionHit("example.com", "domain", "global", "competitor")
    decision = evaluate(inputs(suppression=hit))
    assert decision.blocked_by == "suppression"
    assert "example.com (domain, global): competitor" in decision.reason


def test_suppression_without_reason_still_names_the_match() -> None:
    hit = SuppressionHit("example.com", "domain", "user", None)
    assert detail(evaluate(inputs(suppression=hit)), "suppression").endswith(
        "suppressed by example.com (domain, user)"
    )


def test_idempotency_blocks_sent_within_24h() -> None:
    decision = evaluate(inputs(duplicate="sent"))
    assert decision.blocked_by == "idempotency"
    assert decision.reason == (
        "Already sent to jane@mail.example.com with this subject "
        "from outreach@agency.com within 24 h"
    )


def test_idempotency_blocks_in_flight() -> None:
    decision = evaluate(inputs(duplicate="in_flight"))
    assert decision.blocked_by == "idempotency"
    assert "in progress" in decision.reason


def test_user_cap_allows_below_cap() -> None:
    decision = evaluate(inputs(user_count=99))
    assert decision.allowed
    assert "99/100" in detail(decision, "daily_user_cap")


def test_user_cap_blocks_at_cap() -> None:
    decision = evaluate(inputs(user_count=100))
    assert decision.blocked_by == "daily_user_cap"
    assert "100/100" in decision.reason


def test_domain_cap_blocks_at_cap() -> None:
    decision = evaluate(inputs(domain_count=20))
    assert decision.blocked_by == "daily_domain_cap"
    assert "20/20" in decision.reason
    assert "example.com" in decision.reason


def test_domain_cap_detail_names_registrable_domain() -> None:
    decision = evaluate(inputs(recipient_email="a@mail.example.co.uk", domain_count=5))
    assert "example.co.uk" in detail(decision, "daily_domain_cap")
    assert "mail.example.co.uk" not in detail(decision, "daily_domain_cap")


@pytest.mark.parametrize("field", ["user_cap", "domain_cap"])
def test_cap_zero_blocks(field: str) -> None:
    decision = evaluate(inputs(**{field: 0}))
    assert (
        decision.blocked_by
        == {"user_cap": "daily_user_cap", "domain_cap": "daily_domain_cap"}[field]
    )


@pytest.mark.parametrize("field", ["user_count", "user_cap", "domain_count", "domain_cap"])
def test_negative_counts_and_caps_are_rejected(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        inputs(**{field: -1})


def test_legal_basis_legitimate_interest_passes() -> None:
    decision = evaluate(inputs(require_consent=True, consent_recorded=False))
    assert decision.allowed
    assert decision.legal_basis == "legitimate_interest"
    assert "Legitimate interest" in detail(decision, "legal_basis")


def test_legal_basis_consent_region_passes_when_strict_mode_off() -> None:
    decision = evaluate(inputs(recipient_email="a@example.de", consent_recorded=False))
    assert decision.allowed
    assert decision.legal_basis == "consent"


def test_legal_basis_strict_blocks_consent_region_without_recorded_consent() -> None:
    decision = evaluate(
        inputs(recipient_email="a@example.co.uk", require_consent=True, consent_recorded=False)
    )
    assert decision.blocked_by == "legal_basis"
    assert "no recorded consent" in decision.reason


def test_legal_basis_strict_passes_with_recorded_consent() -> None:
    decision = evaluate(
        inputs(recipient_email="a@example.ca", require_consent=True, consent_recorded=True)
    )
    assert decision.allowed
    assert "on record" in detail(decision, "legal_basis")


def test_legal_basis_strict_unknown_consent_passes_with_warning() -> None:
    decision = evaluate(
        inputs(recipient_email="a@example.com.au", require_consent=True, consent_recorded=None)
    )
    assert decision.allowed
    assert "must be on record at send time" in detail(decision, "legal_basis")


def test_reason_is_detail_of_first_failing_check() -> None:
    decision = evaluate(
        inputs(
            duplicate="sent",
            user_count=100,
            suppression=SuppressionHit("example.com", "domain", "global", None),
        )
    )
    failing = [check.name for check in decision.checks if not check.passed]
    assert failing == ["suppression", "idempotency", "daily_user_cap"]
    assert decision.blocked_by == "suppression"
    assert decision.reason == detail(decision, "suppression")


def test_evaluate_is_pure() -> None:
    args = inputs(duplicate="in_flight", domain_count=20)
    assert evaluate(args) == evaluate(args)


def test_evaluate_rejects_invalid_recipient() -> None:
    with pytest.raises(InvalidAddress):
        evaluate(inputs(recipient_email="not-an-address"))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"duplicate": "sent", "user_count": 100, "domain_count": 20},
        {"suppression": SuppressionHit("example.com", "domain", "global", None)},
        {"recipient_email": "a@example.de", "require_consent": True, "consent_recorded": False},
    ],
)
def test_details_are_human_readable_sentences(changes: dict[str, Any]) -> None:
    for check in evaluate(inputs(**changes)).checks:
        assert check.detail[0].isupper(), check.detail
        assert "None" not in check.detail
        assert "_" not in check.detail.split(" ")[0]


@FAST
@given(
    st.one_of(st.emails(), idn_emails),
    st.integers(0, 30),
    st.integers(0, 30),
    st.sampled_from([None, "sent", "in_flight"]),
    st.booleans(),
    st.sampled_from([None, True, False]),
)
def test_allowed_iff_every_check_passes(
    email: str,
    user_count: int,
    domain_count: int,
    duplicate: Any,
    require_consent: bool,
    consent: bool | None,
) -> None:
    decision = evaluate(
        inputs(
            recipient_email=email,
            user_count=user_count,
            user_cap=20,
            domain_count=domain_count,
            domain_cap=10,
            duplicate=duplicate,
            require_consent=require_consent,
            consent_recorded=consent,
        )
    )
    assert tuple(check.name for check in decision.checks) == CHECK_ORDER
    assert decision.allowed == all(check.passed for check in decision.checks)
    assert decision.allowed == (decision.blocked_by is None)
    assert (user_count < 20) == decision.checks[3].passed
    assert (domain_count < 10) == decision.checks[4].passed
    assert (duplicate is None) == decision.checks[2].passed
    blocks_consent = require_consent and consent is False and decision.legal_basis == "consent"
    assert decision.checks[5].passed == (not blocks_consent)


@pytest.mark.parametrize("rule", ["idempotency", "daily_user_cap", "daily_domain_cap"])
def test_refused_reservation_fails_exactly_that_check(rule: str) -> None:
    allowed = evaluate(inputs())
    lost = refused(allowed, rule, f"{rule} lost the race")  # type: ignore[arg-type]
    assert not lost.allowed and lost.blocked_by == rule
    assert lost.reason == f"{rule} lost the race" == detail(lost, rule)
    assert [c.name for c in lost.checks] == list(CHECK_ORDER)
    assert [c for c in lost.checks if c.name != rule] == [
        c for c in allowed.checks if c.name != rule
    ]
