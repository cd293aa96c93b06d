"""`agent-sessions local --data-dir DIR`: the table kept across restarts, every answered write included.

The embedded moto lives in memory; it keeps the table in `DIR/table.jsonl` (one item image per
line, in DynamoDB's JSON), appending every write before answering it (see `journal`), and the
file is read back when the runtime starts. Restored items are not announced again: the stream pump
starts after them. Webhook signing secrets are sealed with a key kept in `DIR/webhook-secret.key`
(AES-GCM, readable only by you) instead of the embedded KMS, whose keys do not survive a restart.
With `--dynamodb-endpoint` (a DynamoDB of your own) the table is instead written whole every few
seconds and at exit, atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TABLE_FILE = "table.jsonl"
SEALING_KEY_FILE = "webhook-secret.key"
LOCK_FILE = ".lock"
SNAPSHOT_SECONDS = 5.0


class DataDirUnusable(SystemExit):
    """The data directory cannot be used as it is: said in one line, and the runtime does not start."""


_held: list[Any] = []  # the open lock files, held for as long as this process runs


def prepare(data_dir: Path) -> str:
    """Create the directory (mode 700) and its sealing key if new, and hold it; the key id the functions use.

    Two runtimes on one directory would each write the table's file over the other's: a second one
    is refused while the first holds the directory's lock (released when its process ends, however).
    """
    import fcntl

    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirUnusable(f"--data-dir {data_dir}: is not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = (data_dir / LOCK_FILE).open("a")
    except OSError as failure:
        raise DataDirUnusable(f"--data-dir {data_dir}: {failure.strerror or failure}") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise DataDirUnusable(
            f"--data-dir {data_dir} is in use by another agent-sessions local: stop it, or pass another directory"
        ) from None
    _held.append(lock)
    key_file = data_dir / SEALING_KEY_FILE
    if not key_file.exists():
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as written:
            written.write(secrets.token_bytes(32))
    return f"file:{key_file.resolve()}"


def restore(client: Any, table_name: str, data_dir: Path, hash_key: str = "pk") -> int:
    """Put the kept items back into the (new, empty) table; how many.

    The file's lines are item images and `{"$deleted": key}` lines, in the order they were
    written: the last one for a key wins. A last line cut short (the runtime killed while
    writing it, before that write was answered) is left out.
    """
    items = [from_file_json(item) for item in kept_items(data_dir / TABLE_FILE, hash_key)]
    for start in range(0, len(items), 25):
        requests = {table_name: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
    return len(items)


def kept_items(path: Path, hash_key: str = "pk") -> list[dict[str, Any]]:
    """The items a table file holds: its lines replayed in order (see `restore`).

    A line that is not an item image or a deletion mark, other than a last one cut short, means the
    file was damaged (edited, or written by something else): DataDirUnusable says which line.
    """
    if not path.exists():
        return []
    lines = path.read_text().split("\n")  # not splitlines(): it also breaks at \x0b, \x1c, \u2028…
    items: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            image = json.loads(line)
            deleted = image.get("$deleted")
            key = json.dumps((deleted or image)[hash_key], sort_keys=True)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # cut short while written: never answered
            raise _damaged(path, number) from None
        except (AttributeError, KeyError, TypeError):
            raise _damaged(path, number) from None
        if deleted is not None:
            items.pop(key, None)
        else:
            items[key] = image
    return list(items.values())


def _damaged(path: Path, number: int) -> DataDirUnusable:
    return DataDirUnusable(
        f"{path}: line {number} is not an item: the file is damaged (move it away to start with an empty table)"
    )


def snapshot(client: Any, table_name: str, data_dir: Path) -> int:
    """Write every item of the table to the snapshot, atomically; how many."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    replace_table_file(data_dir / TABLE_FILE, (to_file_json(item) for item in items))
    return len(items)


def replace_table_file(path: Path, items: Iterable[dict[str, Any]]) -> None:
    """`path` holding exactly `items`, one per line: written aside (mode 600: it holds hashes and sealed
    secrets), synced, then renamed over the old file, so the file is always a whole old or new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as written:
        for item in items:
            written.write(json.dumps(item, sort_keys=True) + "\n")
        written.flush()
        os.fsync(written.fileno())
    temporary.replace(path)


def to_file_json(value: Any) -> Any:
    """DynamoDB's attribute values with binary ones (`B`, `BS`) as base64 text."""
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {key: to_file_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_file_json(item) for item in value]
    return value


def from_file_json(value: Any) -> Any:
    """The inverse of to_file_json."""
    if isinstance(value, dict):
        if set(value) == {"$base64"}:
            return base64.b64decode(value["$base64"])
        return {key: from_file_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_file_json(item) for item in value]
    return value


class Snapshots:
    """Writes the snapshot every SNAPSHOT_SECONDS in the background, and once more when stopped."""

    def __init__(self, client: Any, table_name: str, data_dir: Path) -> None:
        self._client, self._table, self._dir = client, table_name, data_dir
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(SNAPSHOT_SECONDS):
            try:
                snapshot(self._client, self._table, self._dir)
            except Exception:  # the next one tries again; the last one is taken at exit
                logging.getLogger("agent_sessions_local").exception("a snapshot of the table failed")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
        snapshot(self._client, self._table, self._dir)
