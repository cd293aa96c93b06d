"""Webhook delivery over HTTP (http.client): the `Sender` that `deliver_webhooks` uses.

Apart from the logic, so that the handlers that only manage endpoints do not import an HTTP client.
The endpoint is checked before each call, and the call goes to an address that check approved:
resolving the name a second time to connect would let a DNS answer that changed in between (DNS
rebinding) send the request to a private address after a public one passed.

Each call has a deadline as a whole, not only per read: a receiver that trickles its answer a byte
at a time, each within the socket's timeout, would otherwise hold a delivery for hours.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

from agent_sessions.domain.endpoint_policy import EndpointRefused, check_endpoint
from agent_sessions.infra.settings import load_settings

DELIVERY_TIMEOUT_SECONDS = 10  # each read, and the whole call
USER_AGENT = "agent-sessions-webhooks/1"  # some receivers' firewalls refuse a request without one


def _connected(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of the checked `addresses` that answers."""
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as refused:
            failure = refused
    raise failure


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to one of the checked addresses; the Host header still names the endpoint's host."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        self.sock = _connected(self._addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one of the checked addresses; SNI and the certificate check use the endpoint's host."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._addresses = addresses
        self._tls = context

    def connect(self) -> None:
        self.sock = self._tls.wrap_socket(
            _connected(self._addresses, self.port, self.timeout), server_hostname=self.host
        )


class HttpSender:
    """Sender over http.client: 10 s timeout, no redirects, the endpoint re-checked and pinned for each call."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls or ssl.create_default_context()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST `body`; the answer's status, or 0 when there was none (refused, unreachable, timed out)."""
        try:  # DNS may have changed since the endpoint was registered
            addresses = check_endpoint(url, load_settings().allow_local_webhooks)
        except EndpointRefused:
            return 0
        parts = urlsplit(url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        connection: http.client.HTTPConnection = (
            _PinnedHTTPSConnection(host, port, addresses, DELIVERY_TIMEOUT_SECONDS, self._tls)
            if https
            else _PinnedHTTPConnection(host, port, addresses, DELIVERY_TIMEOUT_SECONDS)
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        deadline = _Deadline(connection)
        try:  # a 3xx is an answer, not an invitation to call another address: http.client never follows one
            connection.request("POST", target, body=body, headers={"User-Agent": USER_AGENT, **headers})
            status = int(connection.getresponse().status)
        except (OSError, http.client.HTTPException, ValueError):
            return 0  # no answer: refused, unreachable, timed out, a TLS failure, or not HTTP
        finally:
            deadline.cancel()
            connection.close()
        return 0 if deadline.passed else status  # headers cut short by the deadline are no answer


class _Deadline:
    """DELIVERY_TIMEOUT_SECONDS for a whole call: then the socket is shut down, so a read blocked on
    it in the sender's thread ends at once (the plain socket's shutdown, even under TLS: SSLSocket's
    would also drop the TLS state the blocked read is using)."""

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self._connection = connection
        self._passed = threading.Event()
        self._timer = threading.Timer(DELIVERY_TIMEOUT_SECONDS, self._cut_off)
        self._timer.daemon = True
        self._timer.start()

    @property
    def passed(self) -> bool:
        return self._passed.is_set()

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut_off(self) -> None:
        self._passed.set()
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
