"""Agent analytics: counters kept from the stream, read through the handler, exact under replays and kills."""

import json
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from agent_sessions.domain.records import utc_now
from agent_sessions.logic import analytics, payment_decisions
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from tests.conftest import EVENTS_ACCOUNT_ID, TABLE_NAME, Invoke, load_event, with_caller
from tests.integration.test_publish_events import OWNER
from tests.integration.test_window_alerts import open_session, pay
from tests.support.streams import stream_records


def a_story(session_store: Any) -> list[str]:
    """Two agents: payments authorized, held then approved or rejected, declined; one session revoked."""
    now = utc_now()
    limits = {"max_per_day": 200, "max_per_transaction": 60, "require_approval_above": 30}
    first, agent = open_session(session_store, now, limits=limits)
    for cents in (10_00, 20_50, 45_00, 50_00, 61_00):  # 2 authorized, 2 held, 1 declined (over 60)
        pay(session_store, agent, cents, now)
    held = [p for p in session_store.list_payments(first, 10, None).items if p.stored_status == "pending_approval"]
    payment_decisions.approve_payment(session_store, OWNER, held[0].id, now)  # 50 approved
    payment_decisions.reject_payment(session_store, OWNER, held[1].id, now)  # 45 rejected
    request = {"agent_id": "other-bot", "user_wallet": "w", "duration_hours": 72}
    from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest

    created = service.create_session(session_store, OWNER, CreateSessionRequest.model_validate(request), now)
    other = service.authenticate(session_store, f"Bearer {created.session_token}")
    assert other is not None
    payment_service.create_payment(
        session_store, other, CreatePaymentRequest.model_validate({"amount": Decimal("7.25")}), None, now
    )
    service.revoke_session(session_store, OWNER, first, now)
    return [first, created.session.id]


def changes_of(dynamodb: Any) -> list[Any]:
    handler = __import__("tests.conftest", fromlist=["load_handler_module"]).load_handler_module("publish_events")
    return [handler.change_of(record) for record in _lambda_records(dynamodb)]


def _lambda_records(dynamodb: Any) -> list[dict[str, Any]]:
    from tests.support.streams import as_lambda_event

    return list(as_lambda_event(stream_records(dynamodb, TABLE_NAME), TABLE_NAME)["Records"])


def read(invoke: Invoke, **query: str) -> dict[str, Any]:
    event = load_event("get_analytics")
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
    answer = invoke("get_analytics", event)
    assert answer["statusCode"] == 200, answer["body"]
    return dict(json.loads(answer["body"]))


EXPECTED = {
    "total_payments": 4,  # 10.00, 20.50, 50.00 (approved), 7.25
    "total_volume_usd": 87.75,
    "average_payment_usd": 21.93,
    "success_rate": 0.6667,  # 4 of 6 decided: 45.00 rejected, 61.00 declined
    "active_sessions": 1,
    "active_delegates": 1,
    "ppp_savings_usd": 0,
    "payments_by_token": {"USD": 87.75},
}


def test_the_story_counts_each_decision_once_even_replayed_and_killed(
    invoke: Invoke, dynamodb: Any, session_store: Any
) -> None:
    a_story(session_store)
    changes = changes_of(dynamodb)
    payments = session_store.get_payments([c.new.last_payment_change.payment_id for c in changes
                                           if getattr(c.new, "last_payment_change", None)])  # fmt: skip
    rng = random.Random(7)
    for _ in range(5):  # killed after a random number of changes, then the batch delivered again
        analytics.tally(session_store, changes[: rng.randrange(len(changes))], payments.get)
    analytics.tally(session_store, changes, payments.get)
    analytics.tally(session_store, changes, payments.get)  # a whole replay
    body = read(invoke)
    assert {name: body[name] for name in EXPECTED} == EXPECTED
    today = utc_now().date().isoformat()
    assert body["payments_by_day"][-1] == {"date": today, "count": 4, "volume_usd": 87.75}
    assert len(body["payments_by_day"]) == 30


def test_one_agents_view_and_a_date_range(invoke: Invoke, dynamodb: Any, session_store: Any, bus_queue: Any) -> None:
    a_story(session_store)
    batch = {"Records": _lambda_records(dynamodb)}
    assert invoke("publish_events", batch) == {"batchItemFailures": []}
    other = read(invoke, agent_id="other-bot")
    assert (other["total_payments"], other["total_volume_usd"], other["success_rate"]) == (1, 7.25, 1.0)
    assert (other["active_sessions"], other["active_delegates"]) == (1, 1)
    today = utc_now().date()
    week = read(invoke, **{"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()})
    assert len(week["payments_by_day"]) == 7
    assert week["total_payments"] == 4
    yesterday = (today - timedelta(days=1)).isoformat()
    assert read(invoke, **{"from": yesterday, "to": yesterday})["total_payments"] == 0


def test_a_range_too_long_or_backwards_is_422_and_a_token_is_403(invoke: Invoke, session_store: Any) -> None:
    for query in ({"from": "2026-01-01", "to": "2026-11-24"}, {"from": "2026-11-24", "to": "2026-11-01"}):
        event = load_event("get_analytics")
        event["queryStringParameters"] = query
        answer = invoke("get_analytics", event)
        assert answer["statusCode"] == 422
    session_id, _ = open_session(session_store, utc_now())
    token_caller = {"credential": "session_token", "account_id": EVENTS_ACCOUNT_ID, "session_id": session_id}
    answer = invoke("get_analytics", with_caller(load_event("get_analytics"), token_caller))
    assert (answer["statusCode"], answer["json"]["error"]["code"]) == (403, "FORBIDDEN")
