"""A revoke racing payments and approvals on the same session, through the handlers.

"Revoked at once" means: once the revoke has answered, nothing more is spent. Payments and
approvals in flight with it may land before it or be refused, but none that starts after its answer
may succeed, and the session's counters equal the sums over its payment records whatever won.
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
from agent_sessions.wire.models import CreatePaymentRequest
from tests.concurrency.test_concurrent_payments import (
    ROUNDS,
    assert_counters_match_ledger,
    authorized_event,
    ledger,
    open_session,
    pool,
    timed_invoke,
)
from tests.conftest import load_event, with_payment_id, with_session_id

pytestmark = pytest.mark.concurrency

Call = tuple[str, str | None, dict[str, Any]]


def test_nothing_starting_after_the_revokes_answer_is_spent(fresh_table: Callable[[], Any]) -> None:
    draw = random.Random(11_26)
    for _ in range(max(2, ROUNDS // 5)):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=100, require_approval_above=Decimal("1.5"))  # type: ignore[arg-type]
        assert caller.session_id is not None
        held = []
        for _ in range(4):
            request = CreatePaymentRequest.model_validate({"amount": Decimal(draw.randint(151, 900)) / 100})
            held.append(payment_service.create_payment(default_store(), caller, request, None, utc_now()))
        calls: list[Call] = [("CreatePaymentFunction", "pay", authorized_event(token, {"amount": 1}))] * 60
        calls += [
            (
                "ApprovePaymentFunction",
                "approve",
                with_payment_id(load_event("approve_payment"), created.answer.payment.id),
            )
            for created in held
        ]
        draw.shuffle(calls)
        revoke: Call = (
            "RevokeSessionFunction",
            "revoke",
            with_session_id(load_event("revoke_session"), caller.session_id),
        )
        calls.insert(len(calls) // 3, revoke)  # a third of the burst is sent before it
        with ThreadPoolExecutor(max_workers=24) as executor:
            results = list(executor.map(lambda call: timed_invoke(call[0], call[2]), calls))

        revoked = [result for call, result in zip(calls, results, strict=True) if call[1] == "revoke"]
        assert [answer["statusCode"] for _, _, answer in revoked] == [200]
        revoke_answered = revoked[0][1]
        for (_, kind, _), (started, _, answer) in zip(calls, results, strict=True):
            if kind == "revoke":
                continue
            status = answer["statusCode"]
            assert status < 500, answer["body"][:300]
            if started > revoke_answered:  # sent after the revoke answered: refused
                assert status in (403, 409), (kind, status, answer["body"][:200])
            if kind == "pay" and status != 201:
                assert json.loads(answer["body"])["error"]["code"] == "SESSION_REVOKED"
        # After the burst: nothing pays, nothing is approved.
        assert pool("CreatePaymentFunction").invoke(authorized_event(token, {"amount": 1}))["statusCode"] in (401, 403)
        for created in held:
            late = pool("ApprovePaymentFunction").invoke(
                with_payment_id(load_event("approve_payment"), created.answer.payment.id)
            )
            assert late["statusCode"] == 409
        authorized = sum(
            1 for item in ledger(client) if item["status"]["S"] == "authorized" and item["amount"]["N"] == "100"
        )
        paid = sum(1 for (_, kind, _), (_, _, answer) in zip(calls, results, strict=True)
                   if kind == "pay" and answer["statusCode"] == 201)  # fmt: skip
        assert authorized == paid
        assert_counters_match_ledger(client, caller.session_id)
