"""Website URL normalisation: one lead per site per campaign."""

from __future__ import annotations

from urllib.parse import urlsplit

from sendwarden.policy.addresses import InvalidAddress, a_label


class InvalidWebsite(ValueError):
    pass


def normalize_website(raw: str) -> tuple[str, str]:
    """Return (cleaned URL, comparison key) for a lead's website.

    The key ignores scheme, a leading "www.", letter case of the host, a
    trailing slash and fragments, so "https://www.Example.com/" and
    "http://example.com" are the same site.
    """
    url = raw.strip()
    if any(ch in url for ch in "\r\n\x00\t "):
        raise InvalidWebsite("website_url must not contain whitespace or control characters")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidWebsite("website_url must be an http or https URL")
    host = (parts.hostname or "").rstrip(".")
    if not host or "." not in host:
        raise InvalidWebsite(f"website_url {raw!r} has no valid host name")
    if host.isascii():
        ascii_host = host.lower()  # as before: lenient (an underscore is no IDNA matter)
    else:
        # The one IDNA encoder (UTS #46, IDNA 2008), as for addresses: Python's "idna"
        # codec is IDNA 2003, which turned faß.de into fass.de, another site.
        try:
            ascii_host = a_label(host)
        except InvalidAddress as exc:
            raise InvalidWebsite(f"website_url {raw!r} has an invalid host name") from exc
    key_host = ascii_host.removeprefix("www.")
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    port = f":{parts.port}" if parts.port else ""
    cleaned = f"{parts.scheme.lower()}://{ascii_host}{port}{parts.path or '/'}{query}"
    return cleaned, f"{key_host}{port}{path}{query}"
