"""Payment intents through their handlers and the real authorizer, against moto: the SDK's shapes,
confirm paying from a session in its one transaction, capture and cancel of holds, lapses, events."""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.dal import dynamo
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import intents as intent_service
from agent_sessions.wire.models import CreateIntentRequest
from tests.conftest import (
    EVENTS_ACCOUNT_ID,
    TABLE_NAME,
    Invoke,
    load_event,
    with_body,
    with_caller,
    with_credential,
)
from tests.integration.test_payment_handlers import get_session, open_session
from tests.integration.test_publish_events import received
from tests.support.streams import as_lambda_event, stream_records

PLACEHOLDER = "pi_exampleexampleexample234"
SDK_INTENT_FIELDS = {
    "id", "client_secret", "amount", "currency", "description", "status", "capture_method",
    "agent_id", "payment_id", "created_at", "expires_at",
}  # fmt: skip


def day(invoke: Invoke, session: dict[str, Any]) -> dict[str, Any]:
    """The session's day window now (spent includes what is held)."""
    return dict(get_session(invoke, session["id"])["windows"]["day"])


def at_intent(event: dict[str, Any], intent_id: str) -> dict[str, Any]:
    return dict(json.loads(json.dumps(event).replace(PLACEHOLDER, intent_id)))


def create(invoke: Invoke, **overrides: Any) -> dict[str, Any]:
    event = load_event("create_intent")
    event["headers"].pop("idempotency-key")
    body = {**json.loads(event["body"]), "metadata": {"merchant_id": "merchant_amazon"}, **overrides}
    response = invoke("create_intent", with_body(event, json.dumps(body)))
    assert response["statusCode"] == 201, response["body"]
    return dict(response["json"])


def confirm(invoke: Invoke, intent: dict[str, Any], session: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    event = at_intent(load_event("confirm_intent"), intent["id"])
    body: dict[str, Any] = {"client_secret": intent["client_secret"], "customer_wallet": "Hx7B...abc"}
    if session is not None:
        body["session_token"] = session["session_token"]
    return invoke("confirm_intent", with_body(event, json.dumps({**body, **overrides})))


def call(
    invoke: Invoke, function: str, intent_id: str, body: dict[str, Any] | None = None, key: str | None = None
) -> dict[str, Any]:
    event = at_intent(load_event(function), intent_id)
    if body is not None or "body" in event:
        event = with_body(event, json.dumps(body or {}))
    if key is not None:
        event["headers"] = {**event["headers"], "idempotency-key": key}
    return invoke(function, event)


def test_create_answers_the_sdks_shape_with_a_client_secret_for_its_creator(invoke: Invoke) -> None:
    intent = create(invoke)
    assert intent.keys() >= SDK_INTENT_FIELDS
    assert (intent["status"], intent["amount"], intent["capture_method"]) == ("requires_payment", 49.99, "automatic")
    assert intent["client_secret"].startswith(f"{intent['id']}_secret_")
    assert intent["payment_id"] is None
    again = call(invoke, "get_intent", intent["id"])["json"]
    assert again["client_secret"] == intent["client_secret"]  # the key that created it is shown it again
    other_key = {"credential": "api_key", "account_id": EVENTS_ACCOUNT_ID}
    event = with_caller(at_intent(load_event("get_intent"), intent["id"]), other_key)
    event["headers"]["authorization"] = "Bearer zfi_test_" + "Z" * 43  # another key of the same account
    assert invoke("get_intent", event)["json"]["client_secret"] is None


def test_the_events_file_replays_its_idempotency_key(invoke: Invoke) -> None:
    first, again = (
        invoke("create_intent", load_event("create_intent")),
        invoke("create_intent", load_event("create_intent")),
    )
    assert first["statusCode"] == again["statusCode"] == 201
    assert first["json"]["id"] == again["json"]["id"]
    assert first["json"]["client_secret"] == again["json"]["client_secret"]


def test_confirm_pays_from_the_session_in_one_transaction(invoke: Invoke, session_store: dynamo.DynamoStore) -> None:
    session = open_session(invoke)
    intent = create(invoke, amount=12.34)
    answer = confirm(invoke, intent, session)
    assert answer["statusCode"] == 200, answer["body"]
    assert (answer["json"]["status"], answer["json"]["session_id"]) == ("succeeded", session["id"])
    assert answer["json"]["amount_captured"] == 12.34
    payment = session_store.get_payment(answer["json"]["payment_id"])
    assert payment is not None
    assert payment.intent_id == intent["id"]
    assert payment.amount_cents == 1234
    assert day(invoke, session)["spent"] == 12.34
    again = confirm(invoke, intent, session)  # a retry after success answers the same, pays nothing more
    assert (again["statusCode"], again["json"]["payment_id"]) == (200, answer["json"]["payment_id"])
    assert day(invoke, session)["spent"] == 12.34
    other = open_session(invoke)
    assert confirm(invoke, intent, other)["json"]["error"]["code"] == "INVALID_STATE"


def test_the_session_can_come_in_x_session_token_or_as_the_bearer(invoke: Invoke) -> None:
    session = open_session(invoke)
    header = create(invoke, amount=1)
    event = at_intent(load_event("confirm_intent"), header["id"])
    body = {"client_secret": header["client_secret"], "customer_wallet": "w"}
    event = with_body(event, json.dumps(body))
    event["headers"]["x-session-token"] = session["session_token"]
    assert invoke("confirm_intent", event)["json"]["status"] == "succeeded"
    bearer = create(invoke, amount=2)
    event = at_intent(load_event("confirm_intent"), bearer["id"])
    event = with_body(event, json.dumps({"client_secret": bearer["client_secret"], "customer_wallet": "w"}))
    assert (
        invoke("confirm_intent", with_credential(invoke, event, session["session_token"]))["json"]["status"]
        == "succeeded"
    )
    assert day(invoke, session)["spent"] == 3


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, "session_token"),
        ({"client_secret": "pi_x_secret_wrong"}, "client_secret"),
        ({"customer_wallet": ""}, "customer_wallet"),
    ],
)
def test_a_confirm_without_what_it_needs_is_422_naming_it(
    invoke: Invoke, overrides: dict[str, Any], field: str
) -> None:
    session = open_session(invoke) if field != "session_token" else None
    answer = confirm(invoke, create(invoke), session, **overrides)
    assert (answer["statusCode"], answer["json"]["error"]["code"]) == (422, "VALIDATION_ERROR")
    assert field in answer["json"]["error"]["details"]["fields"]


def test_a_sessions_merchant_whitelist_checks_the_intents_merchant(invoke: Invoke) -> None:
    session = open_session(invoke)  # it allows merchant_amazon only
    for metadata in ({"merchant_id": "merchant_other"}, {}):
        answer = confirm(invoke, create(invoke, metadata=metadata), session)
        assert (answer["statusCode"], answer["json"]["error"]["code"]) == (403, "MERCHANT_NOT_ALLOWED")


def test_a_confirm_over_the_limit_is_declined_and_the_intent_still_awaits(invoke: Invoke) -> None:
    session = open_session(invoke, limits={"max_per_transaction": 10})
    intent = create(invoke, amount=10.01)
    answer = confirm(invoke, intent, session)
    assert (answer["statusCode"], answer["json"]["error"]["code"]) == (402, "LIMIT_EXCEEDED")
    assert call(invoke, "get_intent", intent["id"])["json"]["status"] == "requires_payment"
    assert day(invoke, session)["spent"] == 0


def test_manual_capture_spends_part_of_the_hold_and_releases_the_rest(invoke: Invoke) -> None:
    session = open_session(invoke)
    intent = create(invoke, capture_method="manual", amount=49.99)
    held = confirm(invoke, intent, session)["json"]
    assert held["status"] == "processing"
    state = day(invoke, session)
    assert (state["spent"], state["held"]) == (0, 49.99)
    assert Decimal(str(state["remaining"])) == Decimal(str(state["limit"])) - Decimal("49.99")
    over = call(invoke, "capture_intent", intent["id"], {"amount_to_capture": 50})
    assert over["json"]["error"]["details"]["fields"] == {"amount_to_capture": "must be at most the held amount, 49.99"}
    captured = call(invoke, "capture_intent", intent["id"], {"amount_to_capture": 40})["json"]
    assert (captured["status"], captured["amount_captured"]) == ("succeeded", 40)
    state = day(invoke, session)
    assert (state["spent"], state["held"]) == (40, 0)
    assert call(invoke, "capture_intent", intent["id"], {})["json"]["error"]["code"] == "INVALID_STATE"
    assert call(invoke, "get_intent", intent["id"])["json"]["status"] == "succeeded"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    held_cents=st.integers(101, 5000),
    part=st.one_of(st.none(), st.integers(1, 100)),
    key=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=255),
    retries=st.integers(1, 3),
)
def test_a_retried_capture_is_answered_again_and_captures_nothing_more(
    invoke: Invoke, held_cents: int, part: int | None, key: str, retries: int
) -> None:
    """The SDK retries a capture whose answer was lost with its Idempotency-Key: 200 and the intent
    again; the key with another amount is 422; another key, or none, is still 409."""
    session = open_session(invoke)
    held = Decimal(held_cents) / 100
    intent = create(invoke, capture_method="manual", amount=float(held))  # a JSON number, as sent
    confirmed = confirm(invoke, intent, session)
    assert confirmed["statusCode"] == 200, confirmed["body"]
    assert confirmed["json"]["status"] == "processing"
    captured_cents = held_cents if part is None else max(1, held_cents * part // 100)
    body = {} if part is None else {"amount_to_capture": float(Decimal(captured_cents) / 100)}
    first = call(invoke, "capture_intent", intent["id"], body, key=key)
    assert first["statusCode"] == 200, first["body"]
    for _ in range(retries):
        again = call(invoke, "capture_intent", intent["id"], body, key=key)
        assert (again["statusCode"], again["json"]) == (200, first["json"])
    if captured_cents > 1:
        other_amount = {"amount_to_capture": float(Decimal(captured_cents - 1) / 100)}
        reused = call(invoke, "capture_intent", intent["id"], other_amount, key=key)
        assert (reused["statusCode"], reused["json"]["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    for other_key in (None, key[:-1] if len(key) > 1 else key + "x"):
        refused = call(invoke, "capture_intent", intent["id"], body, key=other_key)
        assert (refused["statusCode"], refused["json"]["error"]["code"]) == (409, "INVALID_STATE")
    state = day(invoke, session)
    assert (Decimal(str(state["spent"])), state["held"]) == (Decimal(captured_cents) / 100, 0)


def test_cancel_releases_a_hold_or_an_unpaid_intent_and_again_changes_nothing(invoke: Invoke) -> None:
    session = open_session(invoke)
    held = create(invoke, capture_method="manual", amount=20)
    confirm(invoke, held, session)
    canceled = call(invoke, "cancel_intent", held["id"])
    assert (canceled["statusCode"], canceled["json"]["status"]) == (200, "canceled")
    assert day(invoke, session)["spent"] == 0
    assert call(invoke, "cancel_intent", held["id"])["json"]["status"] == "canceled"
    unpaid = create(invoke)
    assert call(invoke, "cancel_intent", unpaid["id"])["json"]["status"] == "canceled"
    assert confirm(invoke, unpaid, session)["json"]["error"]["code"] == "INVALID_STATE"


def test_approving_a_manual_intents_payment_from_the_inbox_captures_it(invoke: Invoke) -> None:
    session = open_session(invoke)
    intent = create(invoke, capture_method="manual", amount=5)
    payment_id = confirm(invoke, intent, session)["json"]["payment_id"]
    approve = json.loads(json.dumps(load_event("approve_payment")).replace("pay_exampleexampleexample234", payment_id))
    assert invoke("approve_payment", approve)["statusCode"] == 200
    assert call(invoke, "get_intent", intent["id"])["json"]["status"] == "succeeded"


def test_lapses_read_as_canceled(invoke: Invoke, session_store: dynamo.DynamoStore) -> None:
    owner = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)
    request = CreateIntentRequest.model_validate({"amount": 1, "expires_in_seconds": 60})
    manual = {"amount": 3, "capture_method": "manual", "metadata": {"merchant_id": "merchant_amazon"}}
    old = intent_service.create_intent(session_store, owner, request, "k" * 43, utc_now() - timedelta(minutes=2))
    assert call(invoke, "get_intent", old.intent.id)["json"]["status"] == "canceled"
    held = intent_service.create_intent(
        session_store,
        owner,
        CreateIntentRequest.model_validate(manual),
        "k" * 43,
        utc_now(),
    )
    session = open_session(invoke)
    confirmed = confirm(invoke, {"id": held.intent.id, "client_secret": held.client_secret}, session)["json"]
    later = utc_now() + timedelta(hours=2)  # past the hold's hour
    shown = intent_service.get_intent(session_store, owner, held.intent.id, "k" * 43, later)
    assert (confirmed["status"], shown.status) == ("processing", "canceled")


def test_list_filters_by_status_and_pages_by_offset(invoke: Invoke) -> None:
    made = [create(invoke, amount=n + 1) for n in range(4)]
    call(invoke, "cancel_intent", made[0]["id"])
    event = load_event("list_intents")
    listed = invoke("list_intents", event)["json"]["intents"]
    assert [intent["id"] for intent in listed] == [intent["id"] for intent in reversed(made[1:])]
    event["queryStringParameters"] = {"offset": "1", "limit": "2"}
    page = invoke("list_intents", event)["json"]["intents"]
    assert [intent["id"] for intent in page] == [made[2]["id"], made[1]["id"]]
    assert all(intent["client_secret"] is None for intent in page)


def test_another_account_never_sees_or_touches_an_intent(invoke: Invoke) -> None:
    intent = create(invoke)
    foreign = {"credential": "api_key", "account_id": "acct_someoneelse000000000000"}
    for function in ("get_intent", "cancel_intent", "capture_intent"):
        event = with_caller(at_intent(load_event(function), intent["id"]), foreign)
        assert invoke(function, event)["statusCode"] == 404


def test_intent_changes_are_announced_through_the_outbox(invoke: Invoke, dynamodb: Any, bus_queue: Any) -> None:
    session = open_session(invoke)
    automatic = create(invoke, amount=1)
    confirm(invoke, automatic, session)
    manual = create(invoke, capture_method="manual", amount=2)
    confirm(invoke, manual, session)
    call(invoke, "cancel_intent", manual["id"])
    records = stream_records(dynamodb, TABLE_NAME)
    assert invoke("publish_events", as_lambda_event(records, TABLE_NAME)) == {"batchItemFailures": []}
    published = [e for e in received(*bus_queue) if e["event"].startswith("agent.intent.")]
    assert [(e["event"], e["data"]["id"], e["data"]["status"]) for e in published] == [
        ("agent.intent.created", automatic["id"], "requires_payment"),
        ("agent.intent.succeeded", automatic["id"], "succeeded"),
        ("agent.intent.created", manual["id"], "requires_payment"),
        ("agent.intent.processing", manual["id"], "processing"),
        ("agent.intent.canceled", manual["id"], "canceled"),
    ]
    assert published[1]["data"]["amount"] == 1
    assert published[1]["data"]["payment_id"] is not None
    assert len({(e["event"], e["timestamp"]) for e in published}) == len(published)  # the SDK's dedup keeps all
