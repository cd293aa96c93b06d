"""The parts of an HTTP API event (payload 2.0) the console reads, each read so that no request is a 500."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs


class Request:
    """The parts of an HTTP API event the console reads."""

    def __init__(self, event: dict[str, Any]) -> None:
        self.method = _method(event)
        self.path = str(event.get("rawPath") or "/console").rstrip("/") or "/"
        self.headers = _strings(event.get("headers"), lower=True)
        self.query = _strings(event.get("queryStringParameters"))
        self.cookies = _cookies(event, self.headers)
        self.form = _form(event) if self.method == "POST" else {}
        self.host = self.headers.get("host", "")


def _cookies(event: dict[str, Any], headers: dict[str, str]) -> list[str]:
    """The event's cookies, and a Cookie header's (a client may send either way)."""
    return [str(cookie) for cookie in event.get("cookies") or []] + [headers.get("cookie", "")]


def _method(event: dict[str, Any]) -> str:
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("method") or "GET").upper()


def _strings(mapping: dict[str, Any] | None, lower: bool = False) -> dict[str, str]:
    return {(str(k).lower() if lower else str(k)): str(v) for k, v in (mapping or {}).items()}


def _form(event: dict[str, Any]) -> dict[str, str]:
    """A POSTed form's fields (the first value of each), from its urlencoded body."""
    fields = parse_qs(_body_text(event), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _body_text(event: dict[str, Any]) -> str:
    """The body as text; a body flagged base64 that is not base64 is no body (so no CSRF token either)."""
    raw = str(event.get("body") or "")
    if not (event.get("isBase64Encoded") and raw):
        return raw
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8", "replace")
    except ValueError:  # binascii.Error
        return ""
