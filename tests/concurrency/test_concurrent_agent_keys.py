"""An agent key's hourly limit under a burst, through the handlers, on a serialised moto server.

One request at a time on the server, so a request served past the limit would be ours (a
read-then-write), not the emulator's.
"""

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.agent_keys import hour_index
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import agent_keys
from agent_sessions.wire.models import CreateAgentKeyRequest
from tests.concurrency.test_concurrent_payments import burst, pool
from tests.conftest import EVENTS_ACCOUNT_ID, TABLE_NAME, load_event

pytestmark = pytest.mark.concurrency

ROUNDS = int(os.environ.get("AGENT_KEY_ROUNDS", "2"))
LIMIT, REQUESTS = 100, 150


def authorized_list_event(full_key: str) -> dict[str, Any]:
    """GET /api/v1/ai/sessions as API Gateway passes it on after the real authorizer ran (and cached)."""
    event = load_event("list_sessions")
    event["headers"]["authorization"] = f"Bearer {full_key}"
    answer = pool("AuthorizerFunction").invoke({**event, "type": "REQUEST"})
    assert answer["context"]["credential"] == "api_key"
    assert "key_id" in answer["context"]
    event["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    return event


def test_a_hundred_an_hour_serves_exactly_a_hundred_of_a_hundred_and_fifty(fresh_table: Callable[[], Any]) -> None:
    rounds = 0
    while rounds < ROUNDS:
        client = fresh_table()
        request = CreateAgentKeyRequest.model_validate(
            {"name": "burst", "agent_id": "bot", "scopes": ["read_only"], "rate_limit_per_hour": LIMIT}
        )
        owner = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)
        created = agent_keys.create_agent_key(default_store(), owner, request, utc_now())
        event = authorized_list_event(created.full_key)
        hour = hour_index(utc_now())
        statuses = burst(pool("ListSessionsFunction"), [json.loads(json.dumps(event)) for _ in range(REQUESTS)])
        if hour_index(utc_now()) != hour:
            continue  # the burst straddled the top of an hour: two hours' counts, so run the round again
        rounds += 1
        assert statuses.count(200) == LIMIT
        assert statuses.count(429) == REQUESTS - LIMIT
        item = client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"AGENTKEY#{created.key.id}"}})["Item"]
        assert int(item["rl_count"]["N"]) == LIMIT
