"""A real DNS server on 127.0.0.1 serving one zone (dnslib), for `doctor --dns` tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver


def txt(name: str, value: str) -> str:
    """A zone-file TXT line; long values split into 255-byte strings as DNS requires."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    return f"{name}. 300 IN TXT " + " ".join(f'"{chunk}"' for chunk in chunks)


@contextmanager
def dns_server(zone: str) -> Iterator[str]:
    """Serve `zone` (zone-file text) over UDP; yields "127.0.0.1:PORT"."""
    server = DNSServer(
        ZoneResolver(zone), address="127.0.0.1", port=0, logger=DNSLogger("-request,-reply")
    )
    server.start_thread()
    try:
        host, port = server.server.server_address[:2]
        yield f"{host}:{port}"
    finally:
        server.stop()
        server.server.server_close()
