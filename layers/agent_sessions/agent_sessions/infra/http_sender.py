"""Webhook delivery over HTTP (urllib): the `Sender` that `deliver_webhooks` uses.

Apart from the logic, so that the handlers that only manage endpoints do not import an HTTP client.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from agent_sessions.domain.endpoint_policy import EndpointRefused, check_endpoint
from agent_sessions.infra.settings import load_settings

DELIVERY_TIMEOUT_SECONDS = 10


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, not an invitation to call another address


class HttpSender:
    """Sender over urllib: 10 s timeout, no redirects, the endpoint re-checked before each call."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects)

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        try:  # DNS may have changed since the endpoint was registered
            check_endpoint(url, load_settings().allow_local_webhooks)
        except EndpointRefused:
            return 0
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with self._opener.open(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                return int(response.status)
        except urllib.error.HTTPError as answered:
            return int(answered.code)
        except (urllib.error.URLError, TimeoutError, OSError, ValueError):
            return 0  # no answer: refused, unreachable, timed out, or a URL the HTTP client refuses
