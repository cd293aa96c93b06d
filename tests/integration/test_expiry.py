"""The expiry sweep against moto: it reads only what is due and changes each thing once."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from agent_sessions.dal import codec, dynamo
from agent_sessions.domain.credentials import hash_secret, new_session_id
from agent_sessions.domain.records import DEFAULT_LIMITS_CENTS, Caller, SessionRecord, utc_now
from agent_sessions.logic import expiry
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreateSessionRequest
from tests.conftest import TABLE_NAME, Invoke, load_event

OWNER = Caller(kind="api_key", account_id="acct_sweeptestaccount00000000")


@pytest.fixture
def dynamodb(moto_or_dynalite: Any) -> Any:
    """Every test here runs on moto and on dynalite (these paths use no transactions or streams)."""
    return moto_or_dynalite


def open_session(session_store: dynamo.DynamoStore, created_at: Any, hours: float = 1) -> Caller:
    request = CreateSessionRequest.model_validate(
        {"agent_id": "a", "user_wallet": "w", "duration_hours": hours, "limits": {"require_approval_above": 10}}
    )
    created = service.create_session(session_store, OWNER, request, created_at)
    caller = service.authenticate(session_store, f"Bearer {created.session_token}")
    assert caller is not None
    return caller


@pytest.fixture
def items_read(session_store: dynamo.DynamoStore) -> Iterator[list[int]]:
    """How many items the store's reads return (Query ScannedCount, one per GetItem hit)."""
    counts: list[int] = []

    def count(http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        if model.name == "Query":
            counts.append(int(parsed.get("ScannedCount", 0)))
        elif model.name == "GetItem" and "Item" in parsed:
            counts.append(1)

    client = session_store._client
    client.meta.events.register("after-call.dynamodb.*", count)
    yield counts
    client.meta.events.unregister("after-call.dynamodb.*", count)


def test_the_handler_expires_what_is_due_with_its_scheduled_event(invoke: Invoke, session_store: Any) -> None:
    due = open_session(session_store, utc_now() - timedelta(hours=2))
    live = open_session(session_store, utc_now())
    answer = invoke("expire_sessions", load_event("expire_sessions"))
    assert answer["sessions_expired"] == 1
    assert session_store.get_session(due.session_id).stored_status == "expired"
    assert session_store.get_session(live.session_id).stored_status == "active"
    assert invoke("expire_sessions", load_event("expire_sessions"))["sessions_expired"] == 0  # nothing left to do


def test_five_thousand_live_sessions_of_which_a_hundred_are_due(
    dynamodb: Any, session_store: dynamo.DynamoStore, items_read: list[int]
) -> None:
    now = utc_now()
    sessions = []
    for index in range(5_000):  # the bench sweeps 100 due among 1k, 10k and 100k
        created = now - timedelta(hours=2) if index % 50 == 0 else now
        sessions.append(
            SessionRecord(
                id=new_session_id(),
                account_id=OWNER.account_id,
                agent_id="a",
                agent_name=None,
                user_wallet="w",
                limits_cents=dict(DEFAULT_LIMITS_CENTS),
                allowed_merchants=None,
                stored_status="active",
                created_at=created,
                expires_at=created + timedelta(hours=1),
                token_hash=hash_secret(str(index)),
            )
        )
    for start in range(0, len(sessions), 25):
        batch = [{"PutRequest": {"Item": codec.session_item(s)}} for s in sessions[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={TABLE_NAME: batch})
    due_ids = {s.id for s in sessions if s.expires_at <= now}
    assert len(due_ids) == 100

    items_read.clear()
    result = expiry.sweep(session_store, now)
    assert (result.items_due, result.sessions_expired) == (100, 100)
    assert sum(items_read) <= 110, sum(items_read)
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=TABLE_NAME,
        FilterExpression="#status = :expired",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":expired": {"S": "expired"}},
        ProjectionExpression="pk",
    )
    assert {item["pk"]["S"].removeprefix("SESS#") for page in pages for item in page["Items"]} == due_ids
    assert expiry.sweep(session_store, now).items_due == 0  # expired sessions leave the due index


def test_revoke_takes_a_session_off_the_due_index(session_store: dynamo.DynamoStore) -> None:
    agent = open_session(session_store, utc_now() - timedelta(hours=2), hours=3)
    assert agent.session_id is not None
    service.revoke_session(session_store, OWNER, agent.session_id, utc_now())
    assert expiry.sweep(session_store, utc_now() + timedelta(hours=2)).items_due == 0


def test_the_scheduled_event_file_is_an_eventbridge_scheduled_event() -> None:
    event = load_event("expire_sessions")
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    assert json.dumps(event)
