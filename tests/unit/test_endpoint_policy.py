"""The webhook URL policy against spellings nobody here chose: drawn text, and every IPv4 embedding."""

import ipaddress
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions.domain.endpoint_policy import (
    EndpointRefused,
    carried_ipv4,
    check_endpoint,
    is_public,
    parse_endpoint,
)

ipv4 = st.builds(ipaddress.IPv4Address, st.integers(min_value=0, max_value=2**32 - 1))


def embeddings(address: ipaddress.IPv4Address) -> list[ipaddress.IPv6Address]:
    """The IPv6 spellings that carry `address`: mapped, compatible, NAT64 (well-known), 6to4, Teredo."""
    value = int(address)
    return [
        ipaddress.IPv6Address(f"::ffff:{address}"),
        ipaddress.IPv6Address(value),  # IPv4-compatible ::a.b.c.d
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | value),
        ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | 1),
        # Teredo: 2001:0::/32, server 8.8.8.8, client obfuscated (xor 0xffffffff) in the low 32 bits
        ipaddress.IPv6Address(
            (0x20010000 << 96) | (int(ipaddress.IPv4Address("8.8.8.8")) << 64) | (value ^ 0xFFFFFFFF)
        ),
    ]


@given(ipv4)
def test_every_embedding_is_judged_by_the_ipv4_it_carries(address: ipaddress.IPv4Address) -> None:
    if int(address) <= 1:
        return  # :: and ::1 are not IPv4-compatible spellings
    for embedded in embeddings(address):
        assert address in carried_ipv4(embedded)
        if not address.is_global:
            assert not is_public(embedded), embedded


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "2002:a9fe:a9fe::1", "::127.0.0.1", "::ffff:10.0.0.1", "64:ff9b:1::1"],
)
def test_the_reported_spellings_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    with pytest.raises(EndpointRefused):
        check_endpoint(f"https://[{address}]/hook", allow_local=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/",
        "http://[foo]/",
        "http://127.0.0.1:8080/a b",
        "http://127.0.0.1\x00.evil/",
        "https://8.8.8.8\x00.internal/",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https://example.com:port/",
        "https://user:pass@example.com/",
        "https://-bad-.example/",
        "https://ex_ample.com/",
        "ftp://example.com/",
        "https:///path-only",
        "//example.com/",
        "https://example.com/\u00e9",
        "https://example.com/\t",
    ],
)
def test_malformed_urls_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(EndpointRefused):
        parse_endpoint(url)


def test_loopback_is_allowed_only_locally() -> None:
    assert check_endpoint("http://127.0.0.1:9/hook", allow_local=True) == ["127.0.0.1"]
    with pytest.raises(EndpointRefused):
        check_endpoint("http://127.0.0.1:9/hook", allow_local=False)
    with pytest.raises(EndpointRefused):
        check_endpoint("https://127.0.0.1:9/hook", allow_local=False)


url_text = st.text(
    alphabet=st.sampled_from(list("htps:/[]@%.-_~?#:0123456789abcdefABCDEF \t\n\x00\x7f\u00e9!$&'()*+,;=")),
    max_size=60,
)
hosts = st.one_of(
    ipv4.map(str),
    st.builds(lambda a: f"[{ipaddress.IPv6Address(a)}]", st.integers(min_value=0, max_value=2**128 - 1)),
    st.from_regex(r"[a-z0-9-]{1,10}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True),
    url_text,
)
urls = st.one_of(
    url_text.map(lambda text: "http" + text),
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
        st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
        hosts,
        st.one_of(st.just(""), st.integers(min_value=-1, max_value=70000).map(lambda p: f":{p}"), url_text),
        url_text,
    ),
)


@settings(max_examples=400)
@given(urls)
def test_an_accepted_spelling_is_one_the_http_client_can_call(url: str) -> None:
    try:
        endpoint = parse_endpoint(url)
    except EndpointRefused:
        return
    assert not any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url)
    assert endpoint.scheme in ("http", "https")
    assert 0 < endpoint.port < 65536
    urllib.request.Request(url, data=b"{}", method="POST")  # noqa: S310 - raises on a URL it cannot send
