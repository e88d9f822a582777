"""SSRF guard: webhook targets must be public https URLs, checked after DNS resolution.

The address checked is the address connected to (the request goes to the
resolved IP, with the original Host header and TLS server name), so a DNS
answer that changes between the check and the connection (rebinding) cannot
redirect a delivery to an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """A URL that Sendwarden refuses to deliver to; the message says why."""


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def check_url(url: str, *, allow_private: bool) -> httpx.URL:
    """Validate the form of a target URL (and a literal IP host) when it is configured."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnsafeTarget(f"{url!r} is not a valid URL") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parsed.scheme not in schemes:
        raise UnsafeTarget(
            "only https:// URLs are allowed"
            + ("" if allow_private else " (SENDWARDEN_WEBHOOKS_ALLOW_PRIVATE=true allows http://)")
        )
    if not parsed.host:
        raise UnsafeTarget("the URL has no host")
    if parsed.userinfo:
        raise UnsafeTarget("credentials in the URL are not allowed; use the signature")
    literal = _literal_ip(parsed.host)
    if literal is not None and not allow_private and not is_public(literal):
        raise UnsafeTarget(f"{parsed.host} is a private, loopback or reserved address")
    return parsed


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class PinnedTarget:
    url: httpx.URL  # with the resolved IP as host
    host_header: str
    server_name: str  # for TLS SNI and certificate checks


async def resolve(url: str, *, allow_private: bool) -> list[PinnedTarget]:
    """Resolve the host now and refuse any non-public answer (unless allowed).

    Returns one pinned target per resolved address, to be tried in order.
    """
    parsed = check_url(url, allow_private=allow_private)
    host = parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = _literal_ip(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            raise UnsafeTarget(f"cannot resolve {host}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise UnsafeTarget(f"cannot resolve {host}")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise UnsafeTarget(f"{host} resolves to a non-public address ({address})")
    host_header = host if parsed.port is None else f"{host}:{parsed.port}"
    return [
        PinnedTarget(url=parsed.copy_with(host=str(a)), host_header=host_header, server_name=host)
        for a in addresses
    ]
