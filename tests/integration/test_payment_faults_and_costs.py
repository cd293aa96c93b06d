"""Payments under injected faults, the requests each one makes, and the size of what it stores."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError
from moto.core.models import botocore_stubber

from agent_sessions.dal.dynamo import default_store
from agent_sessions_local.item_size import item_bytes, write_units
from tests.conftest import (
    TABLE_NAME,
    Invoke,
    load_event,
    with_body,
    with_credential,
    with_payment_id,
    with_session_id,
)
from tests.integration.test_payment_handlers import decide, open_session, pay


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def dynamodb_error(code: str, extra: dict[str, Any] | None = None) -> AWSResponse:
    """An HTTP 400 from DynamoDB with this error code, as botocore would receive it."""
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code, **(extra or {})})
    headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse("https://dynamodb.local/", 400, headers, _Body(body.encode()))


@pytest.fixture
def handler_client(dynamodb: Any) -> Iterator[Any]:
    """The handlers' own DynamoDB client; hooks registered on it are removed afterwards."""
    client = default_store()._client
    registered: list[tuple[str, Callable[..., Any]]] = []
    client.test_hooks = registered
    yield client
    for event_name, hook in registered:
        client.meta.events.unregister(event_name, hook)


def hook_first(client: Any, event_name: str, times: int, action: Callable[[], Any]) -> list[int]:
    """Run `action` on the first `times` `event_name` events; count every event."""
    seen: list[int] = []

    def hook(**kwargs: Any) -> Any:
        seen.append(1)
        return action() if len(seen) <= times else None

    client.meta.events.register_first(event_name, hook)
    client.test_hooks.append((event_name, hook))
    return seen


def fail_before_sending(client: Any, operation: str, times: int, response: AWSResponse) -> list[int]:
    """The first `times` `operation` requests get `response` and never reach moto; count every attempt.

    botocore offers a before-send response to every handler, moto's included, so moto is switched
    off for exactly the faked attempt and back on once botocore has judged it (needs-retry).
    """

    def fake() -> AWSResponse:
        botocore_stubber.enabled = False
        return response

    def restore(**kwargs: Any) -> None:
        botocore_stubber.enabled = True

    attempts = hook_first(client, f"before-send.dynamodb.{operation}", times, fake)
    client.meta.events.register(f"needs-retry.dynamodb.{operation}", restore)
    client.test_hooks.append((f"needs-retry.dynamodb.{operation}", restore))
    return attempts


def stored_payments(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    return [item for item in items if item["type"]["S"] == "payment"]


def day_window(invoke: Invoke, session_id: str) -> dict[str, Any]:
    response = invoke("get_session", with_session_id(load_event("get_session"), session_id))
    return dict(response["json"]["windows"]["day"])


def test_a_lost_response_then_a_retry_with_the_same_key_debits_once_and_answers_the_same(
    invoke: Invoke, dynamodb: Any, handler_client: Any
) -> None:
    session = open_session(invoke)

    def lose_the_response() -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.local/")

    # The transaction commits; then the answer is lost on the way back.
    hook_first(handler_client, "after-call.dynamodb.TransactWriteItems", 1, lose_the_response)
    lost = pay(invoke, session, 12.5, key="checkout-77")
    assert lost["statusCode"] == 500
    assert lost["json"]["error"]["code"] == "INTERNAL"
    assert "Traceback" not in lost["body"]

    retried = pay(invoke, session, 12.5, key="checkout-77")
    assert retried["statusCode"] == 201
    assert retried["json"]["status"] == "authorized"
    assert pay(invoke, session, 12.5, key="checkout-77")["json"] == retried["json"]
    assert day_window(invoke, session["id"])["spent"] == 12.5
    assert len(stored_payments(dynamodb)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        dynamodb_error("ThrottlingException"),
        dynamodb_error(
            "TransactionCanceledException",
            {"CancellationReasons": [{"Code": "TransactionConflict", "Message": "conflict"}, {"Code": "None"}]},
        ),
    ],
    ids=["throttled", "transaction-conflict"],
)
def test_throttling_or_a_conflict_on_the_first_try_is_retried_and_debits_once(
    invoke: Invoke, dynamodb: Any, handler_client: Any, fault: AWSResponse
) -> None:
    session = open_session(invoke)
    attempts = fail_before_sending(handler_client, "TransactWriteItems", 1, fault)
    response = pay(invoke, session, 7, key="retry-me")
    assert response["statusCode"] == 201, response["body"]
    assert len(attempts) == 2
    assert day_window(invoke, session["id"])["spent"] == 7
    assert botocore_stubber.enabled
    assert len(stored_payments(dynamodb)) == 1


def test_contention_that_never_ends_is_a_429_and_writes_nothing(
    invoke: Invoke, dynamodb: Any, handler_client: Any
) -> None:
    session = open_session(invoke)
    conflict = dynamodb_error(
        "TransactionCanceledException",
        {"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
    )
    attempts = fail_before_sending(handler_client, "TransactWriteItems", 1000, conflict)
    response = pay(invoke, session, 7)
    assert response["statusCode"] == 429
    assert response["json"]["error"]["code"] == "RATE_LIMITED"
    assert len(attempts) == 6  # the store's bounded retries, then 429
    assert stored_payments(dynamodb) == []
    assert day_window(invoke, session["id"])["spent"] == 0


@pytest.fixture
def requests_sent(handler_client: Any) -> list[str]:
    """The DynamoDB operations the handlers send, in order."""
    calls: list[str] = []

    def record(model: Any, **kwargs: Any) -> None:
        calls.append(model.name)

    handler_client.meta.events.register("before-call.dynamodb.*", record)
    handler_client.test_hooks.append(("before-call.dynamodb.*", record))
    return calls


def test_a_payment_is_one_write_request_and_its_items_stay_under_one_kilobyte(
    invoke: Invoke, dynamodb: Any, requests_sent: list[str]
) -> None:
    session = open_session(invoke, metadata={"team": "checkout", "cost_center": "cc-4411"})
    event = with_credential(invoke, load_event("create_payment"), session["session_token"])
    requests_sent.clear()
    response = invoke("create_payment", event)
    assert response["statusCode"] == 201
    # The debit and the ledger record: one TransactWriteItems. It returns no item, so the first
    # time this instance pays for a session it reads the session once for the remaining amounts.
    assert requests_sent == ["TransactWriteItems", "GetItem"]
    # From then on the write is pinned to the version it knows, and it knows the result: one request.
    event["headers"].pop("idempotency-key")
    for amount in (1, 2, 3):
        requests_sent.clear()
        body = json.dumps({"amount": amount, "merchant_id": "merchant_amazon"})
        response = invoke("create_payment", with_body(event, body))  # the authorizer context is kept
        assert response["statusCode"] == 201
        assert requests_sent == ["TransactWriteItems"]
    assert response["json"]["remaining_today"] == 200 - 19.99 - 6

    fields = {key: value for key, value in json.loads(load_event("create_payment")["body"]).items() if key != "amount"}
    pending = pay(invoke, session, 30, key="needs-approval", **fields)  # held: a hold and its copy on the session
    assert pending["statusCode"] == 202
    session_item = dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"SESS#{session['id']}"}})["Item"]
    payment_item = dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"PAY#{pending['json']['id']}"}})["Item"]
    assert item_bytes(session_item) < 1024, item_bytes(session_item)
    assert item_bytes(payment_item) < 1024, item_bytes(payment_item)
    # Two items under 1 KB in one transaction: 4 write units per payment.
    assert write_units(item_bytes(session_item), True) + write_units(item_bytes(payment_item), True) == 4

    # The id names its session, and the hold kept what the answer needs: the decision is one
    # UpdateItem of the session, whose new image has the exact remaining amounts.
    requests_sent.clear()
    approved = decide(invoke, "approve", pending["json"]["id"])
    assert approved["statusCode"] == 200
    assert requests_sent == ["UpdateItem"]
    session_item = dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"SESS#{session['id']}"}})["Item"]
    assert write_units(item_bytes(session_item), False) == 1  # the hold, decided, still under 1 KB
    requests_sent.clear()
    read = invoke("get_payment", with_payment_id(load_event("get_payment"), pending["json"]["id"]))
    assert read["statusCode"] == 200
    assert requests_sent == ["TransactGetItems"]
    assert read["json"] == approved["json"]  # the same payment and remaining amounts, read back


def test_a_platform_payment_is_one_read_of_the_token_and_one_pinned_write(
    invoke: Invoke, requests_sent: list[str]
) -> None:
    session = open_session(invoke)
    event = load_event("smart_payment")
    body = {**json.loads(event["body"]), "session_token": session["session_token"]}
    event["headers"].pop("idempotency-key")
    for amount in (1, 2):
        requests_sent.clear()
        response = invoke("smart_payment", with_body(event, json.dumps({**body, "amount_usd": amount})))
        assert response["statusCode"] == 201, response["body"]
        # The token is checked with one strongly consistent read, which also pins the write.
        assert requests_sent == ["GetItem", "TransactWriteItems"]
    assert response["json"]["payment"]["remaining_today"] == 200 - 3
