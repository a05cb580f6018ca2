"""Where webhooks may go: a customer's URL must not make the service call into its own network.

Without this, a customer could subscribe `http://127.0.0.1:8545/` (the chain's RPC),
`http://169.254.169.254/` (a cloud's metadata service) or `http://10.0.0.5:5432/` and read the
answers back from the delivery log: a port scanner and a proxy into the issuer's network.

Unless private networks are allowed (`CNH_WEBHOOK_PRIVATE_NETWORKS`; by default only in sandbox
mode, where the developer's own machine is the point), a delivery goes only to public addresses:
- at registration, an address literal (also legacy IPv4 forms such as `2130706433` or `0`) or a
  `localhost` name that is not public is refused with a 422 naming `body.url`;
- at delivery, the host name is resolved, every address it resolves to must be public, and the
  connection is made to the address that was checked (the request keeps the name in `Host` and in
  TLS SNI and certificate checks), so a name cannot resolve to a public address when checked and to
  a private one when connected (DNS rebinding).
A host that is not a valid DNS name (`a..b`, a label over 63 characters, a space) is refused at
registration whatever the setting: no delivery to it could ever succeed.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class DestinationRefused(Exception):
    """The URL's host is not one a webhook may be sent to; the message says why."""


def host_problem(hostname: str) -> str | None:
    """Why this host can never be reached, or None: an address literal, or a DNS name whose labels
    are 1–63 letters, digits, hyphens or underscores once IDNA-encoded."""
    if literal_address(hostname) is not None:
        return None
    try:
        ascii_name = hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return "url host is not a valid domain name (empty label or label over 63 characters)"
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in ascii_name.split(".")):
        return "url host is not a valid domain name; use letters, digits and hyphens, e.g. hooks.example.com"
    return None


def literal_address(hostname: str) -> IPAddress | None:
    """The address a host written as an address stands for, including the legacy IPv4 forms the
    system resolver accepts (`2130706433`, `127.1`, `0x7f.0.0.1`, `0`), written in full-width digits
    or with a trailing dot."""
    hostname = unicodedata.normalize("NFKC", hostname).rstrip(".")
    try:
        return ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-FxX.]+", hostname):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(hostname))
        except OSError:
            return None
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, shared, reserved or multicast.
    An IPv6 address that carries an IPv4 one (mapped, compatible, 6to4, NAT64) is judged by it too."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class Pinned:
    """A request to `url` (its host replaced by the checked address), with these headers and httpx
    request extensions keeping the original name for `Host`, SNI and the certificate check."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Destinations:
    private_networks: bool
    resolve: Callable[[str, int], list[str]] = _resolve

    def is_public(self, address: IPAddress) -> bool:
        return is_public(address)

    def registration_problem(self, parts: SplitResult) -> str | None:
        hostname = parts.hostname or ""
        problem = host_problem(hostname)
        if problem is not None or self.private_networks:
            return problem
        address = literal_address(hostname)
        local_name = hostname.rstrip(".").lower() == "localhost" or hostname.rstrip(".").lower().endswith(".localhost")
        if local_name or (address is not None and not self.is_public(address)):
            return (
                f"url host {hostname} is a loopback, private or otherwise non-public address; webhooks go to "
                "public addresses only (a sandbox on your own machine can allow private networks with "
                "CNH_WEBHOOK_PRIVATE_NETWORKS=true)"
            )
        return None

    def pin(self, url: str) -> Pinned:
        """The request to send for `url`: unchanged if private networks are allowed; otherwise to the
        checked public address. DestinationRefused if the host resolves to anything non-public."""
        if self.private_networks:
            return Pinned(url)
        parts = urlsplit(url)
        hostname = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        literal = literal_address(hostname)
        addresses: list[IPAddress] = [literal] if literal is not None else []
        if literal is None:
            try:
                addresses = [ipaddress.ip_address(a) for a in self.resolve(hostname, port)]
            except OSError as exc:
                raise DestinationRefused(f"cannot resolve {hostname}: {exc}") from None
        refused = [str(a) for a in addresses if not self.is_public(a)]
        if refused or not addresses:
            raise DestinationRefused(
                f"{hostname} resolves to {', '.join(refused) or 'nothing'}, not a public address; "
                "webhooks go to public addresses only"
            )
        target = addresses[0]
        host = f"[{target}]" if target.version == 6 else str(target)
        netloc = f"{host}:{parts.port}" if parts.port else host
        pinned_url = parts._replace(netloc=netloc).geturl()
        # One connection per delivery: a kept-alive connection to this address could otherwise
        # carry the next delivery for another name served there, under this name's TLS session.
        headers = {"host": parts.netloc, "connection": "close"}
        return Pinned(pinned_url, headers, {"sni_hostname": hostname} if parts.scheme == "https" else {})
