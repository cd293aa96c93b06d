"""An embedded DynamoDB: moto's server in a background thread, handling one request at a time.

moto has no per-item lock, so with threads two conditional writes can both pass. Serving
requests one by one makes it behave as DynamoDB does for our conditional writes
(`../shared/emulators.md`).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


def _lighter_transaction_backups() -> None:
    """Make moto's TransactWriteItems back up each table once, and without its stream.

    To roll a cancelled transaction back, moto deep-copies the whole table, once for every item
    in the transaction (each copy replacing the last) and including the table's stream, which
    only ever grows. Copying each table once, sharing the stream, gives the same rollback at a
    fraction of the cost, provided that stream records a cancelled transaction appended are cut
    off again, which is done here. Requests are serialised, so swapping the module's `copy` for
    the length of one call is safe.
    """
    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend.transact_write_items, "lighter_backups", False):
        return
    transact_write_items = models.DynamoDBBackend.transact_write_items
    real_copy = vars(models)["copy"]

    def with_lighter_backups(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        table_names = {op.get("TableName") for item in transact_items for op in item.values()}
        streams = {
            name: (self.tables[name].stream_shard, len(self.tables[name].stream_shard.items))
            for name in table_names
            if name in self.tables and self.tables[name].stream_shard is not None
        }
        shared = {id(shard): shard for shard, _ in streams.values()}
        copies: dict[int, tuple[Any, Any]] = {}  # id -> (original kept alive, its copy)

        class _CopyOnce:
            @staticmethod
            def deepcopy(value: Any, memo: Any = None) -> Any:
                if id(value) not in copies:
                    copies[id(value)] = (value, real_copy.deepcopy(value, dict(shared)))
                return copies[id(value)][1]

        setattr(models, "copy", _CopyOnce)  # noqa: B010 - moto's private module attribute
        try:
            return transact_write_items(self, transact_items)
        except Exception:
            for name, (shard, length) in streams.items():  # rolled back: so are its stream records
                del shard.items[length:]
                shard.table = self.tables[name]
            raise
        finally:
            setattr(models, "copy", real_copy)  # noqa: B010

    with_lighter_backups.lighter_backups = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = with_lighter_backups  # type: ignore[method-assign]


# Connections the serialised server lets wait (werkzeug's default is 128).
LISTEN_BACKLOG = 1024


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, without listing moto's package directory on every request."""

    _module_names: frozenset[str] = frozenset()

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is not None and host in self._cached_module_names():
            return host
        return super().get_backend_for_host(host)

    @classmethod
    def _cached_module_names(cls) -> frozenset[str]:
        if not cls._module_names:
            cls._module_names = frozenset(backends.list_of_moto_modules())
        return cls._module_names


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
    _lighter_transaction_backups()
    application = _Dispatcher(create_backend_app)
    server = make_server("127.0.0.1", port, application, threaded=False, request_handler=_QuietMotoRequestHandler)
    server.socket.listen(LISTEN_BACKLOG)  # a burst of clients queues instead of timing out on connect
    thread = threading.Thread(target=server.serve_forever, name="embedded-dynamodb", daemon=True)
    thread.start()
    return EmbeddedDynamoDB(server=server, thread=thread)


@dataclass
class EmbeddedDynamoDBProcess:
    """A serialised moto server in a child process (its own interpreter, so its own core)."""

    process: subprocess.Popen[str]
    port: int

    @property
    def endpoint_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the child by its PID and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_embedded_dynamodb_process(port: int = 0) -> EmbeddedDynamoDBProcess:
    """Start the serialised moto server in a child process; returns once it is listening."""
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "agent_sessions_local.embedded_dynamodb", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening "):
        process.kill()
        raise RuntimeError(f"the embedded DynamoDB did not start: {line!r}")
    return EmbeddedDynamoDBProcess(process=process, port=int(line.split()[1]))


def _exit_with_parent(parent_pid: int) -> None:
    """A child left behind by a killed parent stops by itself."""
    while os.getppid() == parent_pid:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    """`python -m agent_sessions_local.embedded_dynamodb --port N`: serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    embedded = start_embedded_dynamodb(arguments.port)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the runtime stops this
    print(f"listening {embedded.server.server_port}", flush=True)
    embedded.thread.join()


if __name__ == "__main__":
    main()
