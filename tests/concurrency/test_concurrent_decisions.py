"""Approvals and rejections of the same payments racing each other and new payments, through the handlers.

Each held payment gets approved and rejected several times at once while small payments keep
moving the session on, and the outbox's settlements of decisions already made race them all.
Exactly one decision per payment may win, every other answer is a 409 naming the winner's
status, and the session's counters must equal the sums over its payment records as stored (a
decision not yet settled still pending there) and again once the last ones are settled.
"""

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import settlement
from agent_sessions.logic.outbox import Change
from agent_sessions.wire.models import CreatePaymentRequest
from tests.concurrency.test_concurrent_payments import (
    ROUNDS,
    assert_counters_match_ledger,
    authorized_event,
    counters,
    ledger,
    open_session,
    pool,
)
from tests.conftest import load_event, with_payment_id

pytestmark = pytest.mark.concurrency

HELD = 8  # payments awaiting approval per round
TRIES = 4  # approvals and as many rejections of each, all at once
SMALL = 40  # one-dollar payments in the same burst


SETTLE = "settle"  # the outbox settling decisions made by one write to the session
SETTLEMENTS = 6


def settle(session_id: str) -> dict[str, Any]:
    """Settle what the session shows decided, as the outbox does with its stream record."""
    session = default_store().get_session(session_id)
    assert session is not None
    settled = settlement.settle_decisions(default_store(), [Change(change_id="c", old=None, new=session, at=utc_now())])
    return {"settled": settled}


def run(call: tuple[str, str | None, dict[str, Any]], session_id: str) -> dict[str, Any]:
    function, _, event = call
    return settle(session_id) if function == SETTLE else pool(function).invoke(event)


def test_each_held_payment_is_decided_once_and_the_counters_match_the_ledger(
    fresh_table: Callable[[], Any],
) -> None:
    draw = random.Random(20261126)
    for _ in range(max(4, ROUNDS // 5)):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=100, require_approval_above=Decimal("1.5"))  # type: ignore[arg-type]
        assert caller.session_id is not None
        held = {}
        for _ in range(HELD):
            amount = Decimal(draw.randint(151, 500)) / 100  # cents drawn: $1.51 to $5.00
            created = payment_service.create_payment(
                default_store(), caller, CreatePaymentRequest.model_validate({"amount": amount}), None, utc_now()
            )
            assert created.http_status == 202
            held[created.answer.payment.id] = amount
        calls: list[tuple[str, str | None, dict[str, Any]]] = []
        for payment_id in held:
            for function, decision in (("ApprovePaymentFunction", "approve"), ("RejectPaymentFunction", "reject")):
                event = with_payment_id(load_event(f"{decision}_payment"), payment_id)
                calls += [(function, payment_id, event)] * TRIES
        calls += [("CreatePaymentFunction", None, authorized_event(token, {"amount": 1}))] * SMALL
        calls += [(SETTLE, None, {})] * SETTLEMENTS
        draw.shuffle(calls)
        with ThreadPoolExecutor(max_workers=40) as executor:
            answers = list(executor.map(run, calls, [caller.session_id] * len(calls)))
        assert_counters_match_ledger(client, caller.session_id)  # as stored: a decision not settled is pending
        settle(caller.session_id)  # what the outbox does with the last decisions' stream records

        winners: dict[str, str] = {}
        for (function, payment_id, _), answer in zip(calls, answers, strict=True):
            if function == SETTLE:
                continue
            body = json.loads(answer["body"], parse_float=Decimal)
            if payment_id is None:
                assert answer["statusCode"] in (201, 402), body
                continue
            if answer["statusCode"] == 200:
                assert payment_id not in winners, f"{payment_id} decided twice"
                winners[payment_id] = body["status"]
                assert body["status"] == ("authorized" if function == "ApprovePaymentFunction" else "rejected")
                assert min(body["remaining_today"], body["remaining_this_week"]) >= 0
            else:
                assert answer["statusCode"] == 409, body
                assert body["error"]["code"] == "INVALID_STATE"
        assert set(winners) == set(held)  # every payment decided, once

        for (_, payment_id, _), answer in zip(calls, answers, strict=True):
            if payment_id is not None and answer["statusCode"] == 409:  # a loser names the winner's decision
                assert json.loads(answer["body"])["error"]["details"]["status"] == winners[payment_id]
        statuses = {item["id"]["S"]: item["status"]["S"] for item in ledger(client)}
        assert {payment_id: statuses[payment_id] for payment_id in held} == winners
        committed, held_cents = counters(client, caller.session_id)
        assert not any(held_cents.values())  # no hold survives its decision
        small = sum(1 for (function, payment_id, _), answer in zip(calls, answers, strict=True)
                    if function == "CreatePaymentFunction" and answer["statusCode"] == 201)  # fmt: skip
        approved = sum(amount for payment_id, amount in held.items() if winners[payment_id] == "authorized")
        assert committed["d0"] == small * 100 + int(approved * 100) <= 100_00
        assert_counters_match_ledger(client, caller.session_id)


def test_eighty_held_payments_at_once_hold_exactly_fifty(fresh_table: Callable[[], Any]) -> None:
    """At most 50 payments may await approval in one session: the 51st is refused however they race."""
    for _ in range(2):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=10_000, require_approval_above=1)
        assert caller.session_id is not None
        with ThreadPoolExecutor(max_workers=40) as executor:
            sent = [authorized_event(token, {"amount": 2})] * 80
            answers = [answer["statusCode"] for answer in executor.map(pool("CreatePaymentFunction").invoke, sent)]
        assert answers.count(202) == 50, answers
        assert answers.count(429) == 30, answers
        committed, held_cents = counters(client, caller.session_id)
        assert held_cents["d0"] == committed["d0"] == 50 * 200
        assert sum(1 for item in ledger(client) if item["status"]["S"] == "pending_approval") == 50
        assert_counters_match_ledger(client, caller.session_id)
