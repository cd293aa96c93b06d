"""200 concurrent payments against one limit, through the handler, on a serialised moto server.

moto_server with threaded=False handles one request at a time, so any overspend seen here is
ours (a read-then-write in our code), not the emulator's. Each round starts from an empty
table, because moto's TransactWriteItems slows down as the table grows.

Each round draws its limit and every payment's amount with cents (the seed is in the failure
message). What must hold whatever the order the server serves them in: nothing is spent past the
limit, and no payment is declined that the spend left room for (committed only grows, so a
decline means the amount did not fit then and does not fit at the end). CONCURRENCY_ROUNDS sets
the rounds (6 by default; more for a long run).
"""

import functools
import inspect
import itertools
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import MAX_PENDING_APPROVALS, Caller, format_timestamp, utc_now
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest
from agent_sessions_local.instances import Handler
from agent_sessions_local.template import functions, load_template
from tests.conftest import EVENTS_ACCOUNT_ID, TABLE_NAME, load_event, with_body
from tests.support.inprocess_pool import InProcessPool as FunctionPool

pytestmark = pytest.mark.concurrency

ROUNDS = int(os.environ.get("CONCURRENCY_ROUNDS", "6"))
REQUESTS = 200
OWNER = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)


class ClockedPool(FunctionPool):
    """A FunctionPool whose handler instances read the time from `clock` instead of the system."""

    def __init__(self, logical_id: str, clock: Callable[[], datetime]) -> None:
        super().__init__(functions(load_template())[logical_id])
        self._clock = clock

    def _new_instance(self) -> Handler:
        handler = super()._new_instance()
        inspect.unwrap(handler).__globals__["utc_now"] = self._clock
        return handler


def open_session(created_at: datetime, hours: int = 48, **limits: int) -> tuple[str, Caller]:
    """A session made by the service at `created_at`, and the caller its token stands for."""
    request = CreateSessionRequest.model_validate(
        {"agent_id": "burst", "user_wallet": "w", "duration_hours": hours, "limits": limits}
    )
    created = service.create_session(default_store(), OWNER, request, created_at)
    caller = service.authenticate(default_store(), f"Bearer {created.session_token}")
    assert caller is not None
    return created.session_token, caller


@functools.cache
def pool(logical_id: str) -> FunctionPool:
    """One pool per function for the whole run, so handler instances stay warm across rounds."""
    return FunctionPool(functions(load_template())[logical_id])


def timed_invoke(function: str, event: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """`function`'s answer to `event`, with when the call started and ended (monotonic seconds)."""
    started = time.monotonic()
    answer = pool(function).invoke(event)
    return started, time.monotonic(), answer


def authorized_event(token: str, body: dict[str, Any]) -> dict[str, Any]:
    """The create_payment event as API Gateway passes it on after the real authorizer ran."""
    event = with_body(load_event("create_payment"), json.dumps(body))
    event["headers"]["authorization"] = f"Bearer {token}"
    event["headers"].pop("idempotency-key")
    answer = pool("AuthorizerFunction").invoke({**event, "type": "REQUEST"})
    event["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    return event


def burst(pool: FunctionPool, events: list[dict[str, Any]]) -> list[int]:
    """Send every event at once (as many in flight as threads allow); the status codes, in order."""
    with ThreadPoolExecutor(max_workers=50) as executor:
        return [answer["statusCode"] for answer in executor.map(pool.invoke, events)]


def ledger(client: Any) -> list[dict[str, Any]]:
    """Every payment record in the table (declines included)."""
    items = client.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
    return [item for item in items if item["type"]["S"] == "payment"]


def counters(client: Any, session_id: str) -> tuple[dict[str, int], dict[str, int]]:
    item = client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"SESS#{session_id}"}}, ConsistentRead=True)["Item"]
    committed = {key: int(value["N"]) for key, value in item["committed"]["M"].items()}
    held = {key: int(value["N"]) for key, value in item["held"]["M"].items()}
    return committed, held


def assert_counters_match_ledger(client: Any, session_id: str) -> None:
    """The session's counters are exactly the sums over its payment records."""
    committed, held = counters(client, session_id)
    expected_committed: dict[str, int] = {}
    expected_held: dict[str, int] = {}
    for item in ledger(client):
        status = item["status"]["S"]
        if status not in ("authorized", "pending_approval"):
            continue
        for key in [value["S"] for value in item["windows"]["L"]]:
            expected_committed[key] = expected_committed.get(key, 0) + int(item["amount"]["N"])
            if status == "pending_approval":
                expected_held[key] = expected_held.get(key, 0) + int(item["amount"]["N"])
    assert {k: v for k, v in committed.items() if v} == expected_committed
    assert {k: v for k, v in held.items() if v} == expected_held


def straddling_clock(boundary: datetime, calls_before: int) -> Callable[[], datetime]:
    """A clock reading one second before `boundary` for its first `calls_before` calls, then `boundary`."""
    calls = itertools.count()
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            call = next(calls)
        return boundary - timedelta(seconds=1) if call < calls_before else boundary

    return clock


def rounds(count: int = ROUNDS) -> Iterator[tuple[int, random.Random]]:
    """Each round's seed (named in its failure messages) and the generator it seeds."""
    first = random.SystemRandom().randrange(2**32)
    return ((first + number, random.Random(first + number)) for number in range(count))


def drawn_dollars(draw: random.Random, low_cents: int, high_cents: int) -> Decimal:
    return Decimal(draw.randint(low_cents, high_cents)).scaleb(-2)


def events_paying(event: dict[str, Any], amounts: list[Decimal]) -> list[dict[str, Any]]:
    """`event` (already authorized) once per amount, its body paying that amount."""
    return [with_body(event, encode_json({"amount": amount, "merchant_id": "m"})) for amount in amounts]


def spent_and_declined(
    amounts: list[Decimal], statuses: list[int], spent_statuses: tuple[int, ...]
) -> tuple[Decimal, list[Decimal]]:
    """The amount the answers say was spent (or held), and the amounts declined (402)."""
    spent = sum((a for a, status in zip(amounts, statuses, strict=True) if status in spent_statuses), Decimal(0))
    return spent, [a for a, status in zip(amounts, statuses, strict=True) if status == 402]


def assert_spent_up_to_the_limit_and_no_further(
    limit: Decimal, spent: Decimal, declined: list[Decimal], seed: int
) -> None:
    """No overspend, and every declined amount is more than what the spend left."""
    assert spent <= limit, (seed, spent, limit)
    assert all(spent + amount > limit for amount in declined), (seed, spent, limit, min(declined))


def test_two_hundred_payments_with_cents_on_a_drawn_limit_spend_up_to_it_and_not_a_cent_more(
    fresh_table: Callable[[], Any],
) -> None:
    payments = pool("CreatePaymentFunction")
    for seed, draw in rounds():
        client = fresh_table()
        limit = drawn_dollars(draw, 50_00, 150_00)
        token, caller = open_session(utc_now(), max_per_day=limit, max_per_transaction=10)  # type: ignore[arg-type]
        amounts = [drawn_dollars(draw, 1, 2_00) for _ in range(REQUESTS)]
        statuses = burst(payments, events_paying(authorized_event(token, {"amount": 1}), amounts))
        assert set(statuses) <= {201, 402}, (seed, sorted(set(statuses)))
        spent, declined = spent_and_declined(amounts, statuses, (201,))
        assert_spent_up_to_the_limit_and_no_further(limit, spent, declined, seed)
        assert caller.session_id is not None
        committed, _ = counters(client, caller.session_id)
        assert committed["d0"] == committed["w0"] == committed["m0"] == int(spent * 100)
        records = ledger(client)
        assert sum(1 for item in records if item["status"]["S"] == "authorized") == statuses.count(201)
        assert sum(1 for item in records if item["status"]["S"] == "declined") == statuses.count(402)
        assert_counters_match_ledger(client, caller.session_id)


def test_the_same_across_a_day_roll_over(fresh_table: Callable[[], Any]) -> None:
    for seed, draw in rounds():
        client = fresh_table()
        created_at = utc_now() - timedelta(hours=23, minutes=59)
        limit = drawn_dollars(draw, 50_00, 150_00)
        token, caller = open_session(created_at, max_per_day=limit, max_per_transaction=limit)  # type: ignore[arg-type]
        # Day 0 is already used up; its last second and day 1's first straddle the burst.
        spent = payment_service.create_payment(
            default_store(), caller, CreatePaymentRequest.model_validate({"amount": limit}), None, created_at
        )
        assert spent.http_status == 201
        midnight = created_at + timedelta(hours=24)  # the session's day 1 starts
        clocked = ClockedPool("CreatePaymentFunction", straddling_clock(midnight, 60))
        amounts = [drawn_dollars(draw, 1, 2_00) for _ in range(REQUESTS)]
        statuses = burst(clocked, events_paying(authorized_event(token, {"amount": 1}), amounts))
        assert set(statuses) <= {201, 402}, (seed, sorted(set(statuses)))
        spent_today, _ = spent_and_declined(amounts, statuses, (201,))
        # Those that read the clock before midnight were declined by the used-up day 0, rightly.
        declined_today = [
            Decimal(item["amount"]["N"]).scaleb(-2)
            for item in ledger(client)
            if item["status"]["S"] == "declined" and item["created_at"]["S"] == format_timestamp(midnight)
        ]
        assert_spent_up_to_the_limit_and_no_further(limit, spent_today, declined_today, seed)
        assert caller.session_id is not None
        committed, _ = counters(client, caller.session_id)
        assert committed["d0"] == int(limit * 100)  # nothing more in the used-up day
        assert committed["d1"] == int(spent_today * 100)  # up to the limit in the new one
        assert committed["w0"] == committed["m0"] == int((limit + spent_today) * 100)
        assert_counters_match_ledger(client, caller.session_id)


def test_the_same_with_payments_awaiting_approval_in_the_mix(fresh_table: Callable[[], Any]) -> None:
    payments = pool("CreatePaymentFunction")
    for seed, draw in rounds():
        client = fresh_table()
        limit = drawn_dollars(draw, 50_00, 150_00)
        above = drawn_dollars(draw, 50, 1_50)
        token, caller = open_session(utc_now(), max_per_day=limit, require_approval_above=above)  # type: ignore[arg-type]
        amounts = [drawn_dollars(draw, 1, 2_00) for _ in range(REQUESTS)]
        statuses = burst(payments, events_paying(authorized_event(token, {"amount": 1}), amounts))
        assert set(statuses) <= {201, 202, 402, 429}, (seed, sorted(set(statuses)))
        # 429: no room for one more hold (at most MAX_PENDING_APPROVALS wait), retry later; not a decline.
        assert 429 not in statuses or statuses.count(202) == MAX_PENDING_APPROVALS, (seed, statuses.count(202))
        committed_dollars, declined = spent_and_declined(amounts, statuses, (201, 202))
        assert_spent_up_to_the_limit_and_no_further(limit, committed_dollars, declined, seed)
        held_dollars = sum((a for a, status in zip(amounts, statuses, strict=True) if status == 202), Decimal(0))
        assert all(a > above for a, status in zip(amounts, statuses, strict=True) if status == 202), seed
        assert caller.session_id is not None
        committed, held = counters(client, caller.session_id)
        assert committed["d0"] == int(committed_dollars * 100)  # spent + held
        assert held.get("d0", 0) == int(held_dollars * 100)
        assert_counters_match_ledger(client, caller.session_id)
