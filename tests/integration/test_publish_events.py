"""publish_events: the stream's changes as the contract's events, on the bus, none lost."""

import json
import random
from typing import Any

from agent_sessions.dal import dynamo
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import outbox
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from agent_sessions.logic.outbox import OutboundEvent
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest
from tests.conftest import TABLE_NAME, Invoke, load_event, load_handler_module
from tests.support.streams import as_lambda_event, stream_records

OWNER = Caller(kind="api_key", account_id="acct_eventsexampleaccount0000")


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            envelope = json.loads(message["Body"])
            bodies.append({"detail-type": envelope["detail-type"], **envelope["detail"]})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def a_session_story(session_store: dynamo.DynamoStore) -> str:
    """Create, pay (authorized), pay (pending, using up the day), revoke; the session id."""
    request = CreateSessionRequest.model_validate(
        {
            "agent_id": "shopping-assistant-v1",
            "user_wallet": "Hx7B...abc",
            "limits": {"max_per_day": 200, "max_per_transaction": 150, "require_approval_above": 100},
        }
    )
    now = utc_now()  # the stream stamps changes with the real time, and holds lapse by it
    created = service.create_session(session_store, OWNER, request, now)
    agent = service.authenticate(session_store, f"Bearer {created.session_token}")
    assert agent is not None
    for amount, key in ((60, "order-1"), (140, "order-2")):
        body = CreatePaymentRequest.model_validate({"amount": amount, "merchant_id": "merchant_amazon"})
        payment_service.create_payment(session_store, agent, body, key, now)
    service.revoke_session(session_store, OWNER, created.session.id, now)
    return created.session.id


def test_the_events_file_publishes_the_contracts_events(invoke: Invoke, bus_queue: Any) -> None:
    answer = invoke("publish_events", load_event("publish_events"))
    assert answer == {"batchItemFailures": []}
    events = received(*bus_queue)
    assert [event["event"] for event in events] == [
        "agent.session.created",
        "agent.payment.authorized",
        "agent.payment.pending_approval",
        "agent.session.limit_reached",  # that debit used the day up (the hold counts): said after it
        "agent.session.revoked",
    ]
    assert all(event["detail-type"] == event["event"] for event in events)
    # Each change's own time, to the nanosecond, from the item (a redelivery carries the same).
    assert [event["timestamp"] for event in events] == [
        "2026-11-24T10:00:00.001234567Z",
        "2026-11-24T10:00:00.002469134Z",
        "2026-11-24T10:00:00.004938268Z",
        "2026-11-24T10:00:00.004938268Z",
        "2026-11-24T10:00:00.007407402Z",
    ]
    assert {event["merchant_id"] for event in events} == {OWNER.account_id}
    assert all(event["id"].startswith("evt_") for event in events)
    limit = next(event for event in events if event["event"] == "agent.session.limit_reached")
    assert limit["data"]["limit_reached"]["window"] == "day"
    assert limit["data"]["limit_reached"]["resets_at"] == "2026-11-25T10:00:00Z"


def test_a_real_story_carries_full_data_and_never_a_secret(
    invoke: Invoke, dynamodb: Any, session_store: Any, bus_queue: Any
) -> None:
    session_id = a_session_story(session_store)
    batch = as_lambda_event(stream_records(dynamodb, TABLE_NAME), TABLE_NAME)
    assert invoke("publish_events", batch) == {"batchItemFailures": []}
    events = received(*bus_queue)
    payment = next(event for event in events if event["event"] == "agent.payment.authorized")
    assert payment["data"]["amount"] == 60
    assert payment["data"]["session_id"] == session_id
    revoked = next(event for event in events if event["event"] == "agent.session.revoked")
    assert revoked["data"]["status"] == "revoked"
    # The hold the revoke ended is announced by the same batch, not an hour later at its deadline.
    pending = next(event for event in events if event["event"] == "agent.payment.pending_approval")
    expired = next(event for event in events if event["event"] == "agent.payment.expired")
    assert expired["data"]["id"] == pending["data"]["id"]
    assert expired["data"]["status"] == "expired"
    text = json.dumps(events)
    assert "zai_session_" not in text
    assert "token" not in text


class FlakyBus:
    """Accepts events until its budget runs out, then fails (or dies); remembers what it accepted."""

    def __init__(self, budget: int, dies: bool) -> None:
        self.budget = budget
        self.dies = dies
        self.accepted: list[OutboundEvent] = []

    def publish(self, events: list[OutboundEvent]) -> int:
        for count, event in enumerate(events):
            if self.budget == 0:
                if self.dies:
                    raise RuntimeError("killed")
                return count
            self.budget -= 1
            self.accepted.append(event)
        return len(events)


def test_killed_at_a_hundred_random_points_the_retries_deliver_every_event_unchanged(
    dynamodb: Any, session_store: Any
) -> None:
    for _ in range(3):
        a_session_story(session_store)
    records = as_lambda_event(stream_records(dynamodb, TABLE_NAME), TABLE_NAME)["Records"]
    handler = load_handler_module("publish_events")
    changes = [handler.change_of(record) for record in records]
    whole = FlakyBus(budget=10_000, dies=False)
    assert outbox.publish_changes(changes, whole, session_store.get_payment) == len(changes)
    # Each event as a receiver sees it: a redelivery keeps its id, its timestamp and its data.
    expected = [json.dumps(event.body(), sort_keys=True, default=str) for event in whole.accepted]
    # created, authorized, limit_reached, pending_approval, revoked, and the hold the revoke ended (expired)
    assert len(expected) == len(set(expected)) == len({event.id for event in whole.accepted}) == 18

    chooser = random.Random(2026)
    for _ in range(100):
        delivered: list[str] = []
        start = 0
        dies = chooser.random() < 0.5  # killed (the whole batch again) or a partial failure report
        budget = chooser.randrange(0, len(expected))
        while start < len(changes):
            bus = FlakyBus(budget, dies)
            try:
                done = start + outbox.publish_changes(changes[start:], bus, session_store.get_payment)
            except RuntimeError:
                done = start if not dies else 0  # Lambda retries a failed invocation's whole batch
                start = done
            else:
                start = done
            delivered.extend(json.dumps(event.body(), sort_keys=True, default=str) for event in bus.accepted)
            budget = len(expected)  # the retry succeeds
        assert set(delivered) == set(expected)  # none lost, none changed
        assert [event for event in expected if event in delivered] == expected


def test_a_partial_failure_reports_the_first_change_not_published(dynamodb: Any, session_store: Any) -> None:
    a_session_story(session_store)
    batch = as_lambda_event(stream_records(dynamodb, TABLE_NAME), TABLE_NAME)
    handler = load_handler_module("publish_events")
    bus = FlakyBus(budget=2, dies=False)
    original = handler.default_bus
    handler.default_bus = lambda: bus
    try:
        from agent_sessions_local.instances import LocalLambdaContext

        answer = handler.lambda_handler(batch, LocalLambdaContext(function_name="publish_events"))
    finally:
        handler.default_bus = original
    # created and authorized went out; the change behind the third event is where Lambda retries from:
    # INSERT session, MODIFY session (debit), INSERT payment (authorized), MODIFY session (the day used up)
    third_change = 3
    assert len(bus.accepted) == 2
    sequence = answer["batchItemFailures"][0]["itemIdentifier"]
    assert sequence == batch["Records"][third_change]["dynamodb"]["SequenceNumber"]


def test_the_template_bounds_retries_and_sends_poison_records_to_a_destination() -> None:
    from agent_sessions_local.template import load_template

    stream = load_template()["Resources"]["PublishEventsFunction"]["Properties"]["Events"]["TableStream"]
    properties = stream["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < properties["MaximumRetryAttempts"] <= 10
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
