"""The SSRF guard refuses non-public targets on the first request and on every redirect hop,
and connects to the very address it checked. Offline: a static resolver stands in for DNS and
the only sockets are on 127.0.0.1."""

from __future__ import annotations

import httpcore
import httpx
import pytest

from releasewatch.errors import ProbeRefused
from releasewatch.probe.http import HttpProber
from releasewatch.probe.netguard import (
    LOCAL_HTTP,
    LOCAL_HTTPS,
    STRICT,
    GuardedBackend,
    StaticResolver,
    UnresolvableHost,
    address_refusal,
    check_url,
)
from tests.probe_support import FakeClock, Handler, loopback_server, make_release

# Every one of these must be refused as a connection target (label fragment expected).
REFUSED = [
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.100.100.200", "carrier-grade NAT"),  # Alibaba's metadata service
    ("100.127.255.254", "carrier-grade NAT"),
    ("192.0.0.1", "IETF"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.1", "benchmarking"),
    ("192.88.99.1", "6to4 relay"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::10.0.0.1", "IPv4-compatible"),
    ("fd00:ec2::254", "metadata"),
    ("fc00::1", "unique-local"),
    ("fdff:ffff::1", "unique-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "IETF"),  # benchmarking
    ("2001:10::1", "IETF"),  # ORCHID
    ("100::1", "discard-only"),
    ("5f00::1", "reserved"),
    ("64:ff9b::a00:1", "embeds 10.0.0.1 is a private"),  # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("2002:a00:1::1", "embeds 10.0.0.1"),  # 6to4 of 10.0.0.1
    ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation"),  # Teredo, client 192.0.2.45
    ("2001:0:a00:1::1", "private"),  # Teredo with server 10.0.0.1
    ("4000::1", "not a global unicast"),
    ("::2", "IPv4-compatible"),
]

ALLOWED = [
    "8.8.8.8",
    "151.101.0.144",  # a Fastly address, as www.gov.uk resolves to
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2a04:4e42::144",
    "64:ff9b::808:808",  # NAT64 of a public address: fine on a v6-only network
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "label"), REFUSED)
def test_non_public_addresses_are_refused_with_a_reason(address: str, label: str) -> None:
    reason = STRICT.refusal(address)
    assert reason is not None
    assert label in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.refusal(address) is None


def test_at_least_forty_targets_are_covered() -> None:
    assert len(REFUSED) >= 40


def test_loopback_is_allowed_only_when_the_release_says_so() -> None:
    assert STRICT.refusal("127.0.0.1") is not None
    assert LOCAL_HTTPS.refusal("127.0.0.1") is None
    assert LOCAL_HTTPS.refusal("::1") is None
    assert LOCAL_HTTPS.refusal("10.0.0.1") is not None  # loopback only, not the LAN
    assert LOCAL_HTTPS.refusal("::ffff:127.0.0.1") is not None


def test_plain_http_pool_only_reaches_loopback() -> None:
    assert LOCAL_HTTP.refusal("127.0.0.1") is None
    assert LOCAL_HTTP.refusal("8.8.8.8") is not None


def test_address_refusal_names_the_address() -> None:
    import ipaddress

    reason = address_refusal(ipaddress.ip_address("10.1.2.3"))
    assert reason == "10.1.2.3 is a private address"


# -- URL checks (before any resolving) --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allow_loopback", "fragment"),
    [
        ("http://www.gov.uk/", False, "only https"),
        ("http://www.gov.uk/", True, "loopback hosts only"),
        ("ftp://www.gov.uk/", False, "only https"),
        ("file:///etc/passwd", False, "only https"),
        ("https://user:secret@www.gov.uk/", False, "credentials"),
        ("https://169.254.169.254/latest/meta-data/", False, "metadata"),
        ("https://[fd00:ec2::254]/", False, "metadata"),
        ("https://10.0.0.1/", False, "private"),
        ("https://[::ffff:10.0.0.1]/", False, "private"),
        ("https://127.0.0.1/", False, "loopback address"),
        ("https://localhost/", False, "loopback address"),
        ("http://127.0.0.1:8080/", False, "only https"),
        ("http://10.0.0.1/", True, "loopback hosts only"),
        ("http://169.254.169.254/", True, "loopback hosts only"),
    ],
)
def test_urls_that_may_not_be_requested(url: str, allow_loopback: bool, fragment: str) -> None:
    with pytest.raises(ProbeRefused, match=fragment):
        check_url(httpx.URL(url), allow_loopback=allow_loopback)


@pytest.mark.parametrize(
    ("url", "allow_loopback"),
    [
        ("https://www.gov.uk/government/statistics/x", False),
        ("https://8.8.8.8/", False),
        ("http://127.0.0.1:8080/", True),
        ("http://127.5.5.5/", True),
        ("http://[::1]:8080/", True),
        ("http://localhost:8080/", True),
        ("https://127.0.0.1/", True),
    ],
)
def test_urls_that_may_be_requested(url: str, allow_loopback: bool) -> None:
    check_url(httpx.URL(url), allow_loopback=allow_loopback)


# -- the network backend ------------------------------------------------------------------


async def test_backend_refuses_a_name_that_resolves_to_a_private_address() -> None:
    resolver = StaticResolver({"intranet.example": "10.0.0.7"})
    backend = GuardedBackend(resolver, STRICT)
    with pytest.raises(ProbeRefused, match=r"intranet\.example: 10\.0\.0\.7 is a private"):
        await backend.connect_tcp("intranet.example", 443, timeout=1)
    assert resolver.calls == ["intranet.example"]


async def test_backend_refuses_when_any_resolved_address_is_not_public() -> None:
    # A rebinding trick: one public answer to pass a naive check, one private to connect to.
    resolver = StaticResolver({"rebind.example": ["8.8.8.8", "192.168.0.1"]})
    backend = GuardedBackend(resolver, STRICT)
    with pytest.raises(ProbeRefused, match=r"192\.168\.0\.1"):
        await backend.connect_tcp("rebind.example", 443, timeout=1)


async def test_backend_reports_an_unknown_name() -> None:
    backend = GuardedBackend(StaticResolver({}), STRICT)
    with pytest.raises(UnresolvableHost):
        await backend.connect_tcp("nowhere.example", 443, timeout=1)


async def test_backend_connects_to_the_checked_address_not_a_fresh_lookup() -> None:
    with loopback_server(lambda h: h.reply(200, b"ok")) as server:
        resolver = StaticResolver({"page.test": "127.0.0.1"})
        backend = GuardedBackend(resolver, LOCAL_HTTPS)
        stream = await backend.connect_tcp("page.test", server.port, timeout=2)
        try:
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", server.port)
        finally:
            await stream.aclose()
        # The same name mapped to 127.0.0.2, where nothing listens, fails to connect: the
        # socket goes where the resolver said, not to a fresh lookup of the name.
        moved = GuardedBackend(StaticResolver({"page.test": "127.0.0.2"}), LOCAL_HTTPS)
        with pytest.raises(httpcore.ConnectError):
            await moved.connect_tcp("page.test", server.port, timeout=2)


# -- through the prober: first request and every hop -------------------------------------------


@pytest.mark.parametrize(("address", "label"), REFUSED)
async def test_prober_refuses_a_host_resolving_to_each_non_public_address(
    address: str, label: str
) -> None:
    resolver = StaticResolver({"target.example": address})
    prober = HttpProber(FakeClock(), resolver=resolver)
    try:
        check = await prober.probe(make_release("https://target.example/stats"))
    finally:
        await prober.aclose()
    assert not check.live
    assert check.error == "refused"
    assert label in check.reason
    assert check.status is None  # nothing was ever sent


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "https://metadata.example/latest/meta-data/",  # resolves to 169.254.169.254
        "https://intranet.example/",  # resolves to 10.0.0.7
        "https://[fd00:ec2::254]/",
        "http://10.0.0.1/admin",
        "https://[::ffff:10.0.0.1]/",
        "https://100.100.100.200/",
    ],
)
async def test_a_redirect_to_a_forbidden_target_is_refused_at_that_hop(target: str) -> None:
    def route(h: Handler) -> None:
        h.reply(302, headers={"Location": target})

    resolver = StaticResolver(
        {"metadata.example": "169.254.169.254", "intranet.example": "10.0.0.7"}
    )
    with loopback_server(route) as server:
        prober = HttpProber(FakeClock(), resolver=resolver)
        try:
            check = await prober.probe(make_release(server.url("/stats"), allow_loopback=True))
        finally:
            await prober.aclose()
    assert not check.live
    assert check.error == "refused"
    assert check.status == 302  # the first hop was answered; the second was never sent
    assert len(check.redirects) == 1
    assert httpx.URL(check.redirects[0]).host == httpx.URL(target).host
    assert len(server.seen) == 1


async def test_loopback_is_refused_without_allow_loopback_even_by_name() -> None:
    resolver = StaticResolver({"sneaky.example": "127.0.0.1"})
    prober = HttpProber(FakeClock(), resolver=resolver)
    try:
        check = await prober.probe(make_release("https://sneaky.example/"))
    finally:
        await prober.aclose()
    assert check.error == "refused"
    assert "loopback" in check.reason
