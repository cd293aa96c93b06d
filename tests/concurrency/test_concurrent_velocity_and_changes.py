"""Velocity limits and PATCH under bursts, through the handlers, on a serialised moto server.

As in test_concurrent_payments: one request at a time on the server, so any count or amount
past a limit would be ours (a read-then-write), not the emulator's.
"""

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreateSessionRequest
from tests.concurrency.test_concurrent_payments import (
    ClockedPool,
    assert_counters_match_ledger,
    authorized_event,
    burst,
    counters,
    ledger,
    open_session,
    pool,
)
from tests.conftest import EVENTS_ACCOUNT_ID, TABLE_NAME, load_event, with_body, with_caller, with_session_id

pytestmark = pytest.mark.concurrency

ROUNDS = int(os.environ.get("VELOCITY_ROUNDS", "3"))
REQUESTS = 200


def test_two_hundred_payments_against_ten_a_minute_authorize_exactly_ten(fresh_table: Callable[[], Any]) -> None:
    for _ in range(ROUNDS):
        client = fresh_table()
        created_at = utc_now()
        request = CreateSessionRequest.model_validate(
            {"agent_id": "burst", "user_wallet": "w", "rate_limits": {"payments": {"per_minute": 10}}}
        )
        owner = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)
        created = service.create_session(default_store(), owner, request, created_at)
        token, session_id = created.session_token, created.session.id
        half_a_minute_in = created_at + timedelta(seconds=30)
        in_one_minute = ClockedPool("CreatePaymentFunction", lambda moment=half_a_minute_in: moment)
        pay = with_body(authorized_event(token, {}), '{"amount": 1.25}')  # cents, exact in the JSON text
        statuses = burst(in_one_minute, [pay] * REQUESTS)
        assert statuses.count(201) == 10
        assert statuses.count(429) == REQUESTS - 10
        item = client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"SESS#{session_id}"}})["Item"]
        assert item["payment_counts"]["M"] == {"n0": {"N": "10"}}
        committed, _ = counters(client, session_id)
        assert committed["d0"] == 10 * 125
        assert len(ledger(client)) == 10  # a velocity refusal is "retry later": not in the ledger
        assert_counters_match_ledger(client, session_id)


def test_a_patch_lowering_the_day_racing_a_hundred_payments_binds_every_payment_after_it(
    fresh_table: Callable[[], Any],
) -> None:
    payments = pool("CreatePaymentFunction")
    updates = pool("UpdateSessionFunction")
    for round_number in range(ROUNDS):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=100, max_per_transaction=100)
        assert caller.session_id is not None
        lower = '{"limits": {"max_per_day": 40}}'
        patch = with_body(with_session_id(load_event("update_session"), caller.session_id), lower)
        patch = with_caller(patch, {"credential": "api_key", "account_id": EVENTS_ACCOUNT_ID})
        patch["headers"]["if-match"] = "0"
        pay = authorized_event(token, {"amount": 1})  # its context carries the terms before the PATCH
        position = 10 + 20 * round_number  # the PATCH lands early, or later, in the burst
        with ThreadPoolExecutor(max_workers=50) as executor:
            answers = list(
                executor.map(
                    lambda event, patch=patch: (updates if event is patch else payments).invoke(event),
                    [pay] * position + [patch] + [pay] * (100 - position),
                )
            )
        patched = answers[position]
        assert patched["statusCode"] == 200, patched["body"]
        at_patch = json.loads(patched["body"], parse_float=Decimal)["windows"]["day"]
        committed_at_patch = at_patch["spent"] + at_patch["held"]
        committed, _ = counters(client, caller.session_id)
        total = Decimal(committed["d0"]) / 100
        statuses = [answer["statusCode"] for answer in answers[:position] + answers[position + 1 :]]
        assert statuses.count(201) == total
        assert set(statuses) <= {201, 402, 429}
        assert committed_at_patch <= 100  # before the PATCH: the old limit
        if total > committed_at_patch:  # a payment committed after it: the new limit held it
            assert total <= 40
        assert_counters_match_ledger(client, caller.session_id)
