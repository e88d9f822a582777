"""Address and domain normalisation: one canonical form for storing and comparing.

Every address Sendwarden stores or compares goes through `normalize_email`, every
domain-level entry through `normalize_domain`, so suppression, idempotency and
caps all see the same spelling of the same mailbox or domain.
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

import idna
from email_validator import EmailNotValidError, validate_email
from publicsuffixlist import PublicSuffixList

# Characters that would let an address smuggle extra header lines or truncate strings.
_FORBIDDEN_CHARS = {"\r": "CR", "\n": "LF", "\x00": "NUL"}


# RFC 6761 reserves `.test` for testing; email-validator refuses it unless told that
# this is a test environment. Off by default; `allow_test_domains` turns it on.
_test_domains_allowed = False


def allow_test_domains(allowed: bool) -> None:
    """Accept (or refuse again) `.test` addresses and domains, process-wide.

    Set once at start-up from SENDWARDEN_ALLOW_TEST_DOMAINS, for staging setups
    whose mailboxes live under `.test`; never needed in production. Memoised results
    are dropped so that the change applies at once.
    """
    global _test_domains_allowed
    _test_domains_allowed = allowed
    normalize_email.cache_clear()


def test_domains_allowed() -> bool:
    return _test_domains_allowed


class InvalidAddress(ValueError):
    """An email address or domain that Sendwarden refuses to store or send to."""


def _reject_control_chars(raw: str, what: str) -> None:
    # Checked before trimming: "a@b.com\r\n" must be rejected, not silently repaired.
    found = [name for char, name in _FORBIDDEN_CHARS.items() if char in raw]
    if found:
        raise InvalidAddress(f"{raw!r} is not a valid {what}: it contains {'/'.join(found)}")


# Memoised: a send normalises the same two or three addresses about ten times
# (policy, sender alias, duplicate key, suppression keys) and email-validator
# costs ~0.2 ms per call. Failures raise and are therefore never cached.
@lru_cache(maxsize=4096)
def normalize_email(raw: str) -> str:
    """Return the canonical form `local@a-label-domain` of `raw`, or raise InvalidAddress.

    The local part keeps its case (mailbox names may be case-sensitive on delivery) and
    is NFC-normalised; the domain is lower-cased IDNA A-label (punycode) form.
    """
    _reject_control_chars(raw, "email address")
    if "=?" in raw:
        # RFC 2047 encoded-word syntax: header parsers decode it even inside an address.
        raise InvalidAddress(f"{raw!r} is not a valid email address: it contains '=?'")
    candidate = raw.strip()
    if candidate.endswith("."):
        # A fully-qualified "a@example.com." names the same mailbox as "a@example.com".
        candidate = candidate[:-1]
    try:
        validated = validate_email(
            candidate,
            check_deliverability=False,
            allow_smtputf8=True,
            test_environment=_test_domains_allowed,
        )
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{raw!r} is not a valid email address: {exc}") from None
    # ascii_domain is always set in email-validator 2.x; it is the A-label form.
    return f"{validated.local_part}@{validated.ascii_domain}"


def address_key(email: str) -> str:
    """Comparison key: the normalised address with the local part case-folded too.

    casefold (not lower) so that caseless spellings such as "STRASSE"/"straße" compare
    equal; for a suppression list over-matching is the safe side.
    """
    local, domain = normalize_email(email).rsplit("@", 1)
    return f"{unicodedata.normalize('NFC', local.casefold())}@{domain}"


def mailbox_key(email: str) -> str:
    """address_key without a sub-address: "Editor+Tag@x.com" -> "editor@x.com".

    "+tag" variants reach the same person, so suppression and the duplicate rule
    compare mailboxes by this key; mail is still sent to the address as given.
    A local part that starts with "+" has no base mailbox and is kept whole.
    """
    return mailbox_of_key(address_key(email))


def mailbox_of_key(key: str) -> str:
    """mailbox_key of a value that already is an address_key: no validation again
    (email-validator is most of a bulk import's cost)."""
    local, domain = key.rsplit("@", 1)
    base = local.split("+", 1)[0]
    return f"{base or local}@{domain}"


def domain_of(email: str) -> str:
    """A-label domain of an address (normalising it first, so any valid spelling works)."""
    return normalize_email(email).rsplit("@", 1)[1]


def normalize_domain(raw: str) -> str:
    """Canonical A-label form of a domain-level suppression entry such as "@Bücher.de."."""
    _reject_control_chars(raw, "domain")
    candidate = raw.strip().removeprefix("@").removesuffix(".")
    if not candidate:
        raise InvalidAddress(f"{raw!r} is not a valid domain: it is empty")
    try:
        # Validating a dummy address applies exactly the hostname rules that
        # normalize_email applies, so domain entries and address domains agree.
        validated = validate_email(
            f"postmaster@{candidate}",
            check_deliverability=False,
            allow_smtputf8=True,
            test_environment=_test_domains_allowed,
        )
    except EmailNotValidError as exc:
        reason = str(exc).replace("The part after the @-sign", "The domain")
        raise InvalidAddress(f"{raw!r} is not a valid domain: {reason}") from None
    return str(validated.ascii_domain)


@lru_cache(maxsize=4096)
def to_a_label(domain: str) -> str:
    """Lenient A-label conversion for any DNS name, including bare TLDs and public suffixes.

    Unlike normalize_domain this accepts single-label names ("uk", "localhost"), which
    are valid inputs for public-suffix look-ups but never valid mail domains.
    """
    _reject_control_chars(domain, "domain")
    return a_label(domain.strip().removesuffix("."), shown=domain)


def a_label(domain: str, *, shown: str | None = None) -> str:
    """The IDNA A-label (punycode) form of a domain under UTS #46, as it goes on the wire.

    The one IDNA encoder: policy keys, SMTP envelopes, headers and DKIM all use it.
    """
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidAddress(f"{shown or domain!r} is not a valid domain: {exc}") from None


@cache
def _public_suffix_list() -> PublicSuffixList:
    # Loaded lazily and once: parsing the bundled list costs ~40 ms. ICANN section only,
    # so private entries such as github.io do not split organisations into many "domains".
    return PublicSuffixList(only_icann=True)


def public_suffix(domain: str) -> str:
    """ICANN public suffix (A-label) of `domain`; an unknown TLD is its own suffix."""
    a_label = to_a_label(domain)
    suffix = _public_suffix_list().publicsuffix(a_label)
    return str(suffix) if suffix is not None else a_label


@lru_cache(maxsize=4096)
def registrable_domain(domain: str) -> str:
    """Registrable domain (public suffix plus one label) per the ICANN Public Suffix List.

    "mail.example.co.uk" -> "example.co.uk". A domain that is itself a public suffix
    (or a bare unknown TLD) is returned unchanged. Unknown TLDs follow the PSL default
    rule "*", so "mail.example.zz" -> "example.zz".
    """
    a_label = to_a_label(domain)
    registrable = _public_suffix_list().privatesuffix(a_label)
    return str(registrable) if registrable is not None else a_label


def valid_address(value: str | None) -> str | None:
    """The normalised address, or None when `value` is absent or not an address."""
    if not value:
        return None
    try:
        return normalize_email(value)
    except InvalidAddress:
        return None
