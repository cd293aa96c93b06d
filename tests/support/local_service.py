"""The local runtime (`agent-sessions local`, what `make run` starts) in a subprocess, over HTTP.

One runtime serves the whole test session (the e2e and the adversarial suites).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

DEV_KEYS = (
    "zfi_test_" + "e2eFirstAccount" + "a" * 30,
    "zfi_test_" + "e2eSecondAccount" + "b" * 30,
    "zfi_test_" + "adversaryThirdAccount" + "c" * 30,
    "zfi_test_" + "adversaryFourthAccount" + "d" * 30,
)


@dataclass(frozen=True)
class LocalService:
    """A running local runtime."""

    base_url: str
    api_keys: tuple[str, ...]
    pid: int

    def call(
        self,
        method: str,
        path: str,
        credential: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> requests.Response:
        """One HTTP request with an optional Bearer credential."""
        all_headers = {**(headers or {}), **({"Authorization": f"Bearer {credential}"} if credential else {})}
        return requests.request(method, self.base_url + path, headers=all_headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_service_process(
    tmp_path_factory: pytest.TempPathFactory, *extra_arguments: str, own_process_group: bool = False
) -> Iterator[LocalService]:
    """Start the local runtime on a free port; stop it by PID at the end (a session fixture in tests/conftest).

    With `own_process_group` it leads a process group of its own, which a test may kill whole.
    """
    port = _free_port()
    log_path = Path(tmp_path_factory.mktemp("local")) / "local.log"
    environment = {**os.environ, "AGENT_SESSIONS_DEV_API_KEY": ",".join(DEV_KEYS), "PORT": str(port)}
    environment.pop("TABLE_NAME", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                *(sys.executable, "-m", "agent_sessions_cli", "local", "--port", str(port), "--sweep-seconds", "1"),
                *extra_arguments,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=own_process_group,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while "API key:" not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"local runtime did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield LocalService(base_url=base_url, api_keys=DEV_KEYS, pid=process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
