"""Two expiry sweeps at once against a serialised moto server: each session expires exactly once."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest

from agent_sessions.dal.dynamo import DynamoStore
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import expiry, outbox
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreateSessionRequest
from tests.conftest import TABLE_NAME, load_handler_module
from tests.support.streams import as_lambda_event, stream_records

pytestmark = pytest.mark.concurrency

OWNER = Caller(kind="api_key", account_id="acct_racingsweeps000000000000")


def test_two_sweeps_racing_expire_each_session_once(serialised_dynamodb: Any) -> None:
    setup = DynamoStore(serialised_dynamodb, TABLE_NAME)
    now = utc_now()
    request = CreateSessionRequest.model_validate({"agent_id": "a", "user_wallet": "w", "duration_hours": 1})
    due = {service.create_session(setup, OWNER, request, now - timedelta(hours=2)).session.id for _ in range(100)}
    for _ in range(20):
        service.create_session(setup, OWNER, request, now)

    def one_sweep(_: int) -> expiry.SweepResult:
        client = boto3.client("dynamodb", endpoint_url=serialised_dynamodb.meta.endpoint_url)
        return expiry.sweep(DynamoStore(client, TABLE_NAME), now)

    with ThreadPoolExecutor(max_workers=2) as executor:
        results = list(executor.map(one_sweep, range(2)))
    assert sum(result.sessions_expired for result in results) == 100

    transitions = [
        record["dynamodb"]["Keys"]["pk"]["S"].removeprefix("SESS#")
        for record in stream_records(serialised_dynamodb, TABLE_NAME)
        if record["eventName"] == "MODIFY"
        and record["dynamodb"]["OldImage"]["status"]["S"] == "active"
        and record["dynamodb"]["NewImage"]["status"]["S"] == "expired"
    ]
    assert sorted(transitions) == sorted(due)  # one change per session

    handler = load_handler_module("publish_events")
    records = as_lambda_event(stream_records(serialised_dynamodb, TABLE_NAME), TABLE_NAME)["Records"]
    announced = [
        event.data["id"]
        for record in records
        for event in outbox.events_for(handler.change_of(record), setup.get_payment)
        if event.name == "agent.session.expired"
    ]
    assert sorted(announced) == sorted(due)  # so one agent.session.expired per session
