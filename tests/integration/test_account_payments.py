"""GET /api/v1/payments: an account's payments across sessions and agents, newest first, filtered and paged."""

import json
from datetime import timedelta
from typing import Any

from agent_sessions.domain.records import utc_now
from tests.conftest import Invoke, load_event, with_caller
from tests.integration.test_payment_handlers import open_session, pay

OTHER_ACCOUNT = {"credential": "api_key", "account_id": "acct_someoneelse000000000000"}


def listing(invoke: Invoke, caller: dict[str, Any] | None = None, **query: str) -> dict[str, Any]:
    event = load_event("list_payments")
    event["queryStringParameters"] = query or None
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in query.items())
    if caller is not None:
        event = with_caller(event, caller)
    answer = invoke("list_payments", event)
    assert answer["statusCode"] == 200, answer["body"]
    return dict(json.loads(answer["body"]))


def test_every_session_and_agent_newest_first_with_filters_and_pages(invoke: Invoke) -> None:
    shop = open_session(invoke, agent_id="shop-bot")
    travel = open_session(invoke, agent_id="travel-bot")
    made = []
    for session, amount in ((shop, 5), (travel, 7), (shop, 30), (travel, 9), (shop, 60)):  # 30: held; 60: declined
        answer = pay(invoke, session, amount)
        if answer["statusCode"] in (201, 202):
            made.append(answer["json"]["id"])
    everything = listing(invoke)
    assert [p["id"] for p in everything["payments"]] == list(reversed(made))  # declines are never listed
    assert {p["agent_id"] for p in everything["payments"]} == {"shop-bot", "travel-bot"}

    assert [p["amount"] for p in listing(invoke, agent_id="travel-bot")["payments"]] == [9, 7]
    assert [p["amount"] for p in listing(invoke, session_id=shop["id"])["payments"]] == [30, 5]
    assert [p["amount"] for p in listing(invoke, status="pending_approval")["payments"]] == [30]
    today = utc_now().date()
    assert len(listing(invoke, **{"from": today.isoformat(), "to": today.isoformat()})["payments"]) == 4
    yesterday = (today - timedelta(days=1)).isoformat()
    assert listing(invoke, **{"from": yesterday, "to": yesterday})["payments"] == []

    seen, cursor = [], None
    while True:
        page = listing(invoke, limit="3", **({"cursor": cursor} if cursor else {}))
        seen += [p["id"] for p in page["payments"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    assert listing(invoke, caller=OTHER_ACCOUNT)["payments"] == []  # another account sees none of them


def test_a_backwards_range_a_bad_day_and_a_token_are_refused(invoke: Invoke) -> None:
    for query in ({"from": "2026-11-24", "to": "2026-11-01"}, {"from": "2026-02-30"}, {"status": "declined"}):
        event = load_event("list_payments")
        event["queryStringParameters"] = query
        assert invoke("list_payments", event)["statusCode"] == 422
    session = open_session(invoke)
    token = {"credential": "session_token", "account_id": "acct_eventsexampleaccount0000", "session_id": session["id"]}
    answer = invoke("list_payments", with_caller(load_event("list_payments"), token))
    assert (answer["statusCode"], answer["json"]["error"]["code"]) == (403, "FORBIDDEN")
