"""Who may read ``/metrics`` without a key: the addresses ``--metrics-allow`` names.

Each entry is an IP address, a network in CIDR form (``10.0.0.0/8``) or a host name,
resolved once when the server starts. The default is loopback only (``127.0.0.1`` and
``::1``). A client's IPv4 address seen through an IPv6 socket (``::ffff:10.1.2.3``) is
checked as the IPv4 address it is. Behind a reverse proxy the client is the proxy,
unless uvicorn applies the proxy's ``X-Forwarded-For`` (it does for a proxy on
127.0.0.1): see docs/server.md "Monitoring".
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_METRICS_ALLOW = ("127.0.0.1", "::1")


def parse_allow(entries: Sequence[str]) -> tuple[Network, ...]:
    """The networks of ``entries`` (addresses, CIDR networks or host names).

    Raises: ValueError (an entry that is none of those, or a host name that does not
    resolve; the message names it).
    """
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            continue
        except ValueError:
            pass
        try:
            found = socket.getaddrinfo(entry.strip(), None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            raise ValueError(
                f"Invalid metrics address {entry!r}: not an IP address, a network "
                "(CIDR) or a host name that resolves"
            ) from None
        networks.extend(ipaddress.ip_network(info[4][0]) for info in found)
    return tuple(networks)


def allowed(host: str | None, networks: Sequence[Network]) -> bool:
    """Whether the client address ``host`` (None: unknown, e.g. a Unix socket) is in one
    of ``networks``."""
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)
