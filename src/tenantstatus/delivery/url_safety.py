"""Where a State Change URL may point: the address rules and the registration check.

A State Change URL is refused unless it is https (http only with
`TENANTSTATUS_ALLOW_HTTP=1`), carries no user name or password, and every address
its host stands for is public. "Stands for" covers every spelling a resolver or a
browser accepts: `2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`, `127.0.0.1.`,
`[::ffff:127.0.0.1]`, `[::ffff:7f00:1]`, NAT64 and 6to4 addresses that embed a
private IPv4 address, and names that resolve to any of those.
`TENANTSTATUS_ALLOWED_NETWORKS` (CIDRs) lets chosen networks through; tests allow
`127.0.0.0/8`.

This module checks at registration. `safe_transport` applies the same
`UrlPolicy.refusal` to the address actually dialled, which is what defeats DNS
rebinding.

    policy = UrlPolicy.from_env()
    url = await policy.check_url("https://hooks.example.com/tenantstatus")
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import anyio
import httpx2 as httpx

from tenantstatus.config import ConfigError

__all__ = [
    "IPAddress",
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "UnsafeUrl",
    "UrlPolicy",
    "host_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_HTTP_VARIABLE = "TENANTSTATUS_ALLOW_HTTP"
ALLOWED_NETWORKS_VARIABLE = "TENANTSTATUS_ALLOWED_NETWORKS"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Checked in order; the first match names the rule in the refusal.
_IPV4_RULES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified, 'this network'"),
    (_V4("10.0.0.0/8"), "private, RFC 1918"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT, RFC 6598"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private, RFC 1918"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments, RFC 6890"),
    (_V4("192.0.2.0/24"), "documentation, TEST-NET-1"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast, deprecated"),
    (_V4("192.168.0.0/16"), "private, RFC 1918"),
    (_V4("198.18.0.0/15"), "benchmarking, RFC 2544"),
    (_V4("198.51.100.0/24"), "documentation, TEST-NET-2"),
    (_V4("203.0.113.0/24"), "documentation, TEST-NET-3"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved"),
)
_IPV6_RULES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64, RFC 8215"),
    (_V6("100::/64"), "discard-only, RFC 6666"),
    (_V6("2001::/23"), "IETF protocol assignments: Teredo, benchmarking, ORCHID"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation, RFC 9637"),
    (_V6("fc00::/7"), "unique local, private"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local, deprecated"),
    (_V6("ff00::/8"), "multicast"),
)
_GLOBAL_UNICAST = _V6("2000::/3")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_NAT64 = _V6("64:ff9b::/96")

# Every one of these is also inside a refused range; they are listed so that a wide
# allowed network (CGNAT for a VPN, link-local for a lab) does not open them by accident.
CLOUD_METADATA: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)

_LABEL = re.compile(r"[a-z0-9_-]+")
_DIGITS = {16: re.compile(r"[0-9a-f]*"), 10: re.compile(r"[0-9]+"), 8: re.compile(r"[0-7]*")}


class UnsafeUrl(ValueError):
    """A State Change URL was refused at registration; the message says which rule and why.

    `reason` is the rule in words; `address` is the refused address, when one was.
    """

    def __init__(self, url: str, reason: str, address: IPAddress | None = None) -> None:
        super().__init__(f"State Change URL {url!r} refused: {reason}")
        self.url = url
        self.reason = reason
        self.address = address


class Resolver(Protocol):
    """Looks a host name up; the seam tests replace to answer without DNS."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        """Every address `host` resolves to; raises `OSError` when it resolves to none."""
        ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo` on the event loop's thread pool)."""

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        """Every address `host` resolves to, in the resolver's order, without duplicates."""
        answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found: dict[IPAddress, None] = {}
        for *_, sockaddr in answers:
            found[ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])] = None
        return list(found)


class StaticResolver:
    """Answers from a table instead of DNS: for tests, and for pinning names in development.

    Names are matched case-insensitively and without a trailing dot. `answers` may be
    changed between lookups, e.g. to rebind a name.
    """

    def __init__(self, answers: Mapping[str, Iterable[str]] | None = None) -> None:
        self.answers: dict[str, list[str]] = {}
        for name, addresses in (answers or {}).items():
            self.set(name, *addresses)

    def set(self, name: str, *addresses: str) -> None:
        """Make `name` resolve to `addresses` from now on."""
        self.answers[_fold(name)] = [str(ipaddress.ip_address(a)) for a in addresses]

    async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        """The addresses in the table; `socket.gaierror` for a name it does not know."""
        addresses = self.answers.get(_fold(host))
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the static table")
        return [ipaddress.ip_address(a) for a in addresses]


def _fold(name: str) -> str:
    return name.lower().removesuffix(".")


def host_address(host: str) -> IPAddress | None:
    """The IP address `host` spells, in any form a resolver or browser accepts; None for a name.

    Accepts what the WHATWG URL standard and `inet_aton` accept: dotted, short
    (`127.1`), decimal (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.1`), a
    trailing dot, and IPv6 literals with or without brackets and zone id (the zone is
    dropped). Raises `ValueError` for a host that ends in a number but is no valid
    address (`1.2.3.4.5`, `256.1.1.1`, `09.1`), which a browser refuses as well.
    """
    if ":" in host:
        literal = host.removeprefix("[").removesuffix("]")
        literal = literal.replace("%25", "%", 1).partition("%")[0]
        try:
            return ipaddress.IPv6Address(literal)
        except ValueError:
            raise ValueError(f"{host!r} is not a valid IPv6 address") from None
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    if not _ends_in_number(labels[-1]):
        return None
    if len(labels) > 4:
        raise ValueError(f"{host!r} looks like an IPv4 address but has more than four parts")
    numbers = [_ipv4_number(host, label) for label in labels]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} looks like an IPv4 address but a part is out of range")
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(leading))
    return ipaddress.IPv4Address(value)


def _ends_in_number(label: str) -> bool:
    return label.isdigit() or (label[:2] == "0x" and bool(_DIGITS[16].fullmatch(label[2:])))


def _ipv4_number(host: str, part: str) -> int:
    if part[:2] == "0x":
        radix, digits = 16, part[2:]
    elif len(part) > 1 and part[0] == "0":
        radix, digits = 8, part[1:]
    else:
        radix, digits = 10, part
    if not _DIGITS[radix].fullmatch(digits):
        raise ValueError(f"{host!r} looks like an IPv4 address but {part!r} is not a number")
    return int(digits, radix) if digits else 0


@dataclass(frozen=True, slots=True)
class _Embedded:
    kind: str
    ipv4: ipaddress.IPv4Address


def _embedded_ipv4(address: IPAddress) -> _Embedded | None:
    """The IPv4 address an IPv6 address carries, for the forms that reach it."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return _Embedded("an IPv4-mapped IPv6 address", address.ipv4_mapped)
    if address in _NAT64:
        return _Embedded("a NAT64 address (64:ff9b::/96)", _low32(address))
    if address.sixtofour is not None:
        return _Embedded("a 6to4 address (2002::/16)", address.sixtofour)
    if int(address) >> 32 == 0 and int(address) > 1:
        return _Embedded("an IPv4-compatible IPv6 address (deprecated)", _low32(address))
    return None


def _low32(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)


def _range_rule(address: IPAddress) -> str | None:
    """The refused range `address` falls in, in words, or None for a public address."""
    rules: Iterable[tuple[IPNetwork, str]] = _IPV4_RULES if address.version == 4 else _IPV6_RULES
    for network, label in rules:
        if address in network:
            return f"in {network} ({label})"
    if address.version == 6 and address not in _GLOBAL_UNICAST:
        return f"outside {_GLOBAL_UNICAST} (not global unicast)"
    return None


def _parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    networks: list[IPNetwork] = []
    for value in values:
        if isinstance(value, str):
            try:
                value = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError as exc:
                raise ConfigError(f"{ALLOWED_NETWORKS_VARIABLE}: {exc}") from None
        networks.append(value)
    return tuple(networks)


class UrlPolicy:
    """Which State Change URLs and addresses deliveries may reach.

    >>> policy = UrlPolicy(allow_http=True, allowed_networks=["127.0.0.0/8"])
    >>> policy.check_url_syntax("http://127.0.0.1:8000/hook")
    'http://127.0.0.1:8000/hook'
    """

    __slots__ = ("_allow_http", "_allowed")

    def __init__(
        self, *, allow_http: bool = False, allowed_networks: Iterable[str | IPNetwork] = ()
    ) -> None:
        self._allow_http = allow_http
        self._allowed = _parse_networks(allowed_networks)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> UrlPolicy:
        """Read `TENANTSTATUS_ALLOW_HTTP` (1/0) and `TENANTSTATUS_ALLOWED_NETWORKS` (CIDRs, ',')."""
        env = os.environ if environ is None else environ
        flag = env.get(ALLOW_HTTP_VARIABLE, "").strip().lower()
        if flag not in ("", "0", "1", "false", "true", "no", "yes", "off", "on"):
            raise ConfigError(f"{ALLOW_HTTP_VARIABLE}={flag!r}: must be 1 or 0")
        networks = env.get(ALLOWED_NETWORKS_VARIABLE, "").split(",")
        return cls(
            allow_http=flag in ("1", "true", "yes", "on"),
            allowed_networks=[n for n in networks if n.strip()],
        )

    @property
    def allow_http(self) -> bool:
        """Whether plain http URLs are accepted (development only)."""
        return self._allow_http

    @property
    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        """Networks let through although a rule refuses them."""
        return self._allowed

    @property
    def schemes(self) -> frozenset[str]:
        """The URL schemes deliveries may use."""
        return frozenset({"https", "http"} if self._allow_http else {"https"})

    def __repr__(self) -> str:
        networks = [str(n) for n in self._allowed]
        return f"UrlPolicy(allow_http={self._allow_http}, allowed_networks={networks})"

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` must not be dialled, as a sentence; None when it may be."""
        if isinstance(address, ipaddress.IPv6Address):
            address = ipaddress.IPv6Address(int(address))  # drop any zone id
        embedded = _embedded_ipv4(address)
        for candidate in (address, embedded.ipv4 if embedded else None):
            if candidate in CLOUD_METADATA and not self._names(candidate):
                return (
                    f"{candidate} is a cloud metadata endpoint, refused even inside an allowed "
                    f"network; allow exactly {candidate}/{candidate.max_prefixlen} to reach it"
                )
        if self._allows(address) or (embedded is not None and self._allows(embedded.ipv4)):
            return None
        if embedded is not None:
            rule = _range_rule(embedded.ipv4)
            if rule is not None:
                return f"{address} is {embedded.kind} of {embedded.ipv4}, which is {rule}"
            if "compatible" in embedded.kind:
                return f"{address} is {embedded.kind}"
            return None
        rule = _range_rule(address)
        return None if rule is None else f"{address} is {rule}"

    def _allows(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self._allowed)

    def _names(self, address: IPAddress) -> bool:
        return any(n.num_addresses == 1 and n.network_address == address for n in self._allowed)

    def check_url_syntax(self, url: str) -> str:
        """Check `url` without DNS: scheme, userinfo, port and literal addresses in any spelling.

        Returns the URL as httpx2 will send it; raises `UnsafeUrl`. A host name passes
        here (except `localhost`); `check_url` also resolves it.
        """
        return str(self._check_syntax(url).url)

    async def check_url(self, url: str, resolver: Resolver | None = None) -> str:
        """Check `url` as `check_url_syntax` does, then refuse it if its name resolves anywhere
        refused. Returns the URL as httpx2 will send it; raises `UnsafeUrl`.
        """
        target = self._check_syntax(url)
        if target.address is None:
            try:
                addresses = await (resolver or SystemResolver()).resolve(target.host, target.port)
            except OSError as exc:
                reason = f"{target.host} does not resolve ({exc}), so it cannot be checked"
                raise UnsafeUrl(url, reason) from exc
            if not addresses:
                reason = f"{target.host} resolves to no address, so it cannot be checked"
                raise UnsafeUrl(url, reason)
            for address in addresses:
                self._refuse(url, target.host, address, resolved=True)
        return str(target.url)

    def _check_syntax(self, url: str) -> _Target:
        target = self._parse(url)
        if target.address is not None:
            self._refuse(url, target.host, target.address)
        elif _is_localhost(target.host):
            self._refuse(url, target.host, ipaddress.IPv4Address("127.0.0.1"))
        return target

    def _refuse(self, url: str, host: str, address: IPAddress, *, resolved: bool = False) -> None:
        reason = self.refusal(address)
        if reason is None:
            return
        if resolved:
            reason = f"{host} resolves to {address}; {reason}"
        elif not _plainly(host, address):
            reason = f"host {host!r} means {address}; {reason}"
        if "cloud metadata" not in reason:
            reason += f". Use a public address, or add the network to {ALLOWED_NETWORKS_VARIABLE}"
        raise UnsafeUrl(url, reason, address)

    def _refuse_unparsable(self, url: str) -> None:
        """Name the address when httpx2 rejects a spelling a browser takes (`0177.0.0.1`)."""
        try:
            host = urlsplit(url).hostname or ""
            address = host_address(host)
        except ValueError:
            return
        if address is not None:
            self._refuse(url, host, address)

    def _parse(self, url: str) -> _Target:
        if any(ch.isspace() or ord(ch) < 0x20 or ch in "\\\x7f" for ch in url):
            raise UnsafeUrl(url, "it contains whitespace, control characters or a backslash")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            self._refuse_unparsable(url)
            raise UnsafeUrl(url, f"it is not a valid URL ({exc})") from None
        if parsed.scheme not in self.schemes:
            allowed = (
                "http or https"
                if self._allow_http
                else "https (or http with TENANTSTATUS_ALLOW_HTTP=1)"
            )
            raise UnsafeUrl(url, f"the scheme must be {allowed}, not {parsed.scheme!r}")
        if parsed.userinfo:
            raise UnsafeUrl(url, "it must not carry a user name or password")
        host = parsed.raw_host.decode("ascii")
        if not host:
            raise UnsafeUrl(url, "it has no host")
        # Not `parsed.port or ...`: port 0 is falsy and would pass as the default port.
        port = parsed.port if parsed.port is not None else _DEFAULT_PORTS[parsed.scheme]
        if not 0 < port < 65536:
            raise UnsafeUrl(url, f"port {port} is out of range")
        try:
            address = host_address(host)
        except ValueError as exc:
            raise UnsafeUrl(url, str(exc)) from None
        return _Target(parsed, host, port, address)


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    host: str
    port: int
    address: IPAddress | None


def _plainly(host: str, address: IPAddress) -> bool:
    """Whether `host` is an ordinary spelling of `address`, so a message need not translate it."""
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


def _is_localhost(host: str) -> bool:
    name = _fold(host)
    return name == "localhost" or name.endswith(".localhost")
