"""What a user does to a command line that our own tests did not: pipe it into head, paste odd ids,
press Ctrl-C, run operator commands with no AWS set up. One line and the documented exit code."""

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process
from tests.e2e.test_cli_over_http import Cli
from tests.support.local_service import LocalService

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "agent_sessions_cli"]


def test_output_cut_short_by_its_reader_ends_quietly(local_service: LocalService, tmp_path: Path) -> None:
    reading, writing = os.pipe()
    os.close(reading)  # the reader is gone before the first byte (`| head -0`)
    env = {**Cli(local_service, tmp_path).environment, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, "agent", "sessions", "list"], stdout=writing, stderr=subprocess.PIPE, env=env, timeout=60, check=False
    )
    os.close(writing)
    assert done.returncode == 0
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("pasted", ["sess_abc…", "sess_ü" + "a" * 23, "pay_\u202e", "../../etc/passwd", "%00"])
def test_an_odd_id_is_an_api_answer_not_a_crash(local_service: LocalService, tmp_path: Path, pasted: str) -> None:
    cli = Cli(local_service, tmp_path)
    for command in (["agent", "sessions", "get", pasted], ["payments", "get", pasted]):
        done = cli(*command)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) <= 2, done.stderr


def test_a_credential_http_cannot_carry_is_one_line(local_service: LocalService, tmp_path: Path) -> None:
    done = Cli(local_service, tmp_path)("agent", "sessions", "list", "--api-key", "zfi_test_ключ")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr


def test_keys_create_says_what_aws_needs(tmp_path: Path) -> None:
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("TABLE_NAME", "AWS_PROFILE")}
    bare.update({"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "HOME": str(tmp_path)})
    bare["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    no_region = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, "keys", "create", "--table", "t"], capture_output=True, text=True, env=bare, check=False
    )
    assert (no_region.returncode, no_region.stderr.count("\n")) == (2, 1), no_region.stderr
    assert "region" in no_region.stderr
    no_credentials = subprocess.run(  # noqa: S603
        [*CLI, "keys", "create", "--table", "t"],
        capture_output=True,
        text=True,
        env={**bare, "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
    )
    assert (no_credentials.returncode, no_credentials.stderr.count("\n")) == (2, 1), no_credentials.stderr
    assert "credentials" in no_credentials.stderr
    server = start_embedded_dynamodb_process()
    try:
        no_table = subprocess.run(  # noqa: S603
            [*CLI, "keys", "create", "--table", "missing", "--endpoint-url", server.endpoint_url],
            capture_output=True,
            text=True,
            env={**bare, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"},
            check=False,
        )
    finally:
        server.stop()
    assert (no_table.returncode, no_table.stderr.count("\n")) == (2, 1), no_table.stderr
    assert "table" in no_table.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_local_runtime_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    log = tmp_path / "local.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "local", "--port", "0"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while "API key:" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        os.killpg(process.pid, stop)  # as a terminal's Ctrl-C does: the whole process group
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in log.read_text(), log.read_text()


JUNK_ANSWERS = {  # what a wrong URL, a proxy or a broken server may answer
    "text": (200, "text/plain", b"not json at all"),
    "a list": (200, "application/json", b"[1, 2, 3]"),
    "other types": (200, "application/json", b'{"id": 5, "sessions": "no", "limits": "x", "amount": "abc"}'),
    "nested too deep": (200, "application/json", b"[" * 100_000 + b"]" * 100_000),
    "not UTF-8": (200, "application/json", b'{"id": "\xff\xfe"}'),
    "NaN": (200, "application/json", b'{"id": NaN, "amount": Infinity}'),
    "an error too deep": (422, "application/json", b'{"error": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "a proxy's page": (502, "text/html", b"<html>Bad Gateway</html>"),
}


@pytest.fixture(scope="module")
def junk_server() -> Iterator[tuple[str, dict[str, str]]]:
    """An HTTP server on 127.0.0.1 answering every request with JUNK_ANSWERS[mode["now"]]."""
    mode = {"now": "text"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, content_type, body = JUNK_ANSWERS[mode["now"]]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", mode
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("junk", list(JUNK_ANSWERS))
def test_a_server_that_is_not_this_api_is_one_line_not_a_crash(
    junk_server: tuple[str, dict[str, str]], tmp_path: Path, junk: str
) -> None:
    url, mode = junk_server
    mode["now"] = junk
    environment = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "AGENT_SESSIONS_API_URL": url}
    environment["AGENT_SESSIONS_API_KEY"] = "zfi_test_" + "a" * 40
    for command in (
        ["agent", "sessions", "list"],
        ["agent", "sessions", "get", "sess_" + "a" * 24],
        ["payments", "get", "pay_x"],
    ):
        done = subprocess.run(  # noqa: S603 - our own CLI
            [*CLI, *command], capture_output=True, text=True, env=environment, timeout=60, check=False
        )
        assert done.returncode == 1, (junk, command, done.stderr)
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
        assert "NOT_THE_API" in done.stderr or "HTTP_" in done.stderr, done.stderr
