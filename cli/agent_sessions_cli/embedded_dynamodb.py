"""An embedded DynamoDB: moto's server in a background thread, handling one request at a time.

moto has no per-item lock, so with threads two conditional writes can both pass. Serving
requests one by one makes it behave as DynamoDB does for our conditional writes
(`../shared/emulators.md`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class _QuietMotoRequestHandler(MotoRequestHandler):
    """moto's handler without a log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class EmbeddedDynamoDB:
    """A running serialised moto server; `endpoint_url` is where boto3 should point."""

    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def endpoint_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_embedded_dynamodb(port: int = 0) -> EmbeddedDynamoDB:
    """Start moto's server on 127.0.0.1 (a free port when 0), serialising every request."""
    application = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, application, threaded=False, request_handler=_QuietMotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="embedded-dynamodb", daemon=True)
    thread.start()
    return EmbeddedDynamoDB(server=server, thread=thread)
