"""The public ZendFi SDK (npm `@zendfi/sdk`, pinned by tools/zendfi-sdk/package-lock.json), driven from tests.

`tools/zendfi-sdk/drive.js` runs in one Node process and answers one command at a time; the SDK
does everything it does for a real platform: its own Idempotency-Key on every POST, its retries
on a 5xx, its error classes, its webhook verification.
"""

import json
import subprocess
from decimal import Decimal
from typing import Any

from agent_sessions.domain.jsonio import encode_json
from agent_sessions_local.child_processes import end_by_closing_stdin
from agent_sessions_local.template import PROJECT_ROOT
from tests.support.npm_tools import ensure_installed, node_and_npm

SDK_DIR = PROJECT_ROOT / "tools" / "zendfi-sdk"


class ZendFiSdk:
    """A running driver: `call` sends one command and returns the SDK's answer (data, or its error)."""

    def __init__(self) -> None:
        node, npm = node_and_npm("the ZendFi SDK tests")
        ensure_installed(SDK_DIR, "@zendfi/sdk", npm)
        self._process = subprocess.Popen(  # noqa: S603 - our own script
            [node, str(SDK_DIR / "drive.js")],
            cwd=SDK_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def call(self, **command: Any) -> dict[str, Any]:
        """{"ok": True, "data": …} or {"ok": False, "error": {"name", "code", "statusCode", "message"}}."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(encode_json(command) + "\n")  # amounts as exact decimals; JavaScript reads doubles
        self._process.stdin.flush()
        for line in self._process.stdout:
            if line.startswith("RESULT "):
                answer: dict[str, Any] = json.loads(line.removeprefix("RESULT "), parse_float=Decimal)
                return answer
        raise RuntimeError("the SDK driver ended without answering")

    def pay(self, api_key: str, base_url: str, session_token: str, request: dict[str, Any]) -> dict[str, Any]:
        """createPayment as a platform pays for one of its sessions: its API key, the session's token."""
        return self.call(
            op="createPayment", apiKey=api_key, baseURL=base_url, sessionToken=session_token, request=request
        )

    def stop(self) -> None:
        """End the driver (closing its stdin ends its loop), by its PID if it does not end."""
        end_by_closing_stdin(self._process, seconds=10)
