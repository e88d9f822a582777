"""Region and legal basis of a recipient, from the public suffix of its domain (§3.5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sendwarden.policy.addresses import public_suffix

LegalBasis = Literal["consent", "legitimate_interest"]

# product.md §3.5, including .eu .lu .mt .cy .is .li which the original table forgot.
# fmt: off
EU_CONSENT_TLDS = frozenset({
    "de", "fr", "it", "es", "nl", "pl", "se", "at", "be", "ch", "pt", "ie", "dk", "fi",
    "no", "cz", "gr", "hu", "ro", "bg", "hr", "sk", "si", "lt", "lv", "ee",
    "eu", "lu", "mt", "cy", "is", "li",
})
# fmt: on

# Other consent regions: any second level counts (.co.uk, .ac.uk, .com.au, .govt.nz, ...).
OTHER_CONSENT_TLDS = {"uk": "UK", "ca": "CA", "au": "AU", "nz": "NZ"}

# Two-letter ccTLDs that are marketed and used as generic TLDs; the spec names .io
# explicitly. None of them is a consent region, so this set only changes the region
# label ("US" instead of e.g. "CO"), never the legal basis.
GENERIC_USE_CCTLDS = frozenset({"io", "co", "me", "tv", "ai"})

# Internationalised (non-ASCII) ccTLDs, A-label -> region. The consent-region ones
# (EU/Greece/Bulgaria) must be here or their recipients would wrongly be treated as
# legitimate interest; the rest are the most common others. An IDN TLD not listed
# here cannot be told apart from an IDN generic TLD (.онлайн) and is treated as generic.
IDN_CCTLDS = {
    "xn--e1a4c": "EU",  # .ею
    "xn--qxa6a": "EU",  # .ευ
    "xn--qxam": "EU",  # .ελ (Greece)
    "xn--90ae": "EU",  # .бг (Bulgaria)
    "xn--p1ai": "RU",  # .рф
    "xn--j1amh": "UA",  # .укр
    "xn--90a3ac": "RS",  # .срб
    "xn--fiqs8s": "CN",  # .中国
    "xn--fiqz9s": "CN",  # .中國
    "xn--j6w193g": "HK",  # .香港
    "xn--kprw13d": "TW",  # .台湾
    "xn--kpry57d": "TW",  # .台灣
    "xn--3e0b707e": "KR",  # .한국
    "xn--h2brj9c": "IN",  # .भारत
    "xn--o3cw4h": "TH",  # .ไทย
    "xn--mgberp4a5d4ar": "SA",  # .السعودية
    "xn--mgbaam7a8h": "AE",  # .امارات
    "xn--wgbh1c": "EG",  # .مصر
    "xn--4dbrk0ce": "IL",  # .ישראל
}

CONSENT_REGIONS = frozenset({"EU", "UK", "CA", "AU", "NZ"})


@dataclass(frozen=True)
class RegionInfo:
    region: str
    legal_basis: LegalBasis
    public_suffix: str


def _region_of_tld(tld: str) -> str:
    if tld in EU_CONSENT_TLDS:
        return "EU"
    if tld in OTHER_CONSENT_TLDS:
        return OTHER_CONSENT_TLDS[tld]
    if tld in IDN_CCTLDS:
        return IDN_CCTLDS[tld]
    if len(tld) == 2 and tld.isalpha() and tld not in GENERIC_USE_CCTLDS and tld != "us":
        return tld.upper()
    return "US"


def infer_region(domain: str) -> RegionInfo:
    """Region and legal basis for a recipient domain (A-label or U-label, any depth)."""
    suffix = public_suffix(domain)
    region = _region_of_tld(suffix.rsplit(".", 1)[-1])
    basis: LegalBasis = "consent" if region in CONSENT_REGIONS else "legitimate_interest"
    return RegionInfo(region=region, legal_basis=basis, public_suffix=suffix)
