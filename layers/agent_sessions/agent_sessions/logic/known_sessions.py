"""The sessions an instance last saw, each at the exact version it saw it (per process)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from agent_sessions.domain.records import SessionRecord


class KnownSessions:
    """The sessions this instance last saw, each at the exact version it saw it.

    A payment pinned to a known version (`version = :v` in its condition) knows the session after
    its write without reading it: one request for the whole payment (a change of terms keeps its
    own, `session_updates.known_terms`, and pins `terms_rev` the same way). When a pinned write finds
    another version (someone else paid meanwhile), the session is left unpinned for a while, so a
    burst on one session costs one wasted attempt per instance, not one per payment. Correctness
    never depends on this: the condition expressions decide, pinned or not.
    """

    def __init__(self, capacity: int = 1000, contended_for_seconds: float = 10.0) -> None:
        self._sessions: OrderedDict[str, SessionRecord] = OrderedDict()
        self._contended_until: dict[str, float] = {}
        self._capacity = capacity
        self._contended_for = contended_for_seconds
        self._lock = threading.Lock()  # the local runtime shares one process between instances

    def pinnable(self, session_id: str) -> SessionRecord | None:
        """The known session to pin a write to, unless it was recently contended."""
        with self._lock:
            if self._contended_until.get(session_id, 0.0) > time.monotonic():
                return None
            return self._sessions.get(session_id)

    def remember(self, session: SessionRecord) -> None:
        """Keep `session` as the latest version seen (the least recently seen is dropped)."""
        with self._lock:
            known = self._sessions.get(session.id)
            if known is not None and known.version > session.version:
                return  # never go back to an older version
            self._sessions[session.id] = session
            self._sessions.move_to_end(session.id)
            while len(self._sessions) > self._capacity:
                dropped, _ = self._sessions.popitem(last=False)
                self._contended_until.pop(dropped, None)

    def contended(self, session_id: str) -> None:
        """A pinned write met another version: stop pinning this session for a while."""
        with self._lock:
            self._contended_until[session_id] = time.monotonic() + self._contended_for
