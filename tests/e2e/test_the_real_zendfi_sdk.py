"""The public ZendFi SDK itself (npm `@zendfi/sdk` 1.0.0, pinned) against the local runtime.

Not our reading of it: its own code pays (with the platform's API key and the session's token in
X-Session-Token), reads payments back, retries behind a gateway error with its own Idempotency-Key,
maps our errors to its classes, and verifies the webhooks we deliver.
"""

import functools
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.domain.jsonio import encode_json
from tests.e2e.conftest import LocalService
from tests.support.lossy_gateway import LossyGateway
from tests.support.receiver import Receiver
from tests.support.zendfi_sdk import ZendFiSdk

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("ADVERSARIAL_EXAMPLES", "8"))
MAX = Decimal(1_000_000_000)
ROOMY = {name: MAX for name in ("max_per_transaction", "max_per_day", "max_per_week", "max_per_month")}


@pytest.fixture(scope="module")
def sdk() -> Iterator[ZendFiSdk]:
    driver = ZendFiSdk()
    yield driver
    driver.stop()


def open_session(service: LocalService, key: str, **limits: Any) -> dict[str, Any]:
    body = {
        "agent_id": "sdk-agent",
        "user_wallet": "Hx7B...abc",
        "limits": limits or {**ROOMY, "require_approval_above": MAX},
    }
    answer = service.call("POST", "/api/v1/ai/sessions", key, data=encode_json(body))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def spent_today(service: LocalService, key: str, session_id: str) -> Decimal:
    answer = service.call("GET", f"/api/v1/ai/sessions/{session_id}", key)
    return Decimal(json.loads(answer.text, parse_float=Decimal)["windows"]["day"]["spent"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2))
def test_the_sdk_pays_any_amount_with_cents_and_reads_it_back_exactly(
    local_service: LocalService, sdk: ZendFiSdk, amount: Decimal
) -> None:
    key = local_service.api_keys[0]
    session = open_session(local_service, key)
    request = {"amount": amount, "description": "drawn", "metadata": {"order": "o-1"}}
    paid = sdk.pay(key, local_service.base_url, session["session_token"], request)
    assert paid["ok"], paid
    payment = paid["data"]
    assert (payment["status"], payment["amount"], payment["session_id"]) == ("authorized", amount, session["id"])
    assert payment["remaining_today"] == MAX - amount
    read = sdk.call(op="getPayment", apiKey=key, baseURL=local_service.base_url, paymentId=payment["id"])
    assert read["ok"], read
    assert (read["data"]["id"], read["data"]["amount"], read["data"]["status"]) == (payment["id"], amount, "authorized")
    assert spent_today(local_service, key, session["id"]) == amount


def test_an_answer_lost_behind_a_gateway_error_is_retried_by_the_sdk_and_pays_once(
    local_service: LocalService, sdk: ZendFiSdk
) -> None:
    key = local_service.api_keys[1]
    session = open_session(local_service, key)
    gateway = LossyGateway(local_service.base_url, "/api/v1/payments", lose=1)
    try:
        request = {"amount": Decimal("12.34"), "description": "lost once"}
        paid = sdk.pay(key, gateway.url, session["session_token"], request)
    finally:
        gateway.stop()
    assert paid["ok"], paid  # the SDK retried the 504 and got the payment the first attempt made
    posts = [headers for method, _, headers in gateway.seen if method == "POST"]
    assert len(posts) == 2
    assert posts[0]["idempotency-key"] == posts[1]["idempotency-key"]  # the SDK's own key, sent again
    listed = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}/payments", key).json()["payments"]
    assert [payment["id"] for payment in listed] == [paid["data"]["id"]]
    assert spent_today(local_service, key, session["id"]) == Decimal("12.34")


def test_the_sdk_maps_the_contracts_errors_to_its_own_classes(local_service: LocalService, sdk: ZendFiSdk) -> None:
    key = local_service.api_keys[0]
    session = open_session(local_service, key, max_per_transaction=10)
    over = sdk.pay(key, local_service.base_url, session["session_token"], {"amount": Decimal("10.01")})
    invalid = sdk.pay(key, local_service.base_url, session["session_token"], {"amount": Decimal("0.001")})
    missing = sdk.call(op="getPayment", paymentId="pay_" + "a" * 24, apiKey=key, baseURL=local_service.base_url)
    stranger = sdk.call(
        op="getPayment", paymentId="pay_x", apiKey="zfi_test_" + "u" * 43, baseURL=local_service.base_url
    )
    found = [(answer["error"]["name"], answer["error"]["code"]) for answer in (over, invalid, missing, stranger)]
    assert found == [
        ("PaymentError", "LIMIT_EXCEEDED"),
        ("ValidationError", "VALIDATION_ERROR"),
        ("ApiError", "NOT_FOUND"),
        ("AuthenticationError", "UNAUTHENTICATED"),
    ]
    assert spent_today(local_service, key, session["id"]) == 0


def test_the_sdk_verifies_the_webhooks_we_deliver_and_refuses_a_tampered_one(
    local_service: LocalService, sdk: ZendFiSdk, receiver: Receiver
) -> None:
    key = local_service.api_keys[1]
    added = local_service.call("POST", "/api/v1/webhooks", key, json={"url": receiver.url})
    assert added.status_code == 201, added.text
    try:
        session = open_session(local_service, key)
        paid = sdk.pay(key, local_service.base_url, session["session_token"], {"amount": Decimal("7.07")})
        assert paid["ok"], paid
        receiver.wait_for("agent.payment.authorized", paid["data"]["id"])
        headers, body = next(
            (headers, body) for headers, body in receiver.requests if paid["data"]["id"].encode() in body
        )
        secret, signature = added.json()["secret"], headers["x-zendfi-signature"]
        genuine = sdk.call(op="verifyWebhook", payload=body.decode(), signature=signature, secret=secret)
        tampered = sdk.call(
            op="verifyWebhook", payload=body.decode().replace("7.07", "70.7"), signature=signature, secret=secret
        )
        assert (genuine, tampered) == ({"ok": True, "data": True}, {"ok": True, "data": False})
    finally:
        local_service.call("DELETE", f"/api/v1/webhooks/{added.json()['id']}", key)


def test_the_sdks_webhook_dedup_keeps_every_event_of_a_burst_and_drops_only_a_redelivery(
    local_service: LocalService, sdk: ZendFiSdk, receiver: Receiver
) -> None:
    """processWebhook drops an event whose merchant_id:event:timestamp it has seen: a burst of
    payments on one account must give each event its own timestamp, or the SDK loses them."""
    key = local_service.api_keys[0]
    added = local_service.call("POST", "/api/v1/webhooks", key, json={"url": receiver.url})
    assert added.status_code == 201, added.text
    try:
        sessions = [open_session(local_service, key) for _ in range(2)]
        tokens = [session["session_token"] for session in sessions] * 5
        with ThreadPoolExecutor(max_workers=10) as burst:
            answers = list(burst.map(lambda token: pay_directly(local_service, token), tokens))
        payment_ids = [answer["id"] for answer in answers]
        for payment_id in payment_ids:
            receiver.wait_for("agent.payment.authorized", payment_id)
        by_event_id = {  # one delivery per event (a retried delivery is the same event again)
            json.loads(body)["id"]: {"body": body.decode(), "signature": headers["x-zendfi-signature"]}
            for headers, body in list(receiver.requests)
            if json.loads(body)["event"] == "agent.payment.authorized" and json.loads(body)["data"]["id"] in payment_ids
        }
        deliveries = list(by_event_id.values())
        assert len(deliveries) == len(payment_ids)
        processed = sdk.call(
            op="processWebhooks", deliveries=[*deliveries, deliveries[0]], secret=added.json()["secret"]
        )
        assert processed["ok"], processed
        *first_time, again = processed["data"]
        assert [result.get("processed") for result in first_time] == [True] * len(deliveries)
        assert (again["processed"], again.get("error")) == (False, "Duplicate webhook")
    finally:
        local_service.call("DELETE", f"/api/v1/webhooks/{added.json()['id']}", key)


def pay_directly(service: LocalService, token: str) -> dict[str, Any]:
    answer = service.call("POST", "/api/v1/payments", token, data=encode_json({"amount": Decimal("1.01")}))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_the_sdks_other_payment_fields_are_accepted_and_a_split_is_refused(
    local_service: LocalService, sdk: ZendFiSdk
) -> None:
    key = local_service.api_keys[1]
    session = open_session(local_service, key)
    pay = functools.partial(sdk.pay, key, local_service.base_url, session["session_token"])
    extras = {"customer_email": "buyer@example.com", "redirect_url": "https://shop.example/thanks"}
    paid = pay({"amount": Decimal("3.30"), **extras, "split_recipients": []})
    assert paid["ok"], paid
    assert paid["data"]["status"] == "authorized"
    split = [{"recipient_wallet": "Hx7B...abc", "percentage": 50}]
    refused = pay({"amount": Decimal("3.30"), "split_recipients": split})
    assert (refused["error"]["name"], refused["error"]["code"]) == ("ValidationError", "VALIDATION_ERROR")
    assert "split_recipients" in refused["error"]["message"]
    assert spent_today(local_service, key, session["id"]) == Decimal("3.30")
