"""A proxy in front of the local runtime that loses answers, as a gateway does when a function times out.

Each request is forwarded and fully served; for the next `lose` requests whose path starts with
`path_prefix`, the client gets a 504 (API Gateway's body) instead of the answer, so the work is
done but the client never learns it: what a client's retry must survive.
"""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_TIMED_OUT = b'{"message":"Endpoint request timed out"}'  # API Gateway's 504 body
# Hop-by-hop headers, and those each server sets itself.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "date", "server"}


class LossyGateway:
    """Forwards to `upstream`; records (method, path, headers) of every request it forwards."""

    def __init__(self, upstream: str, path_prefix: str, lose: int) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self._lose = lose
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                gateway.seen.append((self.command, self.path, {k.lower(): v for k, v in headers.items()}))
                upstream_connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
                upstream_connection.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream_connection.getresponse()
                payload = answer.read()
                upstream_connection.close()
                if gateway._loses(self.path):
                    self._reply(504, _TIMED_OUT, [("Content-Type", "application/json")])
                else:
                    self._reply(answer.status, payload, answer.getheaders())

            def _reply(self, status: int, payload: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _NOT_FORWARDED:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PATCH = _forward

            def log_message(self, *args: Any) -> None:
                return None

        self._prefix = path_prefix
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _loses(self, path: str) -> bool:
        with self._lock:
            if self._lose > 0 and path.startswith(self._prefix):
                self._lose -= 1
                return True
            return False

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
