"""Inputs and clients nobody here chose, over HTTP against the local runtime (what `make run` serves).

Drawn, not picked: amounts with any cents, two accounts at once, JSON nested and sized past every
bound, URL spellings, receivers that hang. Every answer must be below 500, belong to its own
request, debit nothing when it refuses, and every event must arrive exactly as stored.
ADVERSARIAL_EXAMPLES raises the number of drawn examples (a long run); the default keeps the
suite inside its time budget.
"""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agent_sessions.domain.jsonio import encode_json
from tests.support.local_service import LocalService
from tests.support.receiver import Receiver

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("ADVERSARIAL_EXAMPLES", "12"))
drawn = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
MAX = Decimal(1_000_000_000)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=MAX, places=2)
ROOMY = {name: MAX for name in ("max_per_transaction", "max_per_day", "max_per_week", "max_per_month")}


def exact(response: Any) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def open_session(service: LocalService, key: str, **fields: Any) -> dict[str, Any]:
    body = {"agent_id": "adversary", "user_wallet": "w", "duration_hours": 1, **fields}
    answer = service.call("POST", "/api/v1/ai/sessions", key, data=encode_json(body))
    assert answer.status_code == 201, answer.text
    return dict(exact(answer))


def pay(service: LocalService, token: str, amount: Decimal, **fields: Any) -> Any:
    return service.call("POST", "/api/v1/payments", token, data=encode_json({"amount": amount, **fields}))


@pytest.fixture(scope="module")
def subscribed(local_service: LocalService) -> Any:
    """A receiver for the third account's every event; removed afterwards."""
    receiver = Receiver()
    key = local_service.api_keys[2]
    added = local_service.call("POST", "/api/v1/webhooks", key, json={"url": receiver.url})
    assert added.status_code == 201, added.text
    yield receiver
    local_service.call("DELETE", f"/api/v1/webhooks/{added.json()['id']}", key)
    receiver.stop()


@drawn
@given(amount=amounts, approval=st.booleans())
def test_any_amount_with_cents_is_exact_in_the_answer_the_record_and_the_event(
    local_service: LocalService, subscribed: Receiver, amount: Decimal, approval: bool
) -> None:
    assume(not approval or amount > Decimal("0.01"))  # a threshold must be above 0
    key = local_service.api_keys[2]
    limits = {**ROOMY, "require_approval_above": amount - Decimal("0.01") if approval else MAX}
    session = open_session(local_service, key, limits=limits)
    paid = pay(local_service, session["session_token"], amount, merchant_id="m")
    assert paid.status_code == (202 if approval else 201), paid.text
    answer = exact(paid)
    assert answer["amount"] == amount
    assert answer["remaining_today"] == MAX - amount
    stored = exact(local_service.call("GET", f"/api/v1/payments/{answer['id']}", key))
    assert stored["amount"] == amount
    event_name = "agent.payment.pending_approval" if approval else "agent.payment.authorized"
    delivered = subscribed.exact(event_name, answer["id"], seconds=15)
    assert delivered["data"]["amount"] == amount
    assert delivered["data"]["remaining_today"] == MAX - amount
    if approval:  # and on through the decision: the approve answer and its event
        approved = local_service.call("POST", f"/api/v1/payments/{answer['id']}/approve", key)
        assert approved.status_code == 200, approved.text
        assert exact(approved)["amount"] == amount
        decided = subscribed.exact("agent.payment.approved", answer["id"], seconds=15)
        assert decided["data"]["amount"] == amount
        assert decided["data"]["remaining_today"] == MAX - amount


def test_concurrent_payments_from_two_accounts_each_answer_their_own_request(local_service: LocalService) -> None:
    sessions = [open_session(local_service, key, limits={"max_per_day": 20}) for key in local_service.api_keys[:2]]

    def one(n: int) -> tuple[int, Any, dict[str, Any]]:
        session = sessions[n % 2]
        answer = pay(local_service, session["session_token"], Decimal("1.01"), metadata={"tag": f"req-{n}"})
        return n, answer, session

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(one, range(40)))
    for n, answer, session in answers:
        assert answer.status_code in (201, 402), answer.text
        if answer.status_code == 201:
            body = answer.json()
            assert (body["session_id"], body["metadata"]) == (session["id"], {"tag": f"req-{n}"})
        else:
            assert answer.json()["error"]["code"] == "LIMIT_EXCEEDED"
    for session in sessions:
        authorized = [a for _, a, s in answers if s is session and a.status_code == 201]
        assert len(authorized) == 19  # 19 x 1.01 = 19.19 fits in 20; a 20th would not
        read = exact(local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", session["session_token"]))
        assert read["windows"]["day"]["spent"] == Decimal("19.19")


nesting = st.integers(min_value=1, max_value=25_000)
containers = st.sampled_from(["array", "object"])


def nested(kind: str, depth: int) -> str:
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


@drawn
@given(kind=containers, depth=nesting, where=st.sampled_from(["body", "metadata", "amount"]))
def test_deep_and_huge_json_is_refused_with_the_field_named_and_debits_nothing(
    local_service: LocalService, kind: str, depth: int, where: str
) -> None:
    key = local_service.api_keys[0]
    session = open_session(local_service, key, limits={"max_per_day": 50})
    if where == "body":
        body = nested(kind, depth)
    elif where == "metadata":
        body = '{"amount": 1, "metadata": ' + nested("object", depth) + "}"
    else:
        body = '{"amount": ' + "9" * depth + "}"
    for path, credential in (("/api/v1/payments", session["session_token"]), ("/api/v1/ai/sessions", key)):
        answer = local_service.call("POST", path, credential, data=body)
        assert answer.status_code < 500, answer.text
        if answer.status_code == 422:
            assert answer.json()["error"]["details"]["fields"], answer.text
    read = exact(local_service.call("GET", f"/api/v1/ai/sessions/{session['id']}", key))
    spent = read["windows"]["day"]["spent"]
    if where == "amount":  # "9" * depth dollars: only $9 (depth 1) is a real payment within the $50 day
        assert spent == (9 if depth == 1 else 0)
    elif where == "metadata":
        assert spent in (0, 1)  # only a shallow, valid metadata payment of $1 may pass
    else:
        assert spent == 0


url_characters = st.sampled_from(list("htps:/[]@%.-_~?#0123456789abcdefABCDEF \t\n\x00\u00e9"))
urls = st.one_of(
    st.text(url_characters, max_size=40).map(lambda text: "http://" + text),
    st.builds(
        lambda host, tail: f"http://{host}/{tail}",
        st.sampled_from(
            ["127.0.0.1", "[::1]", "[::1", "[foo]", "127.0.0.1\x00.evil", "localhost", "[64:ff9b::7f00:1]"]
        ),
        st.text(url_characters, max_size=20),
    ),
)


@drawn
@given(url=urls)
def test_any_url_spelling_is_refused_or_deliverable(local_service: LocalService, url: str) -> None:
    key = local_service.api_keys[0]
    answer = local_service.call("POST", "/api/v1/webhooks", key, data=json.dumps({"url": url}))
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 422:
        assert "url" in answer.json()["error"]["details"]["fields"]
    else:
        assert not any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in url)
        local_service.call("DELETE", f"/api/v1/webhooks/{answer.json()['id']}", key)


def test_a_hanging_endpoint_delays_only_itself(local_service: LocalService) -> None:
    slow_key, fast_key = local_service.api_keys[3], local_service.api_keys[2]
    slow, fast = Receiver(delay_seconds=8), Receiver()
    hooks = [
        (slow_key, local_service.call("POST", "/api/v1/webhooks", slow_key, json={"url": slow.url}).json()["id"]),
        (fast_key, local_service.call("POST", "/api/v1/webhooks", fast_key, json={"url": fast.url}).json()["id"]),
    ]
    try:
        for _ in range(4):
            open_session(local_service, slow_key)
        time.sleep(1)  # B's events are in flight to its hanging endpoint
        started = time.monotonic()
        session = open_session(local_service, fast_key)
        fast.wait_for("agent.session.created", session["id"], seconds=3)
        assert time.monotonic() - started < 3
    finally:
        for key, hook in hooks:
            local_service.call("DELETE", f"/api/v1/webhooks/{hook}", key)
        slow.stop()
        fast.stop()


def test_no_credential_is_refused_before_the_body_is_read(local_service: LocalService) -> None:
    document = local_service.call("GET", "/openapi.json").json()
    hostile = '{"amount": "x", "url": 7, "agent_id": [], "metadata": ' + "[" * 5000 + "]" * 5000 + "}"
    for path, operations in document["paths"].items():
        concrete = (
            path.replace("{session_id}", "sess_" + "a" * 24)
            .replace("{payment_id}", "pay_" + "a" * 24)
            .replace("{webhook_id}", "wh_" + "a" * 24)
        )
        for method in operations:
            answer = local_service.call(method.upper(), concrete, "zfi_test_not-a-real-key-" + "x" * 30, data=hostile)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "UNAUTHENTICATED"
