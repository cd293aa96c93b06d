"""An embedded DynamoDB: moto's server in a background thread, handling one request at a time.

moto has no per-item lock, so with threads two conditional writes can both pass. Serving
requests one by one makes it behave as DynamoDB does for our conditional writes
(`../shared/emulators.md`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from agent_sessions_local import moto_serialization
from agent_sessions_local.child_processes import end_by_closing_stdin
from agent_sessions_local.journal import Journal, JournaledApplication


def _lighter_transaction_backups() -> None:
    """Make moto's TransactWriteItems back up only the items it names, not whole tables.

    To roll a cancelled transaction back, moto deep-copies every table the transaction touches
    (items, indexes and the stream, which only grows), so each payment cost time and memory in
    proportion to the table: locally, payments slowed down as data accumulated. Here the "copy"
    moto takes is the live table itself, and the items the transaction names (by key) are copied
    instead; when it is cancelled, each is put back as it was (or removed, if it was new) and the
    stream records it appended are cut off. A table with a sort key keeps moto's own full copy
    (ours has none). Requests are serialised, so swapping the module's `copy` for the length of
    one call is safe.
    """
    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend.transact_write_items, "lighter_backups", False):
        return
    transact_write_items = models.DynamoDBBackend.transact_write_items
    real_copy = vars(models)["copy"]

    from moto.dynamodb.models.table import Table

    class _LiveTable:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, Table):
                return value  # moto's "backup" is the live table; the named items are backed up instead
            return real_copy.deepcopy(value, memo)  # anything else moto copies (an item's old image)

    def with_item_backups(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        backups = _named_items(self, transact_items, real_copy)
        if backups is None:
            return transact_write_items(self, transact_items)
        streams = [  # each stream's next sequence number (records are dropped from the front, see below)
            (table.stream_shard, table.stream_shard.starting_sequence_number + len(table.stream_shard.items))
            for table in {id(t): t for t, _, _ in backups}.values()
            if table.stream_shard is not None
        ]
        global _TRANSACTION_IN_PROGRESS
        setattr(models, "copy", _LiveTable)  # noqa: B010 - moto's private module attribute
        _TRANSACTION_IN_PROGRESS = True
        try:
            answer = transact_write_items(self, transact_items)
        except Exception:
            for table, hash_value, item in backups:  # rolled back: the named items as they were
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            for shard, next_sequence in streams:  # and its stream records
                del shard.items[max(0, next_sequence - shard.starting_sequence_number) :]
            raise
        finally:
            setattr(models, "copy", real_copy)  # noqa: B010
            _TRANSACTION_IN_PROGRESS = False
        for shard, _ in streams:
            bound_stream(shard)
        return answer

    with_item_backups.lighter_backups = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = with_item_backups  # type: ignore[method-assign]


def _named_items(backend: Any, transact_items: list[dict[str, Any]], copier: Any) -> list[tuple[Any, Any, Any]] | None:
    """(table, hash key, a copy of its item or None) for each item a transaction names; None if a
    table it names has a sort key (then moto's own whole-table backup is kept)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    named: list[tuple[Any, Any, Any]] = []
    for transact_item in transact_items:
        operation, request = next(iter(transact_item.items()))
        table = backend.tables.get(request.get("TableName"))
        if table is None:
            continue
        if table.range_key_attr:
            return None
        key = request["Item"] if operation == "Put" else request.get("Key", {})
        if table.hash_key_attr not in key:
            continue  # moto refuses it before writing anything
        hash_value = DynamoType(key[table.hash_key_attr])
        current = table.items.get(hash_value)
        named.append((table, hash_value, copier.deepcopy(current) if current is not None else None))
    return named


# Stream records the embedded DynamoDB keeps per table (AWS keeps 24 hours' worth). The local
# runtime's pump reads them within a second, so older ones only cost memory.
STREAM_RECORDS_KEPT = int(os.environ.get("AGENT_SESSIONS_LOCAL_STREAM_RECORDS", "2000"))


_TRANSACTION_IN_PROGRESS = False


def bound_stream(shard: Any, kept: int = 0) -> None:
    """Drop a stream shard's oldest records beyond `kept`, its sequence numbers unchanged."""
    excess = len(shard.items) - (kept or STREAM_RECORDS_KEPT)
    if excess > 0:
        del shard.items[:excess]
        shard.starting_sequence_number += excess


def _bounded_streams(kept: int) -> None:
    """Make moto's table streams keep only their newest `kept` records (moto keeps every one).

    The oldest records are dropped and the shard's starting sequence number moves past them, so
    sequence numbers, and iterators at or after the oldest kept record, stay valid; a reader
    further behind than `kept` records would miss the dropped ones, as a DynamoDB reader more
    than 24 hours behind does.
    """
    from moto.dynamodb.models.table import StreamShard

    if getattr(StreamShard.add, "bounded", False):
        return
    add = StreamShard.add

    def add_and_bound(self: Any, old: Any, new: Any) -> None:
        add(self, old, new)
        if not _TRANSACTION_IN_PROGRESS:  # a transaction's records are bounded once it commits
            bound_stream(self, kept)

    add_and_bound.bounded = True  # type: ignore[attr-defined]
    StreamShard.add = add_and_bound  # type: ignore[method-assign]


class _Untracked(list):  # type: ignore[type-arg]
    """A model class's instance register that registers nothing."""

    def append(self, instance: Any) -> None:
        return None


def _untracked_dynamodb_models() -> None:
    """Stop moto registering every DynamoDB model instance it ever made.

    moto's `BaseModel` appends each new instance (every item, every item copy a write makes, every
    stream record) to a list on its class, for its dashboard, and keeps it until a reset: the
    embedded DynamoDB grew by about 45 KB per payment although its table and stream did not. Each
    DynamoDB model's list is made one that keeps nothing; nothing here reads them.
    """
    from moto.core.model_instances import model_data
    from moto.dynamodb.models import table  # noqa: F401 - registers the DynamoDB model classes

    for service in ("dynamodb", "dynamodbstreams"):
        for model in model_data.get(service, {}).values():
            model.instances_tracked = _Untracked()  # type: ignore[attr-defined]


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
    journal: Journal

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
    _bounded_streams(STREAM_RECORDS_KEPT)
    _untracked_dynamodb_models()
    moto_serialization.install()
    journal = Journal()
    application = JournaledApplication(_Dispatcher(create_backend_app), journal)
    server = make_server("127.0.0.1", port, application, threaded=False, request_handler=_QuietMotoRequestHandler)
    server.socket.listen(LISTEN_BACKLOG)  # a burst of clients queues instead of timing out on connect
    thread = threading.Thread(target=server.serve_forever, name="embedded-dynamodb", daemon=True)
    thread.start()
    return EmbeddedDynamoDB(server=server, thread=thread, journal=journal)


def moto_table(table_name: str) -> Any:
    """The table of that name in this process's moto (whatever account and region made it)."""
    from moto.dynamodb.models import dynamodb_backends

    for account in list(dynamodb_backends.keys()):
        for region in list(dynamodb_backends[account].keys()):
            table = dynamodb_backends[account][region].tables.get(table_name)
            if table is not None:
                return table
    raise LookupError(f"no table {table_name} in the embedded DynamoDB")


@dataclass
class EmbeddedDynamoDBProcess:
    """A serialised moto server in a child process (its own interpreter, so its own core)."""

    process: subprocess.Popen[str]
    port: int

    @property
    def endpoint_url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def journal_to(self, table_name: str, path: Path, rewrite_after: int | None = None) -> None:
        """Keep `table_name` in the file `path` from now on (see `journal`); returns once it does."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        command = {"journal": table_name, "path": str(path), "rewrite_after": rewrite_after}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:  # its answer, past anything else it may have printed
            if line.strip() == "journaling":
                return
            if line.startswith("journal failed: "):
                raise RuntimeError(
                    f"the embedded DynamoDB could not keep {path}: {line.removeprefix('journal failed: ')}"
                )
        raise RuntimeError(f"the embedded DynamoDB ended before it could keep {path}")

    def stop(self) -> None:
        """Stop the child (closing its stdin ends it; one that does not end is killed by its PID) and reap it."""
        end_by_closing_stdin(self.process)


def start_embedded_dynamodb_process(port: int = 0) -> EmbeddedDynamoDBProcess:
    """Start the serialised moto server in a child process; returns once it is listening."""
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "agent_sessions_local.embedded_dynamodb", "--port", str(port), "--until-stdin-closes"],
        stdin=subprocess.PIPE,
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


def _follow_stdin(journal: Journal) -> None:
    """Commands from the runtime, one JSON line each (`{"journal": table, "path": file}`, answered
    `journaling`); it stops this server by closing its stdin (a killed runtime closes it too)."""
    for line in sys.stdin:
        try:
            command = json.loads(line)
            journal.start(moto_table(command["journal"]), Path(command["path"]), command.get("rewrite_after"))
            print("journaling", flush=True)
        except Exception as failure:  # the runtime reports it and stops
            print(f"journal failed: {type(failure).__name__}: {failure}", flush=True)
    with journal.lock:  # not in the middle of journaling a write
        os._exit(0)


def main() -> None:
    """`python -m agent_sessions_local.embedded_dynamodb --port N`: serve until terminated.

    With --until-stdin-closes (how the local runtime starts it) signals are ignored: a Ctrl-C or a
    SIGTERM sent to the runtime's whole process group must not end the server before the runtime's
    workers have stopped using it, so the runtime ends it by closing its stdin, last.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--until-stdin-closes", action="store_true")
    arguments = parser.parse_args()
    embedded = start_embedded_dynamodb(arguments.port)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    if arguments.until_stdin_closes:
        threading.Thread(target=_follow_stdin, args=(embedded.journal,), daemon=True).start()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the runtime stops this
    print(f"listening {embedded.server.server_port}", flush=True)
    embedded.thread.join()


if __name__ == "__main__":
    main()
