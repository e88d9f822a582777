"""Doctor checks of what receivers verify: DKIM key and record, SPF, DMARC, and the
public URL that one-click unsubscribe links point to."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sendwarden.config import Settings
from sendwarden.services.doctor import Check, fail, ok, skip


@dataclass(frozen=True)
class DkimRecord:
    name: str  # selector._domainkey.domain
    value: str  # v=DKIM1; k=...; p=...
    public_key: str  # the p= value


def sending_domain(settings: Settings) -> str | None:
    if settings.dkim_domain:
        return settings.dkim_domain.strip().lower().rstrip(".")
    if settings.smtp_from_email and "@" in settings.smtp_from_email:
        return settings.smtp_from_email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    return None


def dkim_record(pem: bytes, selector: str, domain: str) -> DkimRecord:
    """The TXT record that publishes the public half of `pem` (RSA or Ed25519)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        kind = "ed25519"
    elif isinstance(key, rsa.RSAPrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        kind = "rsa"
    else:
        raise ValueError("DKIM keys are RSA or Ed25519")
    public = base64.b64encode(raw).decode()
    return DkimRecord(f"{selector}._domainkey.{domain}", f"v=DKIM1; k={kind}; p={public}", public)


def check_dkim(settings: Settings) -> tuple[list[Check], DkimRecord | None]:
    path, selector = settings.dkim_private_key_path, settings.dkim_selector
    if path is None or not selector:
        return [
            skip(
                "DKIM key",
                "DKIM signing is off",
                "set DKIM_PRIVATE_KEY_PATH and DKIM_SELECTOR to sign messages",
            )
        ], None
    domain = sending_domain(settings)
    if domain is None:
        return [fail("DKIM key", "no signing domain", "set DKIM_DOMAIN or SMTP_FROM_EMAIL")], None
    try:
        record = dkim_record(path.read_bytes(), selector, domain)
    except OSError as exc:
        return [
            fail(
                "DKIM key",
                f"cannot read {path}: {exc.strerror or exc}",
                "point DKIM_PRIVATE_KEY_PATH at a readable PEM private key",
            )
        ], None
    except (ValueError, TypeError) as exc:
        return [
            fail("DKIM key", f"{path} is not a usable private key: {exc}", "use a PEM RSA key")
        ], None
    detail = f'readable; publish this TXT record: {record.name} TXT "{record.value}"'
    return [ok("DKIM key", detail)], record


def check_public_url(settings: Settings) -> list[Check]:
    url = settings.sendwarden_public_url
    fix = (
        "set SENDWARDEN_PUBLIC_URL to this server's public base URL (https://...) so that"
        " messages carry one-click List-Unsubscribe links"
    )
    if not url:
        return [fail("Public URL", "SENDWARDEN_PUBLIC_URL is not set", fix)]
    if not url.startswith(("https://", "http://")):
        return [fail("Public URL", f"{url!r} is not an http(s) URL", fix)]
    return [ok("Public URL", f"one-click unsubscribe links point to {url}")]
