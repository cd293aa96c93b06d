"""The EventBridge adapter of the outbox: events onto the deployment's custom bus."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agent_sessions.domain.jsonio import encode_json
from agent_sessions.logic.outbox import OutboundEvent

EVENT_SOURCE = "agent-sessions"
MAX_ENTRIES_PER_CALL = 10  # PutEvents' limit


class EventBridgeBus:
    """Publishes each event with its webhook body as the detail and its name as the detail-type."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: list[OutboundEvent]) -> int:
        """PutEvents in order, ten at a time; how many from the first were accepted."""
        accepted = 0
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            chunk = events[start : start + MAX_ENTRIES_PER_CALL]
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": event.name,
                        "Detail": encode_json(event.body()),
                        "EventBusName": self._bus_name,
                        "Resources": [],
                    }
                    for event in chunk
                ]
            )
            for entry in response.get("Entries", []):
                if entry.get("ErrorCode"):
                    return accepted
                accepted += 1
            if response.get("FailedEntryCount"):
                return accepted
        return accepted


@lru_cache(maxsize=1)
def default_bus() -> EventBridgeBus:
    """The bus named by EVENT_BUS_NAME, built on first use."""
    import boto3

    from agent_sessions.infra.settings import load_settings

    return EventBridgeBus(boto3.client("events"), load_settings().required("event_bus_name"))
