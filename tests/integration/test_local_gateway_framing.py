"""The local gateway against requests whose HTTP framing is broken (what a hostile or buggy client sends).

A chunk size that is not hex, a body shorter than its Content-Length, a client that stops sending:
each is answered with the contract's VALIDATION_ERROR naming the body, never werkzeug's HTML 500 or
a hang, and the connection is closed, since nothing after a broken frame can be read. Whatever the
path or method, the gateway's log line for it stays one line of printable ASCII.
"""

import io
import json
import logging
import socket
import string
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions_local import gateway

BODY = b'{"agent_id": "a", "user_wallet": "w"}'
HEAD = b"POST /api/v1/ai/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer zfi_test_" + b"k" * 40 + b"\r\n"


@pytest.fixture(scope="module")
def gateway_port() -> Iterator[int]:
    """The gateway on a free port, letting a silent client go after 1 s (no function is ever invoked)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(gateway._QuietRequestHandler, "timeout", 1)
    server, local_gateway = gateway.serve("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        local_gateway.stop()
        patch.undo()


def exchange_any(port: int, raw: bytes) -> bytes:
    """Send `raw` and read everything until the server closes (a hang fails by the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def exchange(port: int, raw: bytes) -> tuple[str, dict[str, str], Any]:
    """Send `raw`, read until the server closes: the status line, the headers and the JSON body."""
    head, _, body = exchange_any(port, raw).partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return status, headers, json.loads(body)


def assert_body_refused(answer: tuple[str, dict[str, str], Any]) -> None:
    status, headers, body = answer
    assert status.split()[1] == "422", status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["fields"] == {"body": "could not be read"}


not_hex = st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""), min_size=1, max_size=40).filter(
    lambda line: not all(char in string.hexdigits + " \t" for char in line)
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(size_line=not_hex)
def test_a_chunk_size_that_is_not_hex_is_a_validation_error(gateway_port: int, size_line: str) -> None:
    raw = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + size_line.encode() + b"\r\n" + BODY + b"\r\n0\r\n\r\n"
    assert_body_refused(exchange(gateway_port, raw))


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(missing=st.integers(min_value=1, max_value=10_000))
def test_a_body_shorter_than_its_content_length_is_a_validation_error(gateway_port: int, missing: int) -> None:
    raw = HEAD + b"Content-Length: %d\r\n\r\n" % (len(BODY) + missing) + BODY
    assert_body_refused(exchange(gateway_port, raw))


def test_chunked_framing_wins_over_a_content_length_and_a_plain_body_is_refused(gateway_port: int) -> None:
    raw = HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    assert_body_refused(exchange(gateway_port, raw))


def test_a_chunked_body_cut_short_is_a_validation_error(gateway_port: int) -> None:
    raw = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % (len(BODY) + 10) + BODY
    assert_body_refused(exchange(gateway_port, raw))


# ---- bodies refused before they are read ----------------------------------------------------------


def assert_refused_unread(answer: tuple[str, dict[str, str], Any], field: str, reason: str) -> None:
    status, headers, body = answer
    assert status.split()[1] == "422", status
    assert headers["connection"] == "close"
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["fields"] == {field: reason}


not_a_length = st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=12).filter(
    lambda text: not (text.strip().isascii() and text.strip().isdigit())
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(length=not_a_length)
def test_a_content_length_that_is_not_a_number_of_bytes_is_refused_unread(gateway_port: int, length: str) -> None:
    """werkzeug reads such a length as 0 and the body would be lost; `-1`, `1e3`, `٣`, `5, 5` are refused."""
    raw = HEAD + b"Content-Length: " + length.encode("latin-1") + b"\r\n\r\n" + BODY
    assert_refused_unread(exchange(gateway_port, raw), "content-length", "must be a whole number of bytes")


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(length=st.integers(min_value=gateway.MAX_PAYLOAD_BYTES + 2, max_value=10**30))
def test_a_declared_length_past_the_payload_limit_is_refused_at_once(gateway_port: int, length: int) -> None:
    """Not read, not waited for (the module's gateway lets a silent client go after 1 s, with another answer)."""
    raw = HEAD + b"Content-Length: %d\r\n\r\n" % length + BODY
    too_large = f"must be at most {gateway.MAX_PAYLOAD_BYTES} bytes"
    assert_refused_unread(exchange(gateway_port, raw), "body", too_large)


def test_a_chunked_body_past_the_payload_limit_is_read_no_further(gateway_port: int) -> None:
    size = gateway.MAX_PAYLOAD_BYTES + 1  # the server stops reading here, so nothing more is sent
    raw = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % (size + 100) + b"x" * size
    assert_refused_unread(exchange(gateway_port, raw), "body", f"must be at most {gateway.MAX_PAYLOAD_BYTES} bytes")


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_at_the_payload_limit_is_passed_on_and_one_byte_more_is_not(chunked: bool) -> None:
    for size, passed in ((gateway.MAX_PAYLOAD_BYTES, True), (gateway.MAX_PAYLOAD_BYTES + 1, False)):
        environ = {
            "REQUEST_METHOD": "POST",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "3000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b"x" * size),
        }
        if chunked:  # the server has undone the chunking; only the limit ends the stream
            environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
        else:
            environ["CONTENT_LENGTH"] = str(size)
        request = gateway._GatewayRequest(environ)
        if passed:
            assert gateway._body_of(request) == ("x" * size, False)
        else:
            with pytest.raises(gateway.BodyRefusedUnread):
                gateway._body_of(request)


# ---- requests the HTTP parser refuses before the gateway sees them ------------------------------


unparsable = st.one_of(
    st.integers(min_value=65_537, max_value=200_000).map(  # a request line past http.server's 64 KiB
        lambda length: b"GET /api/v1/ai/sessions/" + b"a" * length + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
    st.integers(min_value=101, max_value=300).map(  # more than 100 header lines
        lambda count: b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % n for n in range(count)) + b"\r\n"
    ),
    st.integers(min_value=65_537, max_value=100_000).map(  # one header line past 64 KiB
        lambda length: b"GET / HTTP/1.1\r\nX-Big: " + b"v" * length + b"\r\n\r\n"
    ),
    st.sampled_from([b"HTTP/2.0", b"HTTP/3", b"HTTP/1.1.1", b"HTTP/x", b"http/1.1", b"HTTP/01.1x", b"HTTP/\xff"]).map(
        lambda version: b"GET /api/v1/ai/sessions " + version + b"\r\nHost: x\r\n\r\n"
    ),
    st.binary(min_size=1, max_size=40)
    .filter(lambda junk: b"\n" not in junk and len(junk.split()) > 3)  # four or more words: no request line
    .map(lambda junk: junk + b"\r\n\r\n"),
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=unparsable)
def test_a_request_the_http_parser_refuses_is_the_contracts_422_not_an_html_page(gateway_port: int, raw: bytes) -> None:
    status, headers, body = exchange(gateway_port, raw)
    assert status.startswith("HTTP/1.1 422"), status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert set(body["error"]["details"]["fields"]) <= {"path", "headers", "request"}


_PATH_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["\n", "\r", "\x1b", "[", "\x00", "\u2028", "\u0085", "%", " ", "\t", "\x7f"]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=_PATH_TEXT, method=st.sampled_from(["GET", "POST", "PATCH", "GE\x1bT", "X\x7fY", "DELETE"]))
def test_the_log_line_of_any_path_is_one_line_of_printable_ascii_naming_it(
    gateway_port: int, path: str, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A path arrives decoded: `%0A`, `%1B` or U+2028 in it must not start a forged line in the
    local runtime's log or reach the terminal that shows it; the line names the path percent-encoded."""
    sent = "/api/v1/ai/sessions/" + urllib.parse.quote(path, safe="")
    caplog.clear()
    request = f"{method} {sent} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with caplog.at_level(logging.INFO, logger="agent_sessions_local.gateway"):
        exchange_any(gateway_port, request.encode("latin-1"))
    lines = [record.getMessage() for record in caplog.records if record.name == "agent_sessions_local.gateway"]
    assert lines
    for line in lines:
        assert all(" " <= character <= "~" for character in line), repr(line)
    assert any(urllib.parse.unquote(line.split(" ")[1]) == urllib.parse.unquote(sent) for line in lines), lines
