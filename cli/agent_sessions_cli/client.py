"""A small HTTP client for the agent-sessions API, and where its URL and credentials come from.

Precedence: command-line flags, then AGENT_SESSIONS_API_URL / AGENT_SESSIONS_API_KEY /
AGENT_SESSIONS_SESSION_TOKEN, then ZendFi's ZENDFI_API_URL / ZENDFI_API_KEY, then the config file
`agent-sessions login` writes, then the local runtime's default URL. A base URL may end in
`/api/v1` (as ZendFi's is written). Numbers in answers are parsed as Decimal, never float.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:3000"
TIMEOUT_SECONDS = 30


NOT_THE_API = "the answer is not what an agent-sessions API sends: is the API URL right?"


class ApiError(Exception):
    """The API answered with an error: its status and the contract's code, message and details."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


def config_path() -> Path:
    """$XDG_CONFIG_HOME/agent-sessions/config.json (~/.config by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agent-sessions" / "config.json"


def read_config() -> dict[str, str]:
    """The saved config, or nothing."""
    try:
        loaded = json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def write_config(api_url: str, api_key: str | None) -> Path:
    """Save the URL (and key) for later commands; readable by the user only."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"api_url": api_url, **({"api_key": api_key} if api_key else {})}
    path.touch(mode=stat.S_IRUSR | stat.S_IWUSR, exist_ok=True)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    path.write_text(json.dumps(values, indent=2) + "\n")
    return path


@dataclass(frozen=True)
class Connection:
    """Where to send requests and with which credentials."""

    api_url: str
    api_key: str | None = None
    session_token: str | None = None

    @classmethod
    def resolve(cls, api_url: str | None, api_key: str | None, session_token: str | None) -> Connection:
        """Flags first, then the environment, then the config file."""
        saved = read_config()
        url = api_url or _first_set("AGENT_SESSIONS_API_URL", "ZENDFI_API_URL") or saved.get("api_url")
        return cls(
            api_url=base_url(url or DEFAULT_API_URL),
            api_key=api_key or _first_set("AGENT_SESSIONS_API_KEY", "ZENDFI_API_KEY") or saved.get("api_key"),
            session_token=session_token or os.environ.get("AGENT_SESSIONS_SESSION_TOKEN"),
        )

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        credential: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; the parsed JSON answer, or ApiError."""
        data = encode_json(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", "User-Agent": "agent-sessions-cli", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if credential:
            all_headers["Authorization"] = f"Bearer {credential}"
        try:
            url = self.api_url + urllib.parse.quote(path, safe="/?=&%:@+,;~-._")  # a pasted "sess_ab…" stays a URL
            request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - the user's URL
                return _answer(response)
        except UnicodeEncodeError:
            raise ApiError(0, "INVALID_INPUT", "a credential or header holds a character HTTP cannot carry") from None
        except ValueError as failure:  # urllib's "unknown url type" and the like
            raise ApiError(0, "INVALID_INPUT", f"cannot call {self.api_url}: {failure}") from None
        except urllib.error.HTTPError as failure:
            raise _api_error(failure.code, failure.read()) from None
        except urllib.error.URLError as failure:
            raise ApiError(0, "UNREACHABLE", f"cannot reach {self.api_url}: {failure.reason}") from None
        except TimeoutError:
            raise ApiError(0, "UNREACHABLE", f"no answer from {self.api_url} in {TIMEOUT_SECONDS} s") from None


def _first_set(*names: str) -> str | None:
    """The first of these environment variables that is set and not empty."""
    return next((os.environ[name] for name in names if os.environ.get(name)), None)


def base_url(url: str) -> str:
    """The service's root: without a trailing slash or `/api/v1` (every path the CLI sends carries it)."""
    root = url.strip().rstrip("/")
    return root.removesuffix("/api/v1").rstrip("/")


def encode_json(value: Any) -> str:
    """JSON with Decimals written digit for digit (amounts never pass through float)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_json(item) for item in value) + "]"
    return json.dumps(value)


def _answer(response: Any) -> Any:
    """A response's body: JSON, or JSON Lines (an audit export) as a list; ApiError if it is neither."""
    try:
        if response.headers.get_content_type() == "application/x-ndjson":
            return parse_json_lines(response.read())
        return _parse(response.read())
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past what Python parses
        raise ApiError(response.status, "NOT_THE_API", NOT_THE_API) from None


def parse_json_lines(raw: bytes) -> list[Any]:
    """JSON Lines (an audit export): one value per non-empty line. NaN and Infinity, which are not
    JSON, are refused (a ValueError) as the API refuses them."""
    return [
        json.loads(line, parse_float=Decimal, parse_constant=_not_json) for line in raw.splitlines() if line.strip()
    ]


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _parse(raw: bytes) -> Any:
    return json.loads(raw, parse_float=Decimal) if raw else None


def _api_error(status: int, raw: bytes) -> ApiError:
    try:
        error = _parse(raw)["error"]
        return ApiError(status, str(error["code"]), str(error["message"]), dict(error.get("details") or {}))
    except (ValueError, KeyError, TypeError, RecursionError):
        text = raw.decode("utf-8", "replace").strip()[:200]
        return ApiError(status, f"HTTP_{status}", text or "no body")
