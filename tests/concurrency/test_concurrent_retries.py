"""Retries that overlap their original: the same Idempotency-Key sent many times at once, through the handlers.

The ZendFi SDK retries a POST with the same key when an answer is slow or lost, so a retry can
arrive while the first attempt is still in flight. However they interleave, one key makes one
object and debits once, and every attempt with the same body gets the same answer.
"""

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.domain.records import utc_now
from tests.concurrency.test_concurrent_payments import (
    ROUNDS,
    assert_counters_match_ledger,
    authorized_event,
    counters,
    ledger,
    open_session,
    pool,
)
from tests.conftest import TABLE_NAME, load_event, with_body

pytestmark = pytest.mark.concurrency

ATTEMPTS = 24


def at_once(function: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as executor:
        return list(executor.map(pool(function).invoke, events))


def test_one_key_sent_many_times_at_once_pays_once_with_one_answer(fresh_table: Callable[[], Any]) -> None:
    draw = random.Random(24)
    for round_number in range(max(2, ROUNDS // 5)):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=100, require_approval_above=Decimal(50))  # type: ignore[arg-type]
        assert caller.session_id is not None
        amount = Decimal(draw.randint(1, 9000)) / 100  # held above $50, authorized below
        event = with_body(
            authorized_event(token, {}), f'{{"amount": {amount}, "merchant_id": "m", "description": "retried"}}'
        )
        event["headers"]["idempotency-key"] = f"retry-{round_number}"
        other = with_body(event, f'{{"amount": {amount + 1}}}')  # the same key, another payment
        events = [event] * ATTEMPTS + [other] * 4
        draw.shuffle(events)
        answers = at_once("CreatePaymentFunction", events)

        same = [answer for sent, answer in zip(events, answers, strict=True) if sent is event]
        assert {answer["statusCode"] for answer in same} == {202 if amount > 50 else 201}, same[0]["body"][:300]
        assert len({answer["body"] for answer in same}) == 1  # byte for byte the first answer
        reused = [answer for sent, answer in zip(events, answers, strict=True) if sent is other]
        assert all(answer["statusCode"] == 422 for answer in reused), reused[0]["body"][:300]
        assert {json.loads(answer["body"])["error"]["code"] for answer in reused} == {"IDEMPOTENCY_KEY_REUSED"}

        payments = [item for item in ledger(client) if item["status"]["S"] != "declined"]
        assert len(payments) == 1
        assert payments[0]["id"]["S"] == json.loads(same[0]["body"])["id"]
        committed, _ = counters(client, caller.session_id)
        assert committed["d0"] == int(amount * 100)
        assert_counters_match_ledger(client, caller.session_id)


def test_one_key_creating_a_session_many_times_at_once_makes_one_session(fresh_table: Callable[[], Any]) -> None:
    for round_number in range(max(2, ROUNDS // 5)):
        client = fresh_table()
        event = load_event("create_session")
        event["headers"]["idempotency-key"] = f"session-retry-{round_number}"
        answers = at_once("CreateSessionFunction", [event] * ATTEMPTS)
        assert {answer["statusCode"] for answer in answers} == {201}, answers[0]["body"][:300]
        assert len({json.loads(answer["body"])["id"] for answer in answers}) == 1
        assert len({json.loads(answer["body"])["session_token"] for answer in answers}) == 1
        sessions = client.scan(
            TableName=TABLE_NAME,
            FilterExpression="#type = :session",
            ExpressionAttributeNames={"#type": "type"},
            ExpressionAttributeValues={":session": {"S": "session"}},
        )["Items"]
        assert len(sessions) == 1
