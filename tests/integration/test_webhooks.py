"""Webhook endpoints and signed delivery, against moto (DynamoDB, KMS, SQS) and a real local receiver."""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from agent_sessions.infra import settings
from tests.conftest import TABLE_NAME, Invoke, load_event, load_handler_module, with_body, with_caller
from tests.integration.test_publish_events import a_session_story
from tests.support.receiver import Receiver
from tests.support.streams import as_lambda_event, stream_records

OTHER_ACCOUNT = {"credential": "api_key", "account_id": "acct_someoneelse000000000000"}


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "true")
    settings.load_settings.cache_clear()
    running = Receiver()
    yield running
    running.stop()


def subscribe(invoke: Invoke, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, **({"events": events} if events else {})}
    response = invoke("create_webhook", with_body(load_event("create_webhook"), json.dumps(body)))
    assert response["statusCode"] == 201, response["body"]
    return dict(response["json"])


def test_the_events_files_create_list_and_delete_an_endpoint(invoke: Invoke, kms_key: str, dynamodb: Any) -> None:
    created = invoke("create_webhook", load_event("create_webhook"))
    assert created["statusCode"] == 201, created["body"]
    webhook = created["json"]
    assert webhook["id"].startswith("wh_")
    assert webhook["events"] == ["agent.session.created", "agent.session.revoked", "agent.session.limit_reached"]
    secret = webhook["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32

    listed = invoke("list_webhooks", load_event("list_webhooks"))
    assert listed["statusCode"] == 200
    assert [w["id"] for w in listed["json"]["webhooks"]] == [webhook["id"]]
    assert "secret" not in listed["json"]["webhooks"][0]
    stored = json.dumps(dynamodb.scan(TableName=TABLE_NAME)["Items"], default=str)
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored

    event = load_event("delete_webhook")
    event = json.loads(json.dumps(event).replace(event["pathParameters"]["id"], webhook["id"]))
    assert invoke("delete_webhook", with_caller(event, OTHER_ACCOUNT))["statusCode"] == 404
    assert invoke("delete_webhook", event)["json"] == {"success": True, "id": webhook["id"]}
    assert invoke("list_webhooks", load_event("list_webhooks"))["json"]["webhooks"] == []
    assert invoke("delete_webhook", event)["statusCode"] == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",  # not https
        "https://10.0.0.5/hooks",  # private
        "https://127.0.0.1/hooks",  # loopback, outside the local runtime
        "https://169.254.169.254/latest/meta-data",  # link-local (instance metadata)
        "https://user:pw@93.184.215.14/hooks",
        "https://no-such-host.invalid/hooks",
        "not a url",
    ],
)
def test_a_deployment_refuses_urls_that_are_not_public_https(invoke: Invoke, kms_key: str, url: str) -> None:
    response = invoke("create_webhook", with_body(load_event("create_webhook"), json.dumps({"url": url})))
    assert response["statusCode"] == 422
    assert "url" in response["json"]["error"]["details"]["fields"]


def deliver(invoke: Invoke, bus_events: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """Invoke deliver_webhooks with an SQS batch carrying these EventBridge events."""
    template = load_event("deliver_webhooks")["Records"][0]
    records = []
    for number, bus_event in enumerate(bus_events):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"message-{number}"
        record["body"] = json.dumps(bus_event)
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    return invoke("deliver_webhooks", {"Records": records})


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery handler's retries become visible again at once (the backoff is unit-tested)."""
    handler = load_handler_module("deliver_webhooks")
    monkeypatch.setattr(handler, "_retry_later", lambda record: None)


def bus_events_of_a_story(invoke: Invoke, dynamodb: Any, session_store: Any) -> list[dict[str, Any]]:
    """Run a session's story, publish its stream, and return what the bus would pass on."""
    a_session_story(session_store)
    handler = load_handler_module("publish_events")
    changes = [
        handler.change_of(r) for r in as_lambda_event(stream_records(dynamodb, TABLE_NAME), TABLE_NAME)["Records"]
    ]
    from agent_sessions.logic import outbox

    collected: list[outbox.OutboundEvent] = []

    class Collecting:
        def publish(self, events: list[outbox.OutboundEvent]) -> int:
            collected.extend(events)
            return len(events)

    outbox.publish_changes(changes, Collecting(), session_store.get_payment)
    from agent_sessions.domain.jsonio import encode_json

    return [
        {"detail-type": event.name, "source": "agent-sessions", "detail": json.loads(encode_json(event.body()))}
        for event in collected
    ]


def test_a_receiver_gets_created_limit_reached_and_revoked_signed_both_ways(
    invoke: Invoke, kms_key: str, receiver: Receiver, dynamodb: Any, session_store: Any, no_backoff: None
) -> None:
    webhook = subscribe(
        invoke, receiver.url, ["agent.session.created", "agent.session.limit_reached", "agent.session.revoked"]
    )
    bus_events = bus_events_of_a_story(invoke, dynamodb, session_store)
    assert deliver(invoke, bus_events) == {"batchItemFailures": []}
    assert receiver.events() == ["agent.session.created", "agent.session.limit_reached", "agent.session.revoked"]
    verifier = Webhook(webhook["secret"])
    for headers, body in receiver.requests:
        assert verifier.verify(body, headers)["id"] == headers["webhook-id"] == headers["x-zendfi-event-id"]
        expected = hmac.new(webhook["secret"].encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-zendfi-signature"], expected)
        assert headers["x-zendfi-timestamp"] == headers["webhook-timestamp"]
        data = json.loads(body)["data"]
        assert "session_token" not in data
        assert "zai_session_" not in body.decode()
        assert "token_hash" not in body.decode()


def test_a_receiver_failing_three_times_then_answering_gets_the_same_event_id_each_time(
    invoke: Invoke, kms_key: str, receiver: Receiver, no_backoff: None
) -> None:
    subscribe(invoke, receiver.url)
    receiver.planned = [500, 503, 502]
    bus_event = load_event("bus_event")
    bus_event["detail"]["merchant_id"] = "acct_eventsexampleaccount0000"
    for attempt in range(1, 4):
        assert deliver(invoke, [bus_event], attempt)["batchItemFailures"] == [{"itemIdentifier": "message-0"}]
    assert deliver(invoke, [bus_event], 4) == {"batchItemFailures": []}
    ids = [json.loads(body)["id"] for _, body in receiver.requests]
    assert ids == [bus_event["detail"]["id"]] * 4
    assert deliver(invoke, [bus_event], 5) == {"batchItemFailures": []}  # delivered already: not sent again
    assert len(receiver.requests) == 4


def test_an_endpoint_answering_410_is_disabled(invoke: Invoke, kms_key: str, receiver: Receiver) -> None:
    subscribe(invoke, receiver.url)
    receiver.planned = [410]
    bus_event = load_event("bus_event")
    assert deliver(invoke, [bus_event]) == {"batchItemFailures": []}
    listed = invoke("list_webhooks", load_event("list_webhooks"))["json"]["webhooks"]
    assert listed[0]["disabled_at"] is not None
    other = json.loads(json.dumps(bus_event).replace("evt_exampleexampleexample234", "evt_anotheranotheranother234"))
    deliver(invoke, [other])
    assert len(receiver.requests) == 1


def test_a_receiver_that_always_fails_ends_in_the_dead_letter_queue(
    invoke: Invoke, kms_key: str, receiver: Receiver, no_backoff: None
) -> None:
    subscribe(invoke, receiver.url)
    receiver.planned = [500] * 100
    sqs = boto3.client("sqs")
    dead = sqs.create_queue(QueueName="deliveries-dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="deliveries",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    bus_event = load_event("bus_event")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(bus_event))
    for _ in range(6):
        messages = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"]).get("Messages", [])
        for message in messages:
            answer = deliver(
                invoke, [json.loads(message["Body"])], int(message["Attributes"]["ApproximateReceiveCount"])
            )
            assert answer["batchItemFailures"]  # not deleted: it comes back, until the redrive moves it
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    dead_letters = sqs.receive_message(QueueUrl=dead).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["id"] for m in dead_letters] == [bus_event["detail"]["id"]]
    assert len(receiver.requests) == 3


def test_backoff_doubles_from_thirty_seconds_to_twelve_hours_and_retries_span_three_days() -> None:
    handler = load_handler_module("deliver_webhooks")
    from agent_sessions_local.template import load_template

    queue = load_template()["Resources"]["DeliveryQueue"]["Properties"]
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    delays = [handler.backoff_seconds(count) for count in range(1, receives)]  # the waits between receives
    assert delays[:3] == [30, 60, 120]
    assert max(delays) == 12 * 3600
    assert 3 * 86400 <= sum(delays) <= 4 * 86400


def test_the_sqs_batch_file_delivers_its_event(invoke: Invoke, kms_key: str, receiver: Receiver) -> None:
    subscribe(invoke, receiver.url)  # for the events files' account
    assert invoke("deliver_webhooks", load_event("deliver_webhooks")) == {"batchItemFailures": []}
    assert receiver.events() == ["agent.session.created"]
    assert json.loads(receiver.requests[0][1])["id"] == "evt_exampleexampleexample234"


def test_a_failed_delivery_waits_out_its_backoff_before_it_comes_back(dynamodb: Any) -> None:
    handler = load_handler_module("deliver_webhooks")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="backoff-check", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    handler._queue.cache_clear()
    handler._retry_later(
        {"eventSourceARN": arn, "receiptHandle": message["ReceiptHandle"], "attributes": message["Attributes"]}
    )
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []  # hidden for 30 s, not at once


def test_an_idempotency_key_replays_the_first_endpoint_with_its_secret(invoke: Invoke, kms_key: str) -> None:
    event = load_event("create_webhook")
    event["headers"]["idempotency-key"] = "zfi_idem_1764123456789_hook"
    first = invoke("create_webhook", event)
    again = invoke("create_webhook", event)
    assert first["statusCode"] == again["statusCode"] == 201
    assert again["json"] == first["json"]
    assert [w["id"] for w in invoke("list_webhooks", load_event("list_webhooks"))["json"]["webhooks"]] == [
        first["json"]["id"]
    ]
    other = invoke("create_webhook", with_body(event, json.dumps({"url": "https://93.184.215.14/other"})))
    assert other["statusCode"] == 422
    assert other["json"]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
