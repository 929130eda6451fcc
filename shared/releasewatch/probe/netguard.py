"""The SSRF guard: the poller must not be turned against its own network.

Two checks, both needed:

- `check_url` runs before every request, including every redirect hop: https only (http
  only to a loopback host when the release allows loopback), no credentials in the URL, and
  an IP-literal host must be a global address.
- `GuardedBackend` is the httpcore network backend under every real connection. Its
  `connect_tcp` resolves the host name with an injectable `Resolver`, refuses the connection
  if *any* resolved address is not allowed, and then connects to one of the addresses it
  checked. httpcore still passes the host name to `start_tls`, so SNI and certificate checks
  (and the Host header, set by httpx) use the name, while the socket goes to the checked IP:
  a DNS answer that changes between a check and the connect (rebinding) cannot slip past.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import anyio
import httpcore
import httpx

from ..errors import ProbeRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Named ranges, checked before Python's own flags so the reason says which rule applied
# (and because ipaddress in 3.11 calls multicast and some reserved v6 ranges "global").
_REFUSED: tuple[tuple[_V4 | _V6, str], ...] = (
    (_V4("169.254.169.254/32"), "a cloud metadata address"),
    (_V6("fd00:ec2::254/128"), "a cloud metadata address"),
    (_V4("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("100.64.0.0/10"), "a carrier-grade NAT (shared) address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.0.0.0/24"), "an IETF protocol-assignment address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("::ffff:0:0/96"), "an IPv4-mapped address"),
    (_V6("::/96"), "an IPv4-compatible address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001::/23"), "an IETF protocol-assignment address (Teredo, benchmarking, ORCHID)"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("5f00::/16"), "a reserved (SRv6) address"),
    (_V6("fc00::/7"), "a unique-local (private) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)
_LOOPBACK: tuple[_V4 | _V6, ...] = (_V4("127.0.0.0/8"), _V6("::1/128"))
_NAT64 = _V6("64:ff9b::/96")
_SIXTOFOUR = _V6("2002::/16")
_TEREDO = _V6("2001::/32")
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
LOOPBACK_NAMES = frozenset({"localhost"})


class UnresolvableHost(Exception):
    """The resolver found no address for a host name."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """Every address `host` resolves to, as IP strings; raise UnresolvableHost if none."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), off the event loop."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UnresolvableHost(f"cannot resolve {host}: {exc}") from exc
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise UnresolvableHost(f"cannot resolve {host}: no addresses")
        return list(dict.fromkeys(addresses))


class StaticResolver:
    """Names mapped to fixed addresses: for tests and pinned hosts; never touches DNS."""

    def __init__(self, table: Mapping[str, str | Sequence[str]]) -> None:
        self._table = {
            name.lower(): [addr] if isinstance(addr, str) else list(addr)
            for name, addr in table.items()
        }
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        found = self._table.get(host.lower().rstrip("."))
        if not found:
            raise UnresolvableHost(f"cannot resolve {host}: unknown name")
        return found


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which resolved addresses a connection may go to."""

    allow_loopback: bool = False
    loopback_only: bool = False  # plain http in local mode: never leaves the machine

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be connected to, or None if it may."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address!r} is not an IP address"
        if is_loopback(ip):
            return None if self.allow_loopback else f"{ip} is a loopback address"
        if self.loopback_only:
            return f"{ip} is not a loopback address (plain http is only for loopback)"
        return address_refusal(ip)


STRICT = AddressPolicy()
LOCAL_HTTPS = AddressPolicy(allow_loopback=True)
LOCAL_HTTP = AddressPolicy(allow_loopback=True, loopback_only=True)


def policy_for(url: httpx.URL, allow_loopback: bool) -> AddressPolicy:
    """The address policy a request to `url` is made under: strict unless loopback is allowed
    (local mode), and then plain http only to loopback."""
    if not allow_loopback:
        return STRICT
    return LOCAL_HTTP if url.scheme == "http" else LOCAL_HTTPS


def is_loopback(ip: IPAddress) -> bool:
    return any(ip.version == net.version and ip in net for net in _LOOPBACK)


def address_refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address we may probe, or None if it is one."""
    embedded = _embedded_v4(ip)
    for v4 in embedded:
        inner = address_refusal(v4)
        if inner is not None:
            return f"{ip} embeds {inner}"
    for net, label in _REFUSED:
        if ip.version == net.version and ip in net:
            return f"{ip} is {label}"
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6 and not embedded:
        return f"{ip} is not a global unicast address"
    if not embedded and (not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local):
        return f"{ip} is not a global address"
    return None


def _embedded_v4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses carried inside an IPv6 one (v4-mapped, NAT64, 6to4, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip in _SIXTOFOUR and ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip in _TEREDO and ip.teredo is not None:
        return list(ip.teredo)
    return []


def check_url(url: httpx.URL, *, allow_loopback: bool) -> None:
    """Raise ProbeRefused unless `url` may be requested at all (before any resolving)."""
    scheme = url.scheme
    try:
        host = url.host.lower().rstrip(".")
    except ValueError as exc:  # punycode that does not decode (idna errors are ValueErrors)
        raise ProbeRefused(f"refused URL with an invalid international host name: {exc}") from None
    if scheme not in ("http", "https"):
        raise ProbeRefused(f"refused {scheme or 'schemeless'} URL: only https may be probed")
    if not host:
        raise ProbeRefused("refused URL without a host")
    if url.userinfo:
        raise ProbeRefused("refused URL with credentials in it")
    literal = ip_literal(host)
    loopback_host = (
        host in LOOPBACK_NAMES
        or host.endswith(".localhost")  # RFC 6761: always the loopback interface
        or (literal is not None and is_loopback(literal))
    )
    if literal is None and not loopback_host:
        reason = hostname_refusal(url.raw_host.decode("ascii", "replace"))
        if reason is not None:
            raise ProbeRefused(f"refused {host}: {reason}")
    if scheme == "http" and not (allow_loopback and loopback_host):
        raise ProbeRefused(
            f"refused http URL for {host}: only https may be probed"
            + ("" if not allow_loopback else " (http is allowed for loopback hosts only)")
        )
    if loopback_host:
        if not allow_loopback:
            raise ProbeRefused(
                f"refused {host}: a loopback address (this machine), for local testing only"
            )
        return
    if literal is not None:
        reason = address_refusal(literal)
        if reason is not None:
            raise ProbeRefused(f"refused {host}: {reason}")


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Special-use names that are never a public site (RFC 6762, 6761, 7686, 8375; ICANN 2024).
_PRIVATE_SUFFIXES = (".local", ".internal", ".onion", ".home.arpa")


def hostname_refusal(host: str) -> str | None:
    """Why a host *name* (IDNA-encoded) can never be a public https site, knowable without
    DNS; None if it might be one (its addresses are checked when it is resolved)."""
    name = host.lower().rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return "not a valid host name (letters, digits and '-' in dot-separated labels)"
    if len(labels) == 1:
        return "a single-label name (an intranet host), not a public one"
    if labels[-1].isdigit():  # no TLD is numeric: '127.1' is an IPv4 address in short form
        return "an IP address in a short or unusual form"
    if name.endswith(_PRIVATE_SUFFIXES):
        return "a special-use name for private networks, never a public site"
    return None


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def vetted_addresses(
    resolver: Resolver, policy: AddressPolicy, host: str, port: int
) -> Sequence[str]:
    """The addresses to connect to for `host` (an IP literal: itself), every one allowed by
    `policy`, else ProbeRefused (one bad address refuses the host) or UnresolvableHost.
    Connect only to these: never resolve the name again."""
    literal = ip_literal(host)
    addresses: Sequence[str]
    if literal is not None:
        addresses = [str(literal)]
    else:
        addresses = await resolver.resolve(host, port)
    if not addresses:
        raise UnresolvableHost(f"cannot resolve {host}: no addresses")
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            raise ProbeRefused(f"refused {host}: {reason}")
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked IP (never re-resolve)."""

    def __init__(self, resolver: Resolver, policy: AddressPolicy) -> None:
        self._resolver = resolver
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await vetted_addresses(self._resolver, self._policy, host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address.split("%", 1)[0],
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ProbeRefused("refused a unix socket connection")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
