"""The origin guard's decision: did a request come through the trusted proxy, or from an allowed network?

A deployment behind a proxy (Cloudflare, a load balancer) wants nothing to reach remit around it: the proxy
filters, rate-limits and terminates TLS, and a request that skipped it skipped all that. The proxy sets a
header on every request it forwards (``REMIT_ORIGIN_HEADER``, default ``CF-Connecting-IP``, which Cloudflare
sets and strips from what clients send); when the ``origin_guard`` flag is on, a request without it is refused
unless its peer address is in an allow-listed network (``REMIT_ORIGIN_ALLOW``: loopback by default, so a
sidecar, a local Prometheus or an operator on the host still gets through) or its path is exempt
(``REMIT_ORIGIN_EXEMPT``, default ``/health``, for the orchestrator's probes). Pure: the middleware in
:mod:`remit.api.origin` applies it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """CIDR networks (``10.0.0.0/8``, ``::1/128``; a bare address is its own /32 or /128). A bad item raises
    :class:`ValueError` naming its position, never its text."""
    networks: list[Network] = []
    for position, item in enumerate(items, start=1):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"item {position} is not an IP network such as 10.0.0.0/8 or ::1/128") from None
    return tuple(networks)


def in_networks(address: str | None, networks: Sequence[Network]) -> bool:
    """Whether ``address`` (a peer's IP, possibly an IPv4-mapped IPv6 one) is in any of ``networks``."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """What the guard checks when it is on: the proxy's header, the allowed networks, the exempt paths."""

    header: str
    allowed: tuple[Network, ...]
    exempt: frozenset[str]

    def admits(self, *, path: str, peer: str | None, has_header: bool) -> bool:
        """Whether a request may pass the guard (pure; the caller asks only while the flag is on)."""
        return has_header or path in self.exempt or in_networks(peer, self.allowed)


__all__ = ["Network", "OriginPolicy", "in_networks", "parse_networks"]
