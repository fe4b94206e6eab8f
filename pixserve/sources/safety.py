"""Which addresses an origin may be fetched from: the SSRF guard.

Every address is checked after DNS resolution and again for every redirect, and the
connection goes to the address that was checked (no second lookup, so a DNS answer
that changes between check and connect cannot lead elsewhere). Refused by default:
loopback, private (RFC 1918 and IPv6 unique-local), shared (CGNAT, 100.64.0.0/10),
link-local (so 169.254.169.254, the cloud metadata service), IPv4-mapped and
IPv4-embedded IPv6 (6to4, Teredo, NAT64, IPv4-compatible), unspecified, multicast,
broadcast, and anything else that is not globally routable. A mount's
`allow_private` lets through loopback, private and shared addresses (all, or only
the networks it lists); the rest stays refused whatever it says.
"""

from __future__ import annotations

import ipaddress
import socket

from pixserve.sources.config import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def refusal(address: Address, allow_private: bool | tuple[Network, ...] = False) -> str | None:
    """Why pixserve must not connect to `address`, or None when it may."""
    always = _always_refused(address)
    if always is not None:
        return always
    if address.is_loopback:
        kind = "a loopback address"
    elif address in _SHARED:
        kind = "a shared (CGNAT) address"
    elif address.is_private:
        kind = "a private address"
    elif not address.is_global:
        kind = "not a public address"
    else:
        return None
    if allow_private is True:
        return None
    if isinstance(allow_private, tuple) and any(address in net for net in allow_private):
        return None
    return kind


def _always_refused(address: Address) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address == _BROADCAST:
        return "the broadcast address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        embedded = (
            address.sixtofour is not None
            or address.teredo is not None
            or any(address in net for net in _NAT64)
            or (address in _IPV4_COMPATIBLE and not address.is_loopback)
        )
        if embedded:
            return "an IPv6 address with an IPv4 address inside"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an address literal is itself); OSError if none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def checked_addresses(
    host: str, port: int, allow_private: bool | tuple[Network, ...]
) -> tuple[list[Address], str]:
    """The addresses of `host` that may be fetched from, in the resolver's order, and
    why the first refused one was (for the log, when none may)."""
    allowed: list[Address] = []
    reasons: list[str] = []
    for address in resolve(host, port):
        reason = refusal(address, allow_private)
        if reason is None:
            allowed.append(address)
        else:
            reasons.append(reason)
    return allowed, reasons[0] if reasons else "no address"
