"""URL safety at registration: every SSRF spelling refused, allowed networks let through."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tenantstatus.delivery
from tenantstatus.config import ConfigError
from tenantstatus.delivery import StaticResolver, UnsafeUrl, UrlPolicy

pytestmark = pytest.mark.anyio

STRICT = UrlPolicy()
LOOPBACK_ALLOWED = UrlPolicy(allowed_networks=["127.0.0.0/8"])

# (url, the address the message must name, the rule the message must name)
SSRF_VECTORS = [
    pytest.param("https://127.0.0.1/", "127.0.0.1", "loopback", id="loopback"),
    pytest.param("https://2130706433/", "127.0.0.1", "loopback", id="decimal"),
    pytest.param("https://0177.0.0.1/", "127.0.0.1", "loopback", id="octal"),
    pytest.param("https://0177.0.0.01/", "127.0.0.1", "loopback", id="octal-every-part"),
    pytest.param("https://0x7f.1/", "127.0.0.1", "loopback", id="hex-short"),
    pytest.param("https://0x7f000001/", "127.0.0.1", "loopback", id="hex-integer"),
    pytest.param("https://0x7F.0x0.0x0.0x1/", "127.0.0.1", "loopback", id="hex-dotted"),
    pytest.param("https://127.1/", "127.0.0.1", "loopback", id="short"),
    pytest.param("https://127.0.1/", "127.0.0.1", "loopback", id="short-three-parts"),
    pytest.param("https://127.0.0.1./", "127.0.0.1", "loopback", id="trailing-dot"),
    pytest.param("https://0/", "0.0.0.0", "unspecified", id="zero"),  # noqa: S104
    pytest.param("https://0.0.0.0/", "0.0.0.0", "unspecified", id="unspecified-v4"),  # noqa: S104
    pytest.param("https://[::]/", "::", "unspecified", id="unspecified-v6"),
    pytest.param("https://[::1]/", "::1", "loopback", id="loopback-v6"),
    pytest.param("https://[::1%25lo]/", "::1", "loopback", id="loopback-v6-zone"),
    pytest.param("https://[0:0:0:0:0:0:0:1]/", "::1", "loopback", id="loopback-v6-long"),
    pytest.param("https://[::ffff:127.0.0.1]/", "127.0.0.1", "loopback", id="mapped-dotted"),
    pytest.param("https://[::ffff:7f00:1]/", "127.0.0.1", "loopback", id="mapped-hex"),
    pytest.param("https://[0::ffff:10.1.2.3]/", "10.1.2.3", "private", id="mapped-private"),
    pytest.param("https://[::127.0.0.1]/", "127.0.0.1", "loopback", id="ipv4-compatible"),
    pytest.param("https://[64:ff9b::7f00:1]/", "127.0.0.1", "loopback", id="nat64"),
    pytest.param("https://[64:ff9b::192.168.1.1]/", "192.168.1.1", "private", id="nat64-dotted"),
    pytest.param("https://[2002:a00:1::1]/", "10.0.0.1", "private", id="6to4"),
    pytest.param("https://[2002:7f00:1::]/", "127.0.0.1", "loopback", id="6to4-loopback"),
    pytest.param("https://10.0.0.1/", "10.0.0.1", "private", id="rfc1918-10"),
    pytest.param("https://172.16.5.4/", "172.16.5.4", "private", id="rfc1918-172"),
    pytest.param("https://192.168.1.1/", "192.168.1.1", "private", id="rfc1918-192"),
    pytest.param("https://[fd12:3456::1]/", "fd12:3456::1", "unique local", id="ula"),
    pytest.param("https://169.254.10.20/", "169.254.10.20", "link-local", id="link-local"),
    pytest.param("https://[fe80::1]/", "fe80::1", "link-local", id="link-local-v6"),
    pytest.param("https://[fe80::1%25eth0]/", "fe80::1", "link-local", id="zone-id"),
    pytest.param("https://100.64.0.1/", "100.64.0.1", "carrier-grade NAT", id="cgnat"),
    pytest.param("https://224.0.0.1/", "224.0.0.1", "multicast", id="multicast"),
    pytest.param("https://[ff02::1]/", "ff02::1", "multicast", id="multicast-v6"),
    pytest.param("https://255.255.255.255/", "255.255.255.255", "broadcast", id="broadcast"),
    pytest.param("https://240.0.0.1/", "240.0.0.1", "reserved", id="class-e"),
    pytest.param("https://192.0.2.1/", "192.0.2.1", "documentation", id="test-net-1"),
    pytest.param("https://198.51.100.7/", "198.51.100.7", "documentation", id="test-net-2"),
    pytest.param("https://203.0.113.9/", "203.0.113.9", "documentation", id="test-net-3"),
    pytest.param("https://198.18.0.1/", "198.18.0.1", "benchmarking", id="benchmark"),
    pytest.param("https://[2001:db8::1]/", "2001:db8::1", "documentation", id="doc-v6"),
    pytest.param("https://[100::1]/", "100::1", "discard", id="discard-v6"),
    pytest.param("https://[4000::1]/", "4000::1", "not global unicast", id="reserved-v6"),
    pytest.param("https://169.254.169.254/", "169.254.169.254", "metadata", id="metadata-aws"),
    pytest.param("https://[fd00:ec2::254]/", "fd00:ec2::254", "metadata", id="metadata-aws-v6"),
    pytest.param("https://100.100.100.200/", "100.100.100.200", "metadata", id="metadata-alibaba"),
    pytest.param(
        "https://[::ffff:169.254.169.254]/", "169.254.169.254", "metadata", id="metadata-mapped"
    ),
    pytest.param("https://0xa9fea9fe/", "169.254.169.254", "metadata", id="metadata-hex"),
    pytest.param("https://localhost/", "127.0.0.1", "loopback", id="localhost"),
    pytest.param("https://LOCALHOST./", "127.0.0.1", "loopback", id="localhost-trailing-dot"),
    pytest.param("https://api.localhost/", "127.0.0.1", "loopback", id="dot-localhost"),
]

MALFORMED = [
    pytest.param("https://127%2e0%2e0%2e1/", "not a valid host name", id="percent-encoded"),
    pytest.param("https://1.2.3.4.5/", "more than four parts", id="five-parts"),
    pytest.param("https://example.09/", "not a number", id="bad-octal"),
    pytest.param("https://user:pw@example.com/", "user name or password", id="userinfo"),
    pytest.param("https://evil.com@127.0.0.1/", "user name or password", id="userinfo-at"),
    pytest.param("https://evil.com\\@127.0.0.1/", "backslash", id="backslash"),
    pytest.param("https://127.0.0.1 .example.com/", "whitespace", id="space"),
    pytest.param("https://exa\tmple.com/", "whitespace", id="tab"),
    pytest.param("https:///hook", "no host", id="no-host"),
    pytest.param("/hook", "scheme", id="relative"),
    pytest.param("ftp://example.com/", "scheme", id="ftp"),
    pytest.param("file:///etc/passwd", "scheme", id="file"),
    pytest.param("https://example.com:99999/", "port 99999", id="port-range"),
    pytest.param("https://8.8.8.8:0/", "port 0", id="port-zero"),
    pytest.param("https://example.com:0/hook", "port 0", id="port-zero-name"),
    pytest.param("https://example.com:00/", "port 0", id="port-zero-padded"),
]


@pytest.mark.parametrize(("url", "address", "rule"), SSRF_VECTORS)
async def test_every_ssrf_vector_is_refused_at_registration(
    url: str, address: str, rule: str
) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        await STRICT.check_url(url, StaticResolver())
    assert address in str(refused.value)
    assert rule in str(refused.value)
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(("url", "address", "rule"), SSRF_VECTORS)
def test_every_ssrf_vector_is_refused_without_dns(url: str, address: str, rule: str) -> None:
    with pytest.raises(UnsafeUrl, match=rule):
        STRICT.check_url_syntax(url)


@pytest.mark.parametrize(("url", "reason"), MALFORMED)
def test_malformed_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        STRICT.check_url_syntax(url)
    assert reason in refused.value.reason


async def test_port_zero_is_refused_although_the_address_is_public() -> None:
    policy = UrlPolicy(allow_http=True)
    with pytest.raises(UnsafeUrl) as refused:
        await policy.check_url("http://8.8.8.8:0/", StaticResolver())
    assert refused.value.reason == "port 0 is out of range"
    assert policy.check_url_syntax("http://8.8.8.8:80/") == "http://8.8.8.8/"


def test_a_refusal_tells_the_operator_what_to_change() -> None:
    with pytest.raises(UnsafeUrl) as refused:
        STRICT.check_url_syntax("https://2130706433/hook")
    assert str(refused.value) == (
        "State Change URL 'https://2130706433/hook' refused: host '2130706433' means "
        "127.0.0.1; 127.0.0.1 is in 127.0.0.0/8 (loopback). Use a public address, or add "
        "the network to TENANTSTATUS_ALLOWED_NETWORKS"
    )
    assert refused.value.address == ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8443/hook",
        "https://127.1/hook",
        "https://2130706433/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
    ],
)
def test_allowed_networks_let_loopback_through_in_every_spelling(url: str) -> None:
    assert LOOPBACK_ALLOWED.check_url_syntax(url).startswith("https://")


def test_an_octal_address_is_refused_even_when_allowed_because_httpx2_cannot_send_it() -> None:
    with pytest.raises(UnsafeUrl, match="not a valid URL"):
        LOOPBACK_ALLOWED.check_url_syntax("https://0177.0.0.1/hook")


@pytest.mark.parametrize("url", ["https://10.0.0.1/", "https://[::1]/", "https://169.254.169.254/"])
def test_allowed_networks_open_nothing_else(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        LOOPBACK_ALLOWED.check_url_syntax(url)


def test_a_wide_allowed_network_does_not_open_cloud_metadata() -> None:
    policy = UrlPolicy(allowed_networks=["169.254.0.0/16", "100.64.0.0/10"])
    assert policy.check_url_syntax("https://169.254.1.1/") == "https://169.254.1.1/"
    assert policy.check_url_syntax("https://100.64.0.1/") == "https://100.64.0.1/"
    for url in ("https://169.254.169.254/", "https://100.100.100.200/"):
        with pytest.raises(UnsafeUrl, match="allow exactly"):
            policy.check_url_syntax(url)


def test_cloud_metadata_opens_only_when_allowed_by_exact_address() -> None:
    policy = UrlPolicy(allowed_networks=["169.254.169.254/32"])
    assert policy.check_url_syntax("https://169.254.169.254/latest") == (
        "https://169.254.169.254/latest"
    )


def test_http_is_refused_unless_allowed() -> None:
    with pytest.raises(UnsafeUrl, match="TENANTSTATUS_ALLOW_HTTP=1"):
        STRICT.check_url_syntax("http://example.com/hook")
    relaxed = UrlPolicy(allow_http=True)
    assert relaxed.check_url_syntax("http://example.com/hook") == "http://example.com/hook"
    with pytest.raises(UnsafeUrl, match="scheme"):
        relaxed.check_url_syntax("ftp://example.com/hook")


def test_http_to_loopback_needs_both_settings() -> None:
    with pytest.raises(UnsafeUrl, match="scheme"):
        LOOPBACK_ALLOWED.check_url_syntax("http://127.0.0.1:8000/hook")
    with pytest.raises(UnsafeUrl, match="loopback"):
        UrlPolicy(allow_http=True).check_url_syntax("http://127.0.0.1:8000/hook")
    both = UrlPolicy(allow_http=True, allowed_networks=["127.0.0.0/8"])
    assert both.check_url_syntax("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://[::ffff:8.8.8.8]/hook",
        "https://[64:ff9b::808:808]/hook",
        "https://[2002:808:808::1]/hook",
        "https://hooks.example.com/tenantstatus",
        "https://HOOKS.example.com:8443/a?b=c",
    ],
)
def test_public_addresses_and_names_pass_the_syntax_check(url: str) -> None:
    assert STRICT.check_url_syntax(url).lower() == url.lower()


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    resolver = StaticResolver({"rebind.test": ["127.0.0.1"]})
    assert STRICT.check_url_syntax("https://rebind.test/hook") == "https://rebind.test/hook"
    with pytest.raises(UnsafeUrl) as refused:
        await STRICT.check_url("https://rebind.test/hook", resolver)
    assert "rebind.test resolves to 127.0.0.1" in str(refused.value)
    assert "loopback" in str(refused.value)


async def test_a_name_with_one_refused_answer_among_public_ones_is_refused() -> None:
    resolver = StaticResolver({"mixed.test": ["8.8.8.8", "2606:4700::1", "10.1.2.3"]})
    with pytest.raises(UnsafeUrl, match=r"mixed\.test resolves to 10\.1\.2\.3"):
        await STRICT.check_url("https://mixed.test/hook", resolver)


async def test_a_name_resolving_to_public_addresses_is_accepted() -> None:
    resolver = StaticResolver({"hooks.example.com.": ["93.184.215.14", "2606:2800:21f::1"]})
    url = "https://Hooks.Example.com./tenantstatus"
    assert await STRICT.check_url(url, resolver) == "https://hooks.example.com./tenantstatus"


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await STRICT.check_url("https://nowhere.test/hook", StaticResolver())


async def test_allowed_networks_let_a_name_resolving_to_loopback_through() -> None:
    resolver = StaticResolver({"receiver.test": ["127.0.0.1"]})
    url = "https://receiver.test/hook"
    assert await LOOPBACK_ALLOWED.check_url(url, resolver) == url


async def test_the_system_resolver_finds_localhost_on_loopback() -> None:
    with pytest.raises(UnsafeUrl, match="loopback"):
        await STRICT.check_url("https://localhost/hook")


def test_policy_reads_its_environment() -> None:
    policy = UrlPolicy.from_env(
        {
            "TENANTSTATUS_ALLOW_HTTP": "1",
            "TENANTSTATUS_ALLOWED_NETWORKS": " 127.0.0.0/8, ::1/128 ,,10.1.2.3",
        }
    )
    assert policy.allow_http is True
    assert [str(n) for n in policy.allowed_networks] == ["127.0.0.0/8", "::1/128", "10.1.2.3/32"]
    assert UrlPolicy.from_env({}).allow_http is False
    assert UrlPolicy.from_env({}).allowed_networks == ()
    assert UrlPolicy.from_env({"TENANTSTATUS_ALLOW_HTTP": "0"}).allow_http is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TENANTSTATUS_ALLOW_HTTP": "maybe"}, "TENANTSTATUS_ALLOW_HTTP"),
        ({"TENANTSTATUS_ALLOWED_NETWORKS": "127.0.0.0/33"}, "TENANTSTATUS_ALLOWED_NETWORKS"),
        ({"TENANTSTATUS_ALLOWED_NETWORKS": "loopback"}, "TENANTSTATUS_ALLOWED_NETWORKS"),
    ],
)
def test_policy_refuses_settings_it_cannot_use(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        UrlPolicy.from_env(environ)


def test_delivery_exports_the_url_safety_names() -> None:
    names = {
        "Resolver",
        "StaticResolver",
        "SystemResolver",
        "UnsafeAddress",
        "UnsafeUrl",
        "UrlPolicy",
        "safe_async_transport",
    }
    assert names <= set(tenantstatus.delivery.__all__)
    for name in names:
        assert hasattr(tenantstatus.delivery, name), name


# Property: an address in a refused range is refused however it is written.

FORBIDDEN_IPV4 = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]


def _halves(a: ipaddress.IPv4Address) -> tuple[str, str]:
    return f"{int(a) >> 16:x}", f"{int(a) & 0xFFFF:x}"


SPELLINGS = {
    "dotted": lambda a: str(a),
    "trailing-dot": lambda a: f"{a}.",
    "decimal": lambda a: str(int(a)),
    "octal": lambda a: ".".join(f"0{b:o}" for b in a.packed),
    "hex": lambda a: hex(int(a)),
    "hex-dotted": lambda a: ".".join(hex(b) for b in a.packed),
    "short": lambda a: f"{a.packed[0]}.{int.from_bytes(a.packed[1:], 'big')}",
    "short-hex": lambda a: (
        f"{a.packed[0]}.{a.packed[1]}.{hex(int.from_bytes(a.packed[2:], 'big'))}"
    ),
    "mapped": lambda a: f"[::ffff:{a}]",
    "mapped-hex": lambda a: "[::ffff:{}:{}]".format(*_halves(a)),
    "ipv4-compatible": lambda a: f"[::{a}]",
    "nat64": lambda a: "[64:ff9b::{}:{}]".format(*_halves(a)),
    "6to4": lambda a: "[2002:{}:{}::1]".format(*_halves(a)),
}


@st.composite
def forbidden_ipv4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    network = draw(st.sampled_from(FORBIDDEN_IPV4))
    return network[draw(st.integers(0, network.num_addresses - 1))]


@settings(max_examples=1000)
@given(address=forbidden_ipv4(), spelling=st.sampled_from(sorted(SPELLINGS)))
def test_every_spelling_of_a_forbidden_ipv4_address_is_refused(
    address: ipaddress.IPv4Address, spelling: str
) -> None:
    url = f"https://{SPELLINGS[spelling](address)}/hook"
    with pytest.raises(UnsafeUrl) as refused:
        STRICT.check_url_syntax(url)
    assert str(address) in str(refused.value)


unicast_ipv4 = st.tuples(st.integers(1, 223), *[st.integers(0, 255)] * 3).map(
    lambda octets: ipaddress.IPv4Address(bytes(octets))
)


@given(address=unicast_ipv4)
def test_a_global_ipv4_address_passes_in_its_plain_spellings(
    address: ipaddress.IPv4Address,
) -> None:
    assume(address.is_global)
    assume(all(address not in network for network in FORBIDDEN_IPV4))
    assume(address not in ipaddress.IPv4Network("192.88.99.0/24"))
    for spelling in ("dotted", "decimal", "hex", "mapped", "nat64", "6to4"):
        url = f"https://{SPELLINGS[spelling](address)}/hook"
        assert STRICT.check_url_syntax(url) == url, spelling
