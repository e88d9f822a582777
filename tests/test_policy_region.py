from __future__ import annotations

import idna
import pytest
from hypothesis import given, provisional, settings
from hypothesis import strategies as st

from sendwarden.policy.addresses import InvalidAddress
from sendwarden.policy.region import (
    GENERIC_USE_CCTLDS,
    IDN_CCTLDS,
    RegionInfo,
    infer_region,
)
from tests.test_policy_addresses import idn_domains, idn_labels

FAST = settings(max_examples=200, deadline=None)

# fmt: off
ORIGINAL_EU_TLDS = [
    "de", "fr", "it", "es", "nl", "pl", "se", "at", "be", "ch", "pt", "ie", "dk", "fi",
    "no", "cz", "gr", "hu", "ro", "bg", "hr", "sk", "si", "lt", "lv", "ee",
]
# fmt: on


@pytest.mark.parametrize("tld", ORIGINAL_EU_TLDS)
def test_region_eu_cctlds_are_consent(tld: str) -> None:
    assert infer_region(f"example.{tld}") == RegionInfo("EU", "consent", tld)


@pytest.mark.parametrize("tld", ["eu", "lu", "mt", "cy", "is", "li"])
def test_region_forgotten_tlds_eu_lu_mt_cy_is_li_are_consent(tld: str) -> None:
    info = infer_region(f"mail.example.{tld}")
    assert (info.region, info.legal_basis) == ("EU", "consent")


@pytest.mark.parametrize("domain", ["example.co.uk", "example.org.uk", "ox.ac.uk", "example.uk"])
def test_region_any_uk_second_level_is_uk(domain: str) -> None:
    info = infer_region(domain)
    assert (info.region, info.legal_basis) == ("UK", "consent")


def test_region_ca_is_consent() -> None:
    assert infer_region("example.ca") == RegionInfo("CA", "consent", "ca")


@pytest.mark.parametrize("domain", ["example.com.au", "example.net.au", "example.au"])
def test_region_any_au_is_au_consent(domain: str) -> None:
    info = infer_region(domain)
    assert (info.region, info.legal_basis) == ("AU", "consent")


@pytest.mark.parametrize("domain", ["example.co.nz", "example.govt.nz", "example.nz"])
def test_region_any_nz_is_nz_consent(domain: str) -> None:
    info = infer_region(domain)
    assert (info.region, info.legal_basis) == ("NZ", "consent")


@pytest.mark.parametrize("tld", ["com", "org", "net", "info", "biz", "dev", "app", "online"])
def test_region_generic_tlds_are_us_legitimate_interest(tld: str) -> None:
    assert infer_region(f"example.{tld}") == RegionInfo("US", "legitimate_interest", tld)


def test_region_us_cctld_is_us_legitimate_interest() -> None:
    info = infer_region("example.us")
    assert (info.region, info.legal_basis) == ("US", "legitimate_interest")


@pytest.mark.parametrize("tld", sorted(GENERIC_USE_CCTLDS))
def test_region_generic_use_cctlds_io_co_me_tv_ai_are_us(tld: str) -> None:
    info = infer_region(f"example.{tld}")
    assert (info.region, info.legal_basis) == ("US", "legitimate_interest")


def test_region_generic_use_cctld_set_is_exactly_documented() -> None:
    assert frozenset({"io", "co", "me", "tv", "ai"}) == GENERIC_USE_CCTLDS


@pytest.mark.parametrize(
    ("domain", "region"), [("example.jp", "JP"), ("example.com.br", "BR"), ("example.in", "IN")]
)
def test_region_other_cctld_is_upper_cased_cctld(domain: str, region: str) -> None:
    info = infer_region(domain)
    assert (info.region, info.legal_basis) == (region, "legitimate_interest")


def test_region_private_suffix_is_ignored() -> None:
    # uk.com, eu.org and com.de are PRIVATE-section suffixes; the ICANN suffix decides.
    assert infer_region("example.uk.com") == RegionInfo("US", "legitimate_interest", "com")
    assert infer_region("example.eu.org") == RegionInfo("US", "legitimate_interest", "org")
    assert infer_region("example.com.de") == RegionInfo("EU", "consent", "de")


@pytest.mark.parametrize(("u_label", "region"), [("ею", "EU"), ("ελ", "EU"), ("бг", "EU")])
def test_region_eu_idn_cctlds_are_consent(u_label: str, region: str) -> None:
    info = infer_region(f"пример.{u_label}")
    assert (info.region, info.legal_basis) == (region, "consent")


def test_region_idn_cctld_table_keys_are_a_labels_of_real_suffixes() -> None:
    for a_label in IDN_CCTLDS:
        u_label = idna.decode(a_label)
        assert idna.encode(u_label, uts46=True).decode() == a_label
        assert infer_region(f"example.{a_label}").public_suffix == a_label


def test_region_unknown_idn_tld_is_generic() -> None:
    info = infer_region("example.xn--6frz82g")  # .移动, a generic IDN TLD
    assert (info.region, info.legal_basis) == ("US", "legitimate_interest")


def test_region_accepts_u_label_and_a_label_alike() -> None:
    assert infer_region("bücher.de") == infer_region("xn--bcher-kva.de")


def test_region_rejects_invalid_domain() -> None:
    with pytest.raises(InvalidAddress):
        infer_region("a..de")


@FAST
@given(
    st.one_of(provisional.domains(max_length=150), idn_domains),
    st.lists(idn_labels, min_size=1, max_size=3),
)
def test_region_depends_only_on_suffix(domain: str, prefix: list[str]) -> None:
    base = infer_region(domain)
    longer = infer_region(".".join([*prefix, domain]))
    assert (longer.region, longer.legal_basis) == (base.region, base.legal_basis)
