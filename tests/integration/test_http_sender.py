"""Webhook delivery over the wire (infra/http_sender): to the address the endpoint check approved, and only there.

Names resolve through a stand-in `getaddrinfo` (a name the test owns, answering 127.0.0.1), so the
tests can count resolutions and change the answer between them, as a DNS-rebinding attacker would.
"""

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.infra import settings as service_settings
from agent_sessions.infra.http_sender import USER_AGENT, HttpSender
from tests.support.receiver import Receiver

HOST = "hooks.example"


class Resolver:
    """getaddrinfo for HOST: 127.0.0.1 the first time, then whatever `later` says; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.later = "127.0.0.1"
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != HOST:
            return self._real(host, port, *args, **kwargs)
        self.calls += 1
        address = "127.0.0.1" if self.calls == 1 else self.later
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    monkeypatch.setenv("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "true")  # loopback receivers, as the local runtime
    service_settings.load_settings.cache_clear()
    stand_in = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", stand_in)
    yield stand_in
    service_settings.load_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def test_a_delivery_goes_to_the_checked_address_and_never_resolves_the_name_again(
    resolver: Resolver, receiver: Receiver
) -> None:
    resolver.later = "10.0.0.1"  # a rebinding answer: private, after a loopback one passed the check
    port = receiver.server.server_port
    status = HttpSender().post(f"http://{HOST}:{port}/hooks?x=1", {"Content-Type": "application/json"}, b'{"a":1}')
    assert status == 200
    assert resolver.calls == 1  # the check's resolution is the only one
    [(headers, body)] = receiver.requests
    assert (headers["host"], headers["user-agent"], body) == (f"{HOST}:{port}", USER_AGENT, b'{"a":1}')


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(status=st.sampled_from([201, 204, 301, 302, 307, 308, 400, 410, 429, 500, 503]))
def test_any_answer_is_reported_as_is_and_a_redirect_is_never_followed(
    resolver: Resolver, receiver: Receiver, status: int
) -> None:
    receiver.requests.clear()
    receiver.planned.append(status)
    assert HttpSender().post(f"http://{HOST}:{receiver.server.server_port}/hooks", {}, b"{}") == status
    assert len(receiver.requests) == 1


def test_no_answer_is_0(resolver: Resolver) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    assert HttpSender().post(f"http://{HOST}:{closed_port}/hooks", {}, b"{}") == 0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for HOST (openssl), and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl makes the test certificate"
    subprocess.run(  # noqa: S603 - fixed arguments
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=DNS:{HOST}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[tuple[int, list[dict[str, str]]]]:
    """An HTTPS server on 127.0.0.1 presenting the certificate; it records each request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append({name.lower(): value for name, value in self.headers.items()})
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, seen
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_checked_address_with_the_hosts_name_for_sni_and_the_certificate(
    resolver: Resolver, certificate: tuple[Path, Path], tls_receiver: tuple[int, list[dict[str, str]]]
) -> None:
    port, seen = tls_receiver
    resolver.later = "10.0.0.1"
    trusting = HttpSender(ssl.create_default_context(cafile=str(certificate[0])))
    assert trusting.post(f"https://{HOST}:{port}/hooks", {}, b"{}") == 202
    assert resolver.calls == 1
    assert seen[0]["host"] == f"{HOST}:{port}"
    assert HttpSender().post(f"https://{HOST}:{port}/hooks", {}, b"{}") == 0  # a certificate nobody vouches for


class TricklingReceiver:
    """Reads the request, then answers a status line and one header byte at a time, forever (until stopped)."""

    def __init__(self, seconds_per_byte: float, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._pause = seconds_per_byte
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection:
                try:
                    if self._tls is not None:
                        connection.settimeout(5)
                        connection = self._tls.wrap_socket(connection, server_side=True)
                    connection.recv(65536)
                    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    while not self._stop.wait(self._pause):
                        connection.sendall(b"a")
                except OSError:
                    continue  # the sender gave up and closed: serve the next one

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_receiver_trickling_its_answer_is_given_up_on_after_the_deadline(
    resolver: Resolver, monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path], scheme: str
) -> None:
    """Each byte comes within the socket's timeout, so only a deadline on the whole call can end it."""
    from agent_sessions.infra import http_sender

    monkeypatch.setattr(http_sender, "DELIVERY_TIMEOUT_SECONDS", 1.5)
    server_tls = None
    if scheme == "https":
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(*certificate)
    trickler = TricklingReceiver(seconds_per_byte=0.2, tls=server_tls)
    sender = HttpSender(ssl.create_default_context(cafile=str(certificate[0])))
    answers: list[int] = []
    delivery = threading.Thread(
        target=lambda: answers.append(sender.post(f"{scheme}://{HOST}:{trickler.port}/hooks", {}, b"{}")), daemon=True
    )
    try:
        started = time.monotonic()
        delivery.start()
        delivery.join(timeout=6)  # not forever: without the deadline it would run for hours
        took = time.monotonic() - started
        assert not delivery.is_alive(), f"still delivering after {took:.1f} s against a 1.5 s deadline"
    finally:
        trickler.stop()
    assert answers == [0]  # a status line whose headers never ended is no answer
