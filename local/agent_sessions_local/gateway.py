"""The local gateway: serves the HTTP API declared in template.yaml through the real handlers.

Each request is turned into an API Gateway HTTP API (payload 2.0) event, passed through the
template's Lambda authorizer (its answer cached per Authorization header, as API Gateway
does) and then to the route's function. Like Lambda, each function instance is a process of
its own serving one request at a time (see `instances`); concurrent requests get more instances.
Every request is logged with its method, path, status and time taken.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from agent_sessions_local.docs_pages import local_page
from agent_sessions_local.instances import FunctionPool, InstanceFailed, stop_instances
from agent_sessions_local.template import RouteSpec, functions, http_routes, load_template

_log = logging.getLogger("agent_sessions_local.gateway")
_NOT_FOUND_BODY = '{"error":{"code":"NOT_FOUND","message":"No such route.","details":{}}}'
_METHOD_NOT_ALLOWED_BODY = (
    '{"error":{"code":"METHOD_NOT_ALLOWED","message":"This path does not take that method.","details":{}}}'
)


def _validation_error(message: str, field: str, reason: str) -> str:
    """The contract's 422 body for a request the gateway cannot pass on, naming the part at fault."""
    error = {"code": "VALIDATION_ERROR", "message": message, "details": {"fields": {field: reason}}}
    return json.dumps({"error": error}, separators=(",", ":"))


_UNREADABLE_BODY = _validation_error(
    "The request body could not be read: malformed chunked encoding, or fewer bytes than its Content-Length.",
    "body",
    "could not be read",
)
# API Gateway's HTTP API refuses a larger payload itself; read no more than it would pass on.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_TOO_LARGE_BODY = _validation_error(
    "The request body is larger than the API accepts.", "body", f"must be at most {MAX_PAYLOAD_BYTES} bytes"
)
_BAD_LENGTH_BODY = _validation_error(
    "The Content-Length header is not a number of bytes.", "content-length", "must be a whole number of bytes"
)
READ_TIMEOUT_SECONDS = 30  # a client silent this long before or during its request is disconnected
_INTERNAL_ERROR_BODY = '{"error":{"code":"INTERNAL","message":"Something went wrong on our side.","details":{}}}'


class LocalGateway:
    """A WSGI app standing in for API Gateway's HTTP API in front of the template's functions."""

    def __init__(self, routes: list[RouteSpec]) -> None:
        self._routes = routes
        self._pools: dict[str, FunctionPool] = {}
        self._authorizer_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        for route in routes:
            for spec in (route.function, route.authorizer):
                if spec is not None and spec.logical_id not in self._pools:
                    self._pools[spec.logical_id] = FunctionPool(spec)

    def _routes_for(self, path: str) -> list[RouteSpec]:
        """The routes whose path matches; a literal path (`/payments/check`) hides the templated ones."""
        matching = [route for route in self._routes if route.pattern.match(path)]
        literal = [route for route in matching if route.path == path]
        return literal or matching

    def _match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        for route in self._routes_for(path):
            found = route.pattern.match(path)
            if route.method in (method, "ANY") and found:
                return route, found.groupdict()
        return None

    def _unmatched(self, path: str) -> Response:
        """404 for an unknown path; 405 with Allow for a known path and an undeclared method."""
        allowed = sorted({route.method for route in self._routes_for(path)} - {"ANY"})
        if not allowed:
            return Response(_NOT_FOUND_BODY, status=404, content_type="application/json")
        response = Response(_METHOD_NOT_ALLOWED_BODY, status=405, content_type="application/json")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    def _authorize(self, route: RouteSpec, event: dict[str, Any]) -> dict[str, Any] | None:
        assert route.authorizer is not None
        identity = event["headers"].get("authorization", "")
        cache_key = (route.authorizer.logical_id, identity)
        cached = self._authorizer_cache.get(cache_key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        authorizer_event = {**event, "type": "REQUEST", "routeArn": f"arn:local:{event['routeKey']}"}
        authorizer_event["identitySource"] = [identity] if identity else []
        answer = self._pools[route.authorizer.logical_id].invoke(authorizer_event)
        result = answer.get("context", {}) if answer.get("isAuthorized") else None
        if route.authorizer_ttl_seconds and identity and result is not None:
            self._authorizer_cache[cache_key] = (time.monotonic() + route.authorizer_ttl_seconds, result)
        return result

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = _GatewayRequest(environ)
        started = time.monotonic()
        described = f"{_loggable(request.method)} {_loggable(request.path)}"
        try:
            response = self.handle(request)
        except BodyRefusedUnread as refusal:
            _log.info("%s: the body was refused unread (%s)", described, refusal)
            response = Response(refusal.answer, status=422, content_type="application/json")
            response.headers["Connection"] = "close"  # the unread body must not be taken for the next request
        except UnreadableBody as failure:
            _log.info("%s: the body could not be read (%s)", described, failure)
            response = Response(_UNREADABLE_BODY, status=422, content_type="application/json")
            response.headers["Connection"] = "close"  # the stream's framing is lost: nothing after it can be read
        except InstanceFailed as failure:
            _log.error("%s failed: %s", described, failure)
            response = Response(_INTERNAL_ERROR_BODY, status=500, content_type="application/json")
        elapsed_ms = (time.monotonic() - started) * 1000
        _log.info("%s %d %.0f ms", described, response.status_code, elapsed_ms)
        return response(environ, start_response)

    def warm(self) -> None:
        """One instance of every function started side by side, so no first request waits for one."""
        with ThreadPoolExecutor(max_workers=len(self._pools) or 1) as starting:
            list(starting.map(lambda pool: pool.warm(), self._pools.values()))

    def stop(self) -> None:
        """Stop every function instance (all together)."""
        stop_instances([instance for pool in self._pools.values() for instance in pool.take_all()])

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request through the authorizer and the route's handler."""
        page = local_page(request)  # `/`, `/docs` and `/openapi.json`: the local runtime's own
        if page is not None:
            return page
        matched = self._match(request.method, request.path)
        if matched is None:
            return self._unmatched(request.path)
        route, path_parameters = matched
        event = _http_api_event(request, route, path_parameters)
        if route.authorizer is not None:
            authorizer_context = self._authorize(route, event)
            if authorizer_context is None:
                return Response('{"message":"Forbidden"}', status=403, content_type="application/json")
            event["requestContext"]["authorizer"] = {"lambda": authorizer_context}
        result = self._pools[route.function.logical_id].invoke(event)
        return _http_response(result)


def _http_api_event(request: Request, route: RouteSpec, path_parameters: dict[str, str]) -> dict[str, Any]:
    body, is_base64 = _body_of(request)
    route_key = f"{route.method} {route.path}"  # as API Gateway names it (`ANY /console/{proxy+}` too)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": _headers_of(request),
        "requestContext": _request_context(request, route_key),
        "isBase64Encoded": is_base64,
    }
    optional = {
        "queryStringParameters": {name: ",".join(request.args.getlist(name)) for name in request.args},
        "pathParameters": path_parameters,
        "body": body,
        "cookies": [f"{name}={value}" for name, value in request.cookies.items()],
    }
    event.update({name: value for name, value in optional.items() if value})
    return event


def _loggable(text: str) -> str:
    """A method or path as the log shows it: percent-encoded past printable ASCII, as a client sends it.

    The path arrives decoded, so a `%0A`, `%1B` or U+2028 in it would otherwise start a forged log
    line or send escape sequences to the terminal that shows the log.
    """
    return urllib.parse.quote(text, safe="/:@!$&'()*+,;=[]")


class _GatewayRequest(Request):
    """A request whose body is read only up to API Gateway's payload limit (chunked ones too)."""

    max_content_length = MAX_PAYLOAD_BYTES + 1  # a chunked body stops there: one byte more tells it is too large


class UnreadableBody(Exception):
    """The request's body could not be read: broken chunked framing, or the client stopped sending."""


class BodyRefusedUnread(Exception):
    """The request's body is refused before it is read: past the payload limit, or its length unreadable."""

    def __init__(self, answer: str, reason: str) -> None:
        super().__init__(reason)
        self.answer = answer


def _body_of(request: Request) -> tuple[str | None, bool]:
    """The body as API Gateway passes it: text, or base64 when it is not UTF-8."""
    declared = request.headers.get("content-length")
    if declared is not None and not ((length := declared.strip()).isascii() and length.isdigit()):
        raise BodyRefusedUnread(_BAD_LENGTH_BODY, "Content-Length is not a number")  # werkzeug would read 0 bytes
    try:
        raw_body = request.get_data(cache=False)
    except RequestEntityTooLarge as refusal:  # declared or, chunked, read past the limit
        raise BodyRefusedUnread(_TOO_LARGE_BODY, "past the payload limit") from refusal
    except (OSError, ValueError, HTTPException) as failure:  # werkzeug's chunk parser, a timeout, a disconnect
        raise UnreadableBody(type(failure).__name__) from failure
    if len(raw_body) > MAX_PAYLOAD_BYTES:
        raise BodyRefusedUnread(_TOO_LARGE_BODY, "past the payload limit")
    try:
        return raw_body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw_body).decode("ascii"), True


def _headers_of(request: Request) -> dict[str, str]:
    """Lower-cased names; repeated headers joined with commas; X-Forwarded-* set as API Gateway does."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key.startswith("x-forwarded-"):
            continue  # API Gateway sets these itself, whatever the client sent
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers["x-forwarded-proto"] = request.scheme
    headers["x-forwarded-for"] = request.remote_addr or "127.0.0.1"
    return headers


def _request_context(request: Request, route_key: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": request.host,
        "domainPrefix": "local",
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }


def _http_response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(payload, status=int(result.get("statusCode", 200)))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = value
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


def function_environment(template: dict[str, Any], refs: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The functions' environment from the template: literal values, and `!Ref X` resolved through `refs`.

    The resolved ones name local resources, so they must win over anything inherited.
    """
    literal: dict[str, str] = {}
    referenced: dict[str, str] = {}
    for spec in functions(template).values():
        for name, value in spec.environment.items():
            if isinstance(value, dict) and value.get("Ref"):
                referenced[name] = refs.get(str(value["Ref"]), str(value["Ref"]))
            else:
                literal[name] = str(value)
    return literal, referenced


# What http.server refuses before a request reaches the gateway, by the status it would send.
_UNPARSED_REQUESTS = {
    414: ("path", "the request line must be at most 65536 bytes"),
    431: ("headers", "must be at most 100, each line at most 65536 bytes"),
    505: ("request", "must be HTTP/1.0 or HTTP/1.1"),
}


class _QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per request (the gateway logs each one); a silent client is let go after a while."""

    timeout = READ_TIMEOUT_SECONDS

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request line or headers the HTTP parser refused, before any function: the contract's 422.

        In place of http.server's HTML page (400, 414, 431, 505); the raw request is not echoed.
        """
        field, reason = _UNPARSED_REQUESTS.get(code, ("request", "must be an HTTP/1.x request line and headers"))
        _log.info("a request was refused by the HTTP parser (%d: %s)", code, reason)
        body = _validation_error("The request could not be read.", field, reason).encode()
        if self.request_version in ("", "HTTP/0.9"):  # refused before its version was read: answer in 1.1
            self.request_version = "HTTP/1.1"
        self.close_connection = True
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(body)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):  # a connection opened and never used (a browser's preconnect)
            _log.debug(format, *args)
        else:
            super().log_error(format, *args)


def serve(host: str, port: int, template: dict[str, Any] | None = None) -> tuple[BaseWSGIServer, LocalGateway]:
    """A threaded HTTP server for the template's API (not yet started), and the gateway behind it."""
    gateway = LocalGateway(http_routes(template or load_template()))
    server = make_server(host, port, gateway, threaded=True, request_handler=_QuietRequestHandler)
    server.socket.listen(1024)  # a burst of clients queues instead of being refused (werkzeug's default is 128)
    return server, gateway
