"""A webhook receiver on 127.0.0.1 for tests: records every POST and answers the planned statuses."""

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """Records each request (lowercased headers, raw body); answers the next planned status, else 200.

    With `delay_seconds` it takes that long to answer each request (a slow or hanging endpoint).
    """

    def __init__(self, delay_seconds: float = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.planned: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                time.sleep(delay_seconds)  # a slow receiver: the sender waits this long for the answer
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.planned.pop(0) if receiver.planned else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        """The event names received, in order."""
        return [json.loads(body)["event"] for _, body in self.requests]

    def wait_for(self, event_name: str, object_id: str, seconds: float = 60) -> dict[str, Any]:
        """The first `event_name` event about `object_id`, waiting for it up to `seconds`.

        It returns as soon as the event arrives; the limit only bounds a failure, so it is generous:
        on a loaded 2-core CI a restarted runtime's first delivery starts its function instances cold.
        """
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for _, body in list(self.requests):
                event = json.loads(body)
                if event["event"] == event_name and event["data"].get("id") == object_id:
                    return dict(event)
            time.sleep(0.1)
        raise AssertionError(f"no {event_name} for {object_id} within {seconds} s")

    def exact(self, event_name: str, object_id: str, seconds: float = 60) -> dict[str, Any]:
        """wait_for, its numbers read from the delivered bytes as Decimal (exactly as sent)."""
        self.wait_for(event_name, object_id, seconds)
        for _, body in list(self.requests):
            event = json.loads(body, parse_float=Decimal)
            if event["event"] == event_name and event["data"].get("id") == object_id:
                return dict(event)
        raise AssertionError(f"no {event_name} for {object_id}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
