"""Which webhook URLs a deployment will call: HTTPS to public addresses only (no SSRF).

A URL is parsed strictly before anything else: printable ASCII without spaces (no control
characters, no NUL), scheme http or https, no credentials, a port that is a number, and a host
that is a DNS name or an IP address. Every address the host resolves to must be public, and an
IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is judged by
the IPv4 address it carries.

The local runtime allows plain HTTP to a loopback address (settings: allow_local_webhooks),
so a receiver on 127.0.0.1 can be tried.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

MAX_URL_CHARS = 2048
# RFC 3986's characters: unreserved, reserved and "%" (no space, no control character, no NUL).
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(ValueError):
    """A URL this deployment will not call; the message says why."""


@dataclass(frozen=True)
class Endpoint:
    """A URL that parsed strictly."""

    scheme: str
    host: str
    port: int


def parse_endpoint(url: str) -> Endpoint:
    """The scheme, host and port of a well-formed http(s) URL; EndpointRefused otherwise."""
    _check_characters(url)
    parts, port, host = _split(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EndpointRefused("must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("must not carry credentials")
    if not host or not _is_valid_host(host):
        raise EndpointRefused("must name a valid host (a DNS name or an IP address)")
    return Endpoint(scheme=parts.scheme, host=host, port=port or (443 if parts.scheme == "https" else 80))


def _check_characters(url: str) -> None:
    if len(url) > MAX_URL_CHARS:
        raise EndpointRefused(f"must be at most {MAX_URL_CHARS} characters")
    if not set(url) <= _URL_CHARACTERS:
        raise EndpointRefused("must be an ASCII URL without spaces or control characters")


def _split(url: str) -> tuple[SplitResult, int | None, str | None]:
    try:
        parts = urlsplit(url)
        return parts, parts.port, parts.hostname
    except ValueError as exc:
        raise EndpointRefused("is not a valid URL") from exc


def _is_valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host.removesuffix(".")
    return 0 < len(name) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in name.split("."))


def carried_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo); [] if none."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64_WELL_KNOWN or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def is_public(address: IPAddress) -> bool:
    """Whether a deployment may call this address: globally routable, judged by any IPv4 it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64_LOCAL_USE:
        return False
    carried = carried_ipv4(address)
    if carried:
        return all(ipv4.is_global for ipv4 in carried)
    return address.is_global


def _resolve(endpoint: Endpoint) -> list[IPAddress]:
    try:
        resolved = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
        return sorted({ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in resolved}, key=str)
    except (OSError, UnicodeError, ValueError) as exc:
        raise EndpointRefused("does not resolve") from exc


def check_endpoint(url: str, allow_local: bool) -> list[str]:
    """The addresses `url` resolves to, if every one may be called; EndpointRefused otherwise."""
    endpoint = parse_endpoint(url)
    addresses = _resolve(endpoint)
    if allow_local and all(address.is_loopback for address in addresses):
        return [str(address) for address in addresses]
    if endpoint.scheme != "https":
        raise EndpointRefused("must be an https URL")
    if not all(is_public(address) for address in addresses):
        raise EndpointRefused("must not point at a private, loopback or link-local address")
    return [str(address) for address in addresses]
