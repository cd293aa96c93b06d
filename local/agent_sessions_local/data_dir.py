"""`agent-sessions local --data-dir DIR`: the embedded DynamoDB's table kept across restarts.

The embedded moto lives in memory, so the table is written to `DIR/table.jsonl` (one item per line,
in DynamoDB's JSON) every few seconds and when the runtime stops, and read back when it starts.
Restored items are not announced again: the stream pump starts after them. Webhook signing secrets
are sealed with a key kept in `DIR/webhook-secret.key` (AES-GCM, readable only by you) instead of
the embedded KMS, whose keys do not survive a restart. Written atomically (a temporary file, then
a rename), so a runtime killed mid-write leaves the previous snapshot.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any

TABLE_FILE = "table.jsonl"
SEALING_KEY_FILE = "webhook-secret.key"
SNAPSHOT_SECONDS = 5.0


def prepare(data_dir: Path) -> str:
    """Create the directory (mode 700) and its sealing key if new; the key id the functions use."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = data_dir / SEALING_KEY_FILE
    if not key_file.exists():
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as written:
            written.write(secrets.token_bytes(32))
    return f"file:{key_file.resolve()}"


def restore(client: Any, table_name: str, data_dir: Path) -> int:
    """Put every item of the last snapshot back into the (new, empty) table; how many."""
    snapshot = data_dir / TABLE_FILE
    if not snapshot.exists():
        return 0
    items = [_from_json(json.loads(line)) for line in snapshot.read_text().splitlines() if line.strip()]
    for start in range(0, len(items), 25):
        requests = {table_name: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while requests:
            requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
    return len(items)


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
    temporary = data_dir / f".{TABLE_FILE}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes and sealed secrets
    with os.fdopen(descriptor, "w") as written:
        written.write("".join(json.dumps(_to_json(item), sort_keys=True) + "\n" for item in items))
    temporary.replace(data_dir / TABLE_FILE)
    return len(items)


def _to_json(value: Any) -> Any:
    """DynamoDB's attribute values with binary ones (`B`, `BS`) as base64 text."""
    if isinstance(value, bytes):
        return {"$base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    return value


def _from_json(value: Any) -> Any:
    """The inverse of _to_json."""
    if isinstance(value, dict):
        if set(value) == {"$base64"}:
            return base64.b64decode(value["$base64"])
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
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
