"""Doctor checks of the sending domain's DNS: SPF, DKIM and DMARC TXT records."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.resolver

from sendwarden.services.doctor import Check, fail, ok, skip
from sendwarden.services.doctor.mail_auth import DkimRecord

DNS_TIMEOUT = 5.0


def make_resolver(nameserver: str | None) -> dns.asyncresolver.Resolver:
    """The system resolver, or one asking only `nameserver` ("IP" or "IP:PORT")."""
    if nameserver is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        host, port = nameserver, 53
        if nameserver.count(":") == 1:  # IPv4 "IP:PORT"; a bare IPv6 address has several
            host, port_text = nameserver.split(":")
            port = int(port_text)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = DNS_TIMEOUT
    return resolver


async def txt_records(resolver: dns.asyncresolver.Resolver, name: str) -> list[str]:
    try:
        answer = await resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


async def check_dns(
    domain: str | None, dkim: DkimRecord | None, selector: str | None, nameserver: str | None
) -> list[Check]:
    if domain is None:
        fix = "set SMTP_FROM_EMAIL (or DKIM_DOMAIN)"
        return [fail("DNS", "no sending domain to check", fix)]
    resolver = make_resolver(nameserver)
    try:
        return [
            await _spf(resolver, domain),
            await _dkim(resolver, domain, dkim, selector),
            await _dmarc(resolver, domain),
        ]
    except dns.exception.DNSException as exc:
        where = nameserver or "the system resolver"
        return [fail("DNS", f"cannot query {where}: {type(exc).__name__}", "check --nameserver")]


async def _spf(resolver: dns.asyncresolver.Resolver, domain: str) -> Check:
    spf = [r for r in await txt_records(resolver, domain) if r.lower().startswith("v=spf1")]
    if not spf:
        return fail(
            "DNS SPF",
            f"no SPF record at {domain}",
            f'publish a TXT record at {domain}: "v=spf1 include:<your SMTP provider> ~all"',
        )
    if len(spf) > 1:
        return fail("DNS SPF", f"{len(spf)} SPF records at {domain}", "merge them into one")
    return ok("DNS SPF", spf[0])


async def _dkim(
    resolver: dns.asyncresolver.Resolver,
    domain: str,
    dkim: DkimRecord | None,
    selector: str | None,
) -> Check:
    if not selector:
        return skip("DNS DKIM", "no DKIM_SELECTOR: signing is off")
    name = f"{selector}._domainkey.{domain}"
    found = [r for r in await txt_records(resolver, name) if "p=" in r]
    publish = f'publish a TXT record at {name}: "{dkim.value}"' if dkim else "publish the key"
    if not found:
        return fail("DNS DKIM", f"no DKIM record at {name}", publish)
    if dkim is not None and all(_tags(r).get("p") != dkim.public_key for r in found):
        return fail("DNS DKIM", f"the record at {name} holds another public key", publish)
    return ok("DNS DKIM", f"{name} publishes the signing key")


async def _dmarc(resolver: dns.asyncresolver.Resolver, domain: str) -> Check:
    name = f"_dmarc.{domain}"
    found = [r for r in await txt_records(resolver, name) if r.lower().startswith("v=dmarc1")]
    if not found:
        return fail(
            "DNS DMARC",
            f"no DMARC record at {name}",
            f'publish a TXT record at {name}: "v=DMARC1; p=none; rua=mailto:dmarc@{domain}"',
        )
    return ok("DNS DMARC", found[0])
