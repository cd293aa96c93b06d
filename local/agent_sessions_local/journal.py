"""The embedded DynamoDB's journal: every acknowledged write to the table is on disk before its answer.

`agent-sessions local --data-dir DIR` keeps the table in `DIR/table.jsonl`, one line per item
image in DynamoDB's JSON. The embedded DynamoDB (one process, one request at a time) appends the
image of every item a write changed, or a `{"$deleted": key}` line for one it removed, and flushes
the file before it answers, so an answer the runtime got is never lost, even when every process
of the runtime is killed at once. The file is read back in order, the last line for a key winning
(`data_dir.restore`). When the appended lines outnumber the table's items twice over, the file is
rewritten as the table's current items: to a temporary file, synced, then renamed over the old
one, so the file on disk is always either the old one or the new one, whole.

Because requests are handled one at a time, the file always holds a state the table was in between
two requests: never a payment without its session's debit, or a debit without its payment.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from agent_sessions_local.data_dir import replace_table_file

COMPACT_AFTER_LINES = 5000  # at least this many lines appended, and twice the table's items, before a rewrite

_log = logging.getLogger("agent_sessions_local.journal")


def written_keys(operation: str, request: dict[str, Any], table_name: str, hash_key: str) -> list[dict[str, Any]]:
    """The keys (`{hash_key: value}`) of the items of `table_name` that a successful write request changed."""
    keys: list[dict[str, Any]] = []
    for name, item in _NAMED_ITEMS[operation](request, table_name):
        if name == table_name and item and hash_key in item and {hash_key: item[hash_key]} not in keys:
            keys.append({hash_key: item[hash_key]})
    return keys


Named = list[tuple[Any, Any]]  # (table name, an item or a key) for each item a request names


def _one_item(request: dict[str, Any], _: str) -> Named:
    return [(request.get("TableName"), request.get("Item") or request.get("Key"))]


def _transaction_items(request: dict[str, Any], _: str) -> Named:
    writes = [(kind, body) for item in request.get("TransactItems") or [] for kind, body in item.items()]
    return [
        (body.get("TableName"), body.get("Item") or body.get("Key"))
        for kind, body in writes
        if kind != "ConditionCheck"
    ]


def _batch_items(request: dict[str, Any], table_name: str) -> Named:
    writes = (request.get("RequestItems") or {}).get(table_name) or []
    named = [write.get("PutRequest", {}).get("Item") or write.get("DeleteRequest", {}).get("Key") for write in writes]
    return [(table_name, item) for item in named]


_NAMED_ITEMS: dict[str, Callable[[dict[str, Any], str], Named]] = {
    "PutItem": _one_item,
    "UpdateItem": _one_item,
    "DeleteItem": _one_item,
    "TransactWriteItems": _transaction_items,
    "BatchWriteItem": _batch_items,
}
# PartiQL may write too (this service never uses it): after one, the file is rewritten whole.
STATEMENTS = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
WRITES = frozenset(_NAMED_ITEMS) | STATEMENTS


def file_form(item: dict[str, Any]) -> dict[str, Any]:
    """An item (or a key) in DynamoDB's JSON as the file keeps it: binary values as `{"$base64": …}`."""
    return {name: _value_form(value) for name, value in item.items()}


def _value_form(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value, `{type: value}`, as the file keeps it (a map's members are named values)."""
    (kind, content), *_ = value.items()
    if kind == "B":
        return {"B": {"$base64": _base64_text(content)}}
    if kind == "BS":
        return {"BS": [{"$base64": _base64_text(member)} for member in content]}
    if kind == "M":
        return {"M": file_form(content)}
    if kind == "L":
        return {"L": [_value_form(member) for member in content]}
    return value


def _base64_text(value: Any) -> str:
    """DynamoDB's wire form of binary is base64 text; moto may hold the bytes themselves."""
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else str(value)


class Journal:
    """The table's file, appended to after each write; inactive until `start`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # held for each write request and for a rewrite
        self._table: Any = None
        self._path: Path | None = None
        self._file: IO[str] | None = None
        self._appended = 0
        self._rewrite_after = COMPACT_AFTER_LINES

    @property
    def active(self) -> bool:
        """Whether writes are being journaled (after `start`)."""
        return self._file is not None

    def start(self, table: Any, path: Path, rewrite_after: int | None = None) -> None:
        """Journal `table` (a moto table) to `path`: first rewritten as the table is now (what was restored).

        `rewrite_after`: the fewest lines appended before the file is rewritten (COMPACT_AFTER_LINES).
        """
        with self.lock:
            self._table, self._path = table, path
            self._rewrite_after = rewrite_after or COMPACT_AFTER_LINES
            self._rewrite()

    def record(self, operation: str, request: dict[str, Any]) -> None:
        """Append the current image of each item the write changed, then flush (before the write is answered)."""
        if self._file is None:
            return
        if operation in STATEMENTS:
            self._rewrite()
            return
        keys = written_keys(operation, request, self._table.name, self._table.hash_key_attr)
        if not keys:
            return
        self._file.write("".join(json.dumps(self._line(key), sort_keys=True) + "\n" for key in keys))
        self._file.flush()
        self._appended += len(keys)
        if self._appended > max(self._rewrite_after, 2 * len(self._table.items)):
            self._rewrite()

    def _line(self, key: dict[str, Any]) -> dict[str, Any]:
        from moto.dynamodb.models.dynamo_type import DynamoType

        item = self._table.items.get(DynamoType(next(iter(key.values()))))
        return {"$deleted": file_form(key)} if item is None else _item_image(item)

    def _rewrite(self) -> None:
        """The file as the table is now: written aside, synced, renamed over the old one; then appended to."""
        assert self._path is not None
        if self._file is not None:
            self._file.close()
        replace_table_file(self._path, (_item_image(item) for item in list(self._table.items.values())))
        self._file = self._path.open("a")
        self._appended = 0


def _item_image(item: Any) -> dict[str, Any]:
    """A moto item in the file's form (through moto's own JSON encoder, as the item would be answered)."""
    from moto.dynamodb.models.utilities import dynamo_json_dump

    attributes: dict[str, Any] = json.loads(dynamo_json_dump(item.to_json()))["Attributes"]
    return file_form(attributes)


class JournaledApplication:
    """moto's WSGI application, with each successful DynamoDB write journaled before it is answered."""

    def __init__(self, application: Callable[..., Iterable[bytes]], journal: Journal) -> None:
        self._application = application
        self.journal = journal

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        operation = target.rpartition(".")[2] if target.startswith("DynamoDB_") else ""
        if operation not in WRITES or not self.journal.active:
            return self._application(environ, start_response)
        from werkzeug.wsgi import get_input_stream

        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        statuses: list[str] = []

        def remember_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        with self.journal.lock:
            answer = _read_whole(self._application(environ, remember_status))  # the write is done by now
            if statuses and statuses[-1].startswith("200"):
                try:
                    self.journal.record(operation, json.loads(body))
                except Exception:  # the write stands; say so loudly rather than answer it as failed
                    _log.exception("a write could not be journaled: --data-dir may miss it after a restart")
        return answer


def _read_whole(result: Iterable[bytes]) -> list[bytes]:
    """A WSGI answer read to its end and closed, as a server would (WSGI asks `close` to be called)."""
    try:
        return list(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
