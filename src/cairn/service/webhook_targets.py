"""Where a webhook may go (no SSRF): the URL rules, checked when an integration is saved
and again, with a fresh DNS lookup, before every delivery attempt.

A URL must be ``https`` and every address its host resolves to must be a public one
(``ipaddress``'s ``is_global``: no loopback, private, link-local, multicast or reserved
address), unless the host is allowed: ``--webhook-allow HOST|CIDR`` on a server,
``CAIRN_WEBHOOK_ALLOW`` in embedded mode. A host named by an allow entry, or whose
addresses all lie in allowed networks, may also use ``http``. The delivery connects to the
address checked here (``Target.address``), never to a second lookup's answer, so a DNS
answer that changes between check and connect (rebinding) gains nothing; redirects are
never followed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048


@dataclasses.dataclass(frozen=True)
class WebhookPolicy:
    """How webhooks are sent: the allowed hosts and networks, the timeout of one attempt,
    the first retry delay (doubled after each failure, at most ``max_backoff_seconds``)
    and how long after its event a delivery is given up."""

    allow: tuple[str, ...] = ()
    timeout_seconds: float = 10.0
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    give_up_seconds: float = 24 * 3600.0

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery is its worker's before another may take it."""
        return 2 * self.timeout_seconds + 5.0


DEFAULT_POLICY = WebhookPolicy()


@dataclasses.dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` and say ``host`` (Host header, TLS name)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, at least "/"
    address: str

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def check_allow(entries: Sequence[str]) -> tuple[str, ...]:
    """The allow entries, each a host name, an address or a CIDR network.

    Raises: ValueError (an empty entry, or one with a scheme, path or port).
    """
    checked = []
    for entry in entries:
        text = entry.strip().lower()
        if not text or (any(c in text for c in "/@?#") and not _network(text)):
            raise ValueError(f"Invalid webhook allow entry {entry!r}: expected HOST or CIDR")
        checked.append(text)
    return tuple(checked)


def _network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (tests replace this to play DNS tricks).

    Raises: OSError (the name does not resolve).
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def _refused(address: Address, networks: Sequence[Network]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in networks):
        return False
    return not address.is_global or address.is_multicast


def check_url(url: str, policy: WebhookPolicy) -> Target:
    """Check ``url`` against ``policy`` now (resolving its host) and name the address to
    connect to.

    Raises: ValueError naming what is refused (a bad URL, a scheme, a host that does not
    resolve or resolves to a refused address).
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise ValueError("Invalid webhook URL: expected a URL of at most 2048 characters")
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"Invalid webhook URL {url!r}: expected https://host/...")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"Invalid webhook URL {url!r}: no user or password in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"Invalid webhook URL {url!r}: bad port") from None
    networks = [n for n in (_network(e) for e in policy.allow) if n is not None]
    host_allowed = host in policy.allow
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError, ValueError):
        raise ValueError(f"Webhook host {host!r} does not resolve") from None
    if not addresses:
        raise ValueError(f"Webhook host {host!r} does not resolve")
    if not host_allowed:
        refused = [a for a in addresses if _refused(a, networks)]
        if refused:
            raise ValueError(
                f"Webhook host {host!r} resolves to {refused[0]}, which is not a public "
                "address (allow it with --webhook-allow / CAIRN_WEBHOOK_ALLOW)"
            )
    allowed = host_allowed or all(any(a in n for n in networks) for a in addresses)
    if parts.scheme != "https" and not allowed:
        raise ValueError(f"Invalid webhook URL {url!r}: only https (http for allowed hosts)")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, str(addresses[0]))
