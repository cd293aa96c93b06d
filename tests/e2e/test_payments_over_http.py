"""Payments over real HTTP against the local runtime: the walk-through, expiry, and a burst."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalService

pytestmark = pytest.mark.e2e


def open_session(service: LocalService, **body: Any) -> dict[str, Any]:
    request = {"agent_id": "shopping-bot", "user_wallet": "Hx7B...abc", **body}
    response = service.call("POST", "/api/v1/ai/sessions", service.api_keys[0], json=request)
    assert response.status_code == 201, response.text
    return dict(response.json())


def pay(service: LocalService, session: dict[str, Any], amount: Any, **fields: Any) -> requests.Response:
    headers = {"Idempotency-Key": fields.pop("key")} if "key" in fields else None
    body = {"amount": amount, "currency": "USD", "merchant_id": "merchant_amazon", **fields}
    return service.call("POST", "/api/v1/payments", session["session_token"], headers=headers, json=body)


def test_the_walk_through(local_service: LocalService) -> None:
    key = local_service.api_keys[0]
    session = open_session(
        local_service,
        limits={"max_per_day": 200, "max_per_transaction": 50, "require_approval_above": 45},
        allowed_merchants=["merchant_amazon"],
    )
    first = pay(local_service, session, 50)
    assert first.status_code == 202  # above require_approval_above: held until a person decides
    approved = local_service.call("POST", f"/api/v1/payments/{first.json()['id']}/approve", key)
    assert approved.status_code == 200
    assert approved.json()["status"] == "authorized"
    assert approved.json()["remaining_today"] == 150

    for amount in (40, 40, 40):
        assert pay(local_service, session, amount).status_code == 201
    over_day = pay(local_service, session, 40)
    assert over_day.status_code == 402
    assert over_day.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert over_day.json()["error"]["details"]["limit"] == "max_per_day"
    assert over_day.json()["error"]["details"]["remaining"] == 30

    over_transaction = pay(local_service, session, 60)
    assert over_transaction.status_code == 402
    assert over_transaction.json()["error"]["details"]["limit"] == "max_per_transaction"

    elsewhere = pay(local_service, session, 5, merchant_id="merchant_ebay")
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "MERCHANT_NOT_ALLOWED"

    replay = pay(local_service, session, 10, key="order-9")
    assert replay.status_code == 201
    again = pay(local_service, session, 10, key="order-9")
    assert (again.status_code, again.text) == (replay.status_code, replay.text)

    read = local_service.call("GET", f"/api/v1/payments/{replay.json()['id']}", session["session_token"])
    assert read.status_code == 200
    listed = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}/payments", key)
    assert listed.json()["payments"][0]["id"] == replay.json()["id"]  # newest first
    foreign = local_service.call("GET", f"/api/v1/payments/{replay.json()['id']}", local_service.api_keys[1])
    assert foreign.status_code == 404

    local_service.call("POST", f"/api/v1/ai/sessions/{session['id']}/revoke", key)
    revoked = pay(local_service, session, 1)
    assert revoked.status_code == 403
    assert revoked.json()["error"]["code"] == "SESSION_REVOKED"


def test_a_payment_after_expires_at_is_refused_with_no_expiry_job(local_service: LocalService) -> None:
    session = open_session(local_service, duration_hours=0.0006)  # about two seconds
    assert pay(local_service, session, 1).status_code == 201
    time.sleep(3)
    expired = pay(local_service, session, 1)
    assert expired.status_code == 403
    assert expired.json()["error"]["code"] == "SESSION_EXPIRED"
    read = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", local_service.api_keys[0])
    assert read.json()["status"] == "expired"
    assert read.json()["is_active"] is False


def test_two_hundred_concurrent_requests_authorize_exactly_one_hundred(local_service: LocalService) -> None:
    session = open_session(local_service, limits={"max_per_day": 100})
    with ThreadPoolExecutor(max_workers=200) as executor:
        answers = list(executor.map(lambda _: pay(local_service, session, 1), range(200)))
    statuses = [answer.status_code for answer in answers]
    odd = [answer.text for answer in answers if answer.status_code not in (201, 402)]
    assert not odd, odd[:3]
    assert statuses.count(201) == 100, sorted(set(statuses))
    assert statuses.count(402) == 100
    read = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", local_service.api_keys[0])
    assert read.json()["windows"]["day"]["spent"] == 100
    listed = local_service.call(
        "GET", f"/api/v1/ai/sessions/{session['id']}/payments?limit=100", local_service.api_keys[0]
    )
    assert len(listed.json()["payments"]) == 100
    assert (
        listed.json()["next_cursor"] is None
        or not local_service.call(
            "GET",
            f"/api/v1/ai/sessions/{session['id']}/payments?limit=100&cursor={listed.json()['next_cursor']}",
            local_service.api_keys[0],
        ).json()["payments"]
    )


def test_a_decision_sent_again_with_its_key_is_answered_again_over_http(local_service: LocalService) -> None:
    """What the SDK does when an approve's answer is lost: the same POST with the same Idempotency-Key
    (in any case of its name). The retry is a 200 with the payment; a decision with another key is 409."""
    key = local_service.api_keys[0]
    session = open_session(local_service, limits={"max_per_day": 200, "require_approval_above": 10})
    held = pay(local_service, session, 12.34)
    assert held.status_code == 202
    path = f"/api/v1/payments/{held.json()['id']}/approve"
    first = local_service.call("POST", path, key, headers={"Idempotency-Key": "zfi_idem_1764123456789_a1b2c3"})
    assert first.status_code == 200, first.text
    again = local_service.call("POST", path, key, headers={"idempotency-key": "zfi_idem_1764123456789_a1b2c3"})
    assert again.status_code == 200, again.text
    assert (again.json()["id"], again.json()["status"]) == (first.json()["id"], "authorized")
    other = local_service.call("POST", path, key, headers={"Idempotency-Key": "zfi_idem_1764123456790_d4e5f6"})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "INVALID_STATE")
    rejected = local_service.call(
        "POST", path.replace("approve", "reject"), key, headers={"Idempotency-Key": "zfi_idem_1764123456789_a1b2c3"}
    )
    assert (rejected.status_code, rejected.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_decisions_are_shown_at_once_and_settled_by_the_runtimes_outbox(local_service: LocalService) -> None:
    """Approve and reject are one write to the session; the runtime's outbox (its stream pump) then
    settles each on the payment's own item. Before it has, the session's list, GET of the payment
    and the next payment already see the decision; after, the account-wide list does too."""
    key = local_service.api_keys[0]
    session = open_session(local_service, limits={"max_per_day": 100, "require_approval_above": 30})
    approve = pay(local_service, session, 40.25, description="GPU hours", metadata={"order": "A-7"}).json()
    reject = pay(local_service, session, 55.5).json()
    assert approve["status"] == reject["status"] == "pending_approval"
    approved = local_service.call("POST", f"/api/v1/payments/{approve['id']}/approve", key).json()
    rejected = local_service.call("POST", f"/api/v1/payments/{reject['id']}/reject", key).json()
    assert (approved["status"], approved["metadata"]) == ("authorized", {"order": "A-7"})
    assert rejected["status"] == "rejected"
    assert rejected["remaining_today"] == 59.75  # 100 - 40.25, exactly
    for decided in (approved, rejected):
        read = local_service.call("GET", f"/api/v1/payments/{decided['id']}", key).json()
        assert read["status"] == decided["status"]
    listed = local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}/payments", key).json()["payments"]
    assert {payment["id"]: payment["status"] for payment in listed} == {
        approve["id"]: "authorized",
        reject["id"]: "rejected",
    }
    assert pay(local_service, session, 29.75).status_code == 201  # the rejected 55.50's room is free already

    deadline = time.monotonic() + 30
    while True:
        everything = local_service.call("GET", "/api/v1/payments?limit=100", key).json()["payments"]
        statuses = {payment["id"]: payment["status"] for payment in everything}
        if (statuses.get(approve["id"]), statuses.get(reject["id"])) == ("authorized", "rejected"):
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)
