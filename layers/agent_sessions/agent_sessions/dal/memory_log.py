"""The decision log in memory: the same appends as the DynamoDB transaction, under the store's lock."""

from __future__ import annotations

import threading
from typing import Any


class MemoryDecisionLog:
    """DecisionLogStore in memory (mixed into MemoryStore)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self._sources: set[tuple[str, str]] = set()
        self._anchors: dict[str, dict[str, Any]] = {}

    def log_head(self, session_id: str) -> tuple[int, str] | None:
        with self._lock:
            entries = self._entries.get(session_id, [])
            return (int(entries[-1]["seq"]), str(entries[-1]["hash"])) if entries else None

    def append_entry(self, session_id: str, source: str, entry: dict[str, Any], after_seq: int) -> str:
        with self._lock:
            if (session_id, source) in self._sources:
                return "duplicate"
            entries = self._entries.setdefault(session_id, [])
            if len(entries) != after_seq:
                return "moved"
            entries.append(dict(entry))
            self._sources.add((session_id, source))
            return "appended"

    def log_entries(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._entries.get(session_id, [])]

    def record_anchor(self, session_id: str, receipt: dict[str, Any]) -> None:
        with self._lock:
            kept = self._anchors.get(session_id)
            if kept is None or kept["statement"]["seq"] < receipt["statement"]["seq"]:
                self._anchors[session_id] = receipt

    def anchor_receipt(self, session_id: str) -> dict[str, Any] | None:
        with self._lock:
            receipt = self._anchors.get(session_id)
            return dict(receipt) if receipt else None
