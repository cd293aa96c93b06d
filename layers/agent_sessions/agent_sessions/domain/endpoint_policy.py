"""Which webhook URLs a deployment will call: HTTPS to public addresses only (no SSRF).

The local runtime sets AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS=true, which also allows plain HTTP
to a loopback address, so a receiver on 127.0.0.1 can be tried.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

MAX_URL_CHARS = 2048


class EndpointRefused(ValueError):
    """A URL this deployment will not call; the message says why."""


def local_webhooks_allowed() -> bool:
    """True in the local runtime."""
    return os.environ.get("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "").lower() == "true"


def check_endpoint(url: str, allow_local: bool | None = None) -> list[str]:
    """The addresses `url` resolves to, if every one may be called; EndpointRefused otherwise."""
    allow_local = local_webhooks_allowed() if allow_local is None else allow_local
    if len(url) > MAX_URL_CHARS:
        raise EndpointRefused(f"must be at most {MAX_URL_CHARS} characters")
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise EndpointRefused("must not carry credentials")
    host = parts.hostname
    if not host:
        raise EndpointRefused("must be an absolute https URL")
    try:
        resolved = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        addresses = sorted({str(info[4][0]).split("%")[0] for info in resolved})
    except (OSError, UnicodeError, ValueError) as exc:
        raise EndpointRefused("does not resolve") from exc
    loopback_only = all(ipaddress.ip_address(address).is_loopback for address in addresses)
    if allow_local and loopback_only and parts.scheme in ("http", "https"):
        return addresses
    if parts.scheme != "https":
        raise EndpointRefused("must be an https URL")
    for address in addresses:
        if not ipaddress.ip_address(address).is_global:
            raise EndpointRefused("must not point at a private, loopback or link-local address")
    return addresses
