"""Agent keys in memory (mixed into MemoryStore): the AgentKeyStore the DynamoDB one is tested against."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from agent_sessions.dal.ports import MeteredRequest
from agent_sessions.domain.agent_keys import AgentKeyRecord


class MemoryAgentKeys:
    """AgentKeyStore in memory: keys, their listing order, and each key's count for its current hour."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._agent_keys: dict[str, AgentKeyRecord] = {}
        self._agent_key_order: dict[str, int] = {}
        self._agent_key_hours: dict[str, tuple[int, int]] = {}  # key id -> (hour, requests in it)
        self._agent_key_sequence = itertools.count(1)

    def insert_agent_key(self, key: AgentKeyRecord) -> AgentKeyRecord | None:
        with self._lock:
            if key.id in self._agent_keys:
                return self._agent_keys[key.id]
            self._agent_keys[key.id] = key
            self._agent_key_order[key.id] = next(self._agent_key_sequence)
            return None

    def get_agent_key(self, key_id: str) -> AgentKeyRecord | None:
        with self._lock:
            return self._agent_keys.get(key_id)

    def list_agent_keys(self, account_id: str) -> list[AgentKeyRecord]:
        with self._lock:
            mine = [key for key in self._agent_keys.values() if key.account_id == account_id]
            return sorted(mine, key=lambda key: -self._agent_key_order[key.id])

    def revoke_agent_key(self, key_id: str, account_id: str, now: datetime) -> AgentKeyRecord | None:
        with self._lock:
            key = self._agent_keys.get(key_id)
            if key is None or key.account_id != account_id:
                return None
            self._agent_keys[key_id] = key.revoked(now)
            return self._agent_keys[key_id]

    def meter_agent_key(self, key_id: str, hour: int) -> MeteredRequest | None:
        with self._lock:
            key = self._agent_keys.get(key_id)
            if key is None or not key.is_active:
                return None
            counted_hour, count = self._agent_key_hours.get(key_id, (hour, 0))
            if counted_hour > hour:  # as in DynamoDB: a clock behind counts in the later hour
                hour = counted_hour
            count = count if counted_hour == hour else 0
            if count >= key.rate_limit_per_hour:
                return MeteredRequest(count=count, limit=key.rate_limit_per_hour, over=True)
            self._agent_key_hours[key_id] = (hour, count + 1)
            return MeteredRequest(count=count + 1, limit=key.rate_limit_per_hour)
