"""The address of the client behind a request: the peer, or what trusted proxies say they saw.

The address serves two in-memory purposes only (the product event's country, the sign-in limiter);
it is never published, stored or logged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TypeAlias

from aiohttp import web

Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "X-Forwarded-For"


def parse_networks(spec: str) -> tuple[Network, ...]:
    """`"10.0.0.0/8, 2001:db8::/32, 192.0.2.7"` → networks; a bare address is a /32 (or /128)."""
    networks = []
    for part in spec.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An address as peers and proxies write it; IPv4-mapped IPv6 (`::ffff:192.0.2.1`) becomes IPv4.

    Tolerates the port some proxies append (`192.0.2.1:4711`, `[2001:db8::1]:4711`); None if unparseable.
    """
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> Address | None:
    """The peer's address, unless the peer is a trusted proxy: then the right-most address of
    `X-Forwarded-For` that is not itself a trusted proxy.

    Only the right end of the header can be believed: each trusted proxy appends the address it saw, while
    anything to the left may have been written by the client. An unparseable hop stops the walk (the chain
    is misconfigured, so nothing further left is credible) and gives None; a chain made only of trusted
    proxies gives its left-most address.
    """
    peer = parse_address(request.remote or "")
    if peer is None or not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop for header in request.headers.getall(FORWARDED_FOR, []) for hop in header.split(",")]
    found: Address = peer
    for hop in reversed(hops):
        if not hop.strip():
            continue
        address = parse_address(hop)
        if address is None:
            return None
        found = address
        if not _trusted(address, trusted):
            return address
    return found
