"""The payment handlers invoked with their events/ files against moto."""

import json
from typing import Any

import pytest

from tests.conftest import (
    Invoke,
    load_event,
    with_body,
    with_caller,
    with_credential,
    with_payment_id,
    with_session_id,
)

OTHER_ACCOUNT = {"credential": "api_key", "account_id": "acct_someoneelse000000000000"}


def open_session(invoke: Invoke, **overrides: Any) -> dict[str, Any]:
    """A session created through the handler (the events/ file's body, with overrides)."""
    event = load_event("create_session")
    body = {**json.loads(event["body"]), **overrides}
    response = invoke("create_session", with_body(event, json.dumps(body)))
    assert response["statusCode"] == 201, response["body"]
    return response["json"]


def pay(invoke: Invoke, session: dict[str, Any], amount: Any, key: str | None = None, **fields: Any) -> dict[str, Any]:
    """POST /api/v1/payments with the session's token (through the real authorizer)."""
    event = load_event("create_payment")
    body = {"amount": amount, "currency": "USD", "merchant_id": "merchant_amazon", **fields}
    event = with_body(event, json.dumps(body))
    event["headers"].pop("idempotency-key")
    if key is not None:
        event["headers"]["idempotency-key"] = key
    return invoke("create_payment", with_credential(invoke, event, session["session_token"]))


def get_session(invoke: Invoke, session_id: str) -> dict[str, Any]:
    response = invoke("get_session", with_session_id(load_event("get_session"), session_id))
    assert response["statusCode"] == 200
    return response["json"]


def decide(
    invoke: Invoke,
    verb: str,
    payment_id: str,
    caller: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    event = with_payment_id(load_event(f"{verb}_payment"), payment_id)
    if caller is not None:
        event = with_caller(event, caller)
    if idempotency_key is not None:
        event["headers"] = {**event["headers"], "idempotency-key": idempotency_key}
    return invoke(f"{verb}_payment", event)


def test_the_events_file_pays_and_answers_201_with_the_remaining_amounts(invoke: Invoke) -> None:
    session = open_session(invoke)
    event = with_credential(invoke, load_event("create_payment"), session["session_token"])
    response = invoke("create_payment", event)
    assert response["statusCode"] == 201, response["body"]
    payment = response["json"]
    assert payment["id"].startswith("pay_")
    assert payment["session_id"] == session["id"]
    assert payment["amount"] == 19.99
    assert payment["status"] == "authorized"
    assert payment["remaining_today"] == 180.01
    assert payment["remaining_this_week"] == 980.01
    assert payment["metadata"] == {"order": "A-1001"}
    assert '"remaining_today":180.01' in response["body"]  # exact decimal on the wire


def test_the_walk_through_limits_merchants_revoke(invoke: Invoke) -> None:
    session = open_session(invoke, limits={"max_per_day": 200, "max_per_transaction": 50})
    first = pay(invoke, session, 50)
    assert first["statusCode"] == 201
    assert first["json"]["remaining_today"] == 150
    assert pay(invoke, session, 50)["statusCode"] == 201
    assert pay(invoke, session, 50)["statusCode"] == 201
    assert pay(invoke, session, 30)["json"]["remaining_today"] == 20

    over_day = pay(invoke, session, 20.01)
    assert over_day["statusCode"] == 402
    error = over_day["json"]["error"]
    assert error["code"] == "LIMIT_EXCEEDED"
    assert error["details"]["limit"] == "max_per_day"
    assert error["details"]["remaining"] == 20
    assert error["details"]["attempted"] == 20.01
    assert error["details"]["limit_amount"] == 200
    assert error["details"]["resets_at"] == get_session(invoke, session["id"])["windows"]["day"]["resets_at"]

    over_transaction = pay(invoke, session, 60)
    assert over_transaction["statusCode"] == 402
    assert over_transaction["json"]["error"]["details"]["limit"] == "max_per_transaction"

    other_merchant = pay(invoke, session, 5, merchant_id="merchant_ebay")
    assert other_merchant["statusCode"] == 403
    assert other_merchant["json"]["error"]["code"] == "MERCHANT_NOT_ALLOWED"

    assert pay(invoke, session, 20)["statusCode"] == 201
    used_up = get_session(invoke, session["id"])
    assert used_up["remaining_today"] == 0
    assert used_up["status"] == "paused"
    assert used_up["is_active"] is True

    invoke("revoke_session", with_session_id(load_event("revoke_session"), session["id"]))
    revoked = pay(invoke, session, 1)
    assert revoked["statusCode"] == 403
    assert revoked["json"]["error"]["code"] == "SESSION_REVOKED"


def test_a_payment_past_expires_at_is_refused_without_any_expiry_job(invoke: Invoke, dynamodb: Any) -> None:
    session = open_session(invoke)
    # Move the session's end into the past, as time passing would (no job touches it).
    dynamodb.update_item(
        TableName="agent-sessions-test",
        Key={"pk": {"S": f"SESS#{session['id']}"}},
        UpdateExpression="SET expires_epoch = :past, expires_at = :past_text",
        ExpressionAttributeValues={":past": {"N": "1000"}, ":past_text": {"S": "1970-01-01T00:16:40Z"}},
    )
    response = pay(invoke, session, 1)
    assert response["statusCode"] == 403
    assert response["json"]["error"]["code"] == "SESSION_EXPIRED"


def test_three_payments_of_ten_cents_leave_exactly_thirty_cents_spent(invoke: Invoke) -> None:
    session = open_session(invoke)
    for _ in range(3):
        assert pay(invoke, session, 0.1)["statusCode"] == 201
    day = get_session(invoke, session["id"])["windows"]["day"]
    assert (day["spent"], day["remaining"]) == (0.3, 199.7)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": 1.001}, "amount"),
        ({"amount": "5"}, "amount"),
        ({"amount": 1, "currency": "EUR"}, "currency"),
        ({"amount": 1, "token": "BTC"}, "token"),
        ({"amount": 1, "surprise": True}, "surprise"),
        ({}, "amount"),
    ],
)
def test_invalid_payments_are_422_naming_the_field_and_write_nothing(
    invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    session = open_session(invoke)
    event = with_body(load_event("create_payment"), json.dumps(body))
    response = invoke("create_payment", with_credential(invoke, event, session["session_token"]))
    assert response["statusCode"] == 422
    assert field in response["json"]["error"]["details"]["fields"]
    assert get_session(invoke, session["id"])["windows"]["day"]["spent"] == 0


def test_the_sdk_token_field_is_accepted(invoke: Invoke) -> None:
    session = open_session(invoke)
    assert pay(invoke, session, 1, token="USDC")["statusCode"] == 201


def test_an_idempotency_key_replays_the_first_answer_and_debits_once(invoke: Invoke) -> None:
    session = open_session(invoke)
    first = pay(invoke, session, 20, key="order-1")
    again = pay(invoke, session, 20, key="order-1")
    assert first["statusCode"] == again["statusCode"] == 201
    assert first["json"] == again["json"]
    assert get_session(invoke, session["id"])["windows"]["day"]["spent"] == 20

    reused = pay(invoke, session, 21, key="order-1")
    assert reused["statusCode"] == 422
    assert reused["json"]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    declined = pay(invoke, session, 500, key="too-much")
    replayed = pay(invoke, session, 500, key="too-much")
    assert declined["statusCode"] == replayed["statusCode"] == 402
    assert declined["json"] == replayed["json"]
    assert get_session(invoke, session["id"])["windows"]["day"]["spent"] == 20

    assert pay(invoke, session, 20)["json"]["id"] != pay(invoke, session, 20)["json"]["id"]  # no key: each is new


def test_an_idempotency_key_over_255_characters_is_422(invoke: Invoke) -> None:
    session = open_session(invoke)
    response = pay(invoke, session, 1, key="k" * 256)
    assert response["statusCode"] == 422
    assert "Idempotency-Key" in response["json"]["error"]["details"]["fields"]


def test_above_the_threshold_a_payment_waits_holding_its_amount_until_approved(invoke: Invoke) -> None:
    session = open_session(invoke)  # require_approval_above 25
    pending = pay(invoke, session, 30)
    assert pending["statusCode"] == 202
    payment = pending["json"]
    assert payment["status"] == "pending_approval"
    assert payment["approval_expires_at"] is not None
    assert payment["remaining_today"] == 170
    day = get_session(invoke, session["id"])["windows"]["day"]
    assert (day["spent"], day["held"], day["remaining"]) == (0, 30, 170)

    approved = decide(invoke, "approve", payment["id"])
    assert approved["statusCode"] == 200
    assert approved["json"]["status"] == "authorized"
    assert approved["json"]["decided_at"] is not None
    day = get_session(invoke, session["id"])["windows"]["day"]
    assert (day["spent"], day["held"], day["remaining"]) == (30, 0, 170)

    again = decide(invoke, "approve", payment["id"])
    assert again["statusCode"] == 409
    assert again["json"]["error"]["code"] == "INVALID_STATE"
    assert decide(invoke, "reject", payment["id"])["statusCode"] == 409


def test_reject_releases_the_hold(invoke: Invoke) -> None:
    session = open_session(invoke)
    payment = pay(invoke, session, 40)["json"]
    rejected = decide(invoke, "reject", payment["id"])
    assert rejected["statusCode"] == 200
    assert rejected["json"]["status"] == "rejected"
    assert rejected["json"]["remaining_today"] == 200
    day = get_session(invoke, session["id"])["windows"]["day"]
    assert (day["spent"], day["held"], day["remaining"]) == (0, 0, 200)


def test_another_account_cannot_see_or_decide_a_payment(invoke: Invoke) -> None:
    session = open_session(invoke)
    payment = pay(invoke, session, 40)["json"]
    for verb in ("approve", "reject"):
        response = decide(invoke, verb, payment["id"], OTHER_ACCOUNT)
        assert response["statusCode"] == 404
    event = with_caller(with_payment_id(load_event("get_payment"), payment["id"]), OTHER_ACCOUNT)
    assert invoke("get_payment", event)["statusCode"] == 404
    listing = with_caller(with_session_id(load_event("list_session_payments"), session["id"]), OTHER_ACCOUNT)
    assert invoke("list_session_payments", listing)["statusCode"] == 404
    assert decide(invoke, "approve", "pay_" + "a" * 24)["statusCode"] == 404


def test_a_session_token_may_pay_and_read_its_own_payments_but_not_decide(invoke: Invoke) -> None:
    session = open_session(invoke)
    other = open_session(invoke)
    payment = pay(invoke, session, 40)["json"]
    read = with_credential(invoke, with_payment_id(load_event("get_payment"), payment["id"]), session["session_token"])
    response = invoke("get_payment", read)
    assert response["statusCode"] == 200
    assert response["json"]["id"] == payment["id"]
    foreign = with_credential(invoke, with_payment_id(load_event("get_payment"), payment["id"]), other["session_token"])
    assert invoke("get_payment", foreign)["statusCode"] == 404
    approve = with_credential(
        invoke, with_payment_id(load_event("approve_payment"), payment["id"]), session["session_token"]
    )
    assert invoke("approve_payment", approve)["statusCode"] == 403
    key_pays = with_caller(load_event("create_payment"), {"credential": "api_key", "account_id": "acct_x"})
    assert invoke("create_payment", key_pays)["statusCode"] == 403
    assert invoke("create_payment", with_caller(load_event("create_payment"), None))["statusCode"] == 401


def test_the_events_files_for_reading_and_listing_work_against_a_real_payment(invoke: Invoke) -> None:
    session = open_session(invoke)
    ids = [pay(invoke, session, amount)["json"]["id"] for amount in (1, 2, 3)]
    got = invoke("get_payment", with_payment_id(load_event("get_payment"), ids[0]))
    assert got["statusCode"] == 200
    assert got["json"]["amount"] == 1
    assert got["json"]["remaining_today"] == 194

    event = with_session_id(load_event("list_session_payments"), session["id"])
    event["queryStringParameters"] = {"limit": "2"}
    event["rawQueryString"] = "limit=2"
    first_page = invoke("list_session_payments", event)
    assert first_page["statusCode"] == 200
    assert [p["id"] for p in first_page["json"]["payments"]] == ids[::-1][:2]
    cursor = first_page["json"]["next_cursor"]
    assert cursor
    event["queryStringParameters"] = {"limit": "2", "cursor": cursor}
    event["rawQueryString"] = f"limit=2&cursor={cursor}"
    second_page = invoke("list_session_payments", event)
    assert [p["id"] for p in second_page["json"]["payments"]] == ids[:1]


def test_declines_are_in_the_ledger_but_never_listed_or_readable_as_payments(invoke: Invoke, dynamodb: Any) -> None:
    session = open_session(invoke)
    assert pay(invoke, session, 60)["statusCode"] == 402
    items = dynamodb.scan(TableName="agent-sessions-test")["Items"]
    declines = [item for item in items if item.get("status", {}).get("S") == "declined"]
    assert len(declines) == 1
    assert json.loads(declines[0]["decline"]["S"])["code"] == "LIMIT_EXCEEDED"
    listing = invoke("list_session_payments", with_session_id(load_event("list_session_payments"), session["id"]))
    assert listing["json"]["payments"] == []
    declined_id = declines[0]["id"]["S"]
    assert invoke("get_payment", with_payment_id(load_event("get_payment"), declined_id))["statusCode"] == 404
