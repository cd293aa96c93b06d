"""limit_warning and resumed, end to end through the handlers on moto, with a clock the test controls.

The payment service and the sweep handler read the test's clock; the table's stream feeds the
publish_events handler (which records warnings and schedules resumptions, then publishes), and
its events land on the bus, observed through a queue.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.records import Caller, SessionRecord, utc_now
from agent_sessions.domain.window_alerts import alerts_for, resume_decision, warning_threshold_cents
from agent_sessions.logic import payments as payment_service
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest
from tests.conftest import TABLE_NAME, Invoke, load_event, load_handler_module
from tests.integration.test_publish_events import OWNER, received
from tests.support.streams import as_lambda_event, stream_records


class Pipeline:
    """Pays at the test's clock, pumps the stream through publish_events, runs the sweep at the test's clock."""

    def __init__(self, invoke: Invoke, dynamodb: Any, store: Any, bus: tuple[Any, str]) -> None:
        self.invoke, self.dynamodb, self.store, self.bus = invoke, dynamodb, store, bus
        self.pumped = 0
        self.events: list[dict[str, Any]] = []

    def pump(self) -> None:
        """Publish every stream record not yet published (again and again: follow-ups are writes too)."""
        while True:
            records = stream_records(self.dynamodb, TABLE_NAME)[self.pumped :]
            if not records:
                break
            answer = self.invoke("publish_events", as_lambda_event(records, TABLE_NAME))
            assert answer == {"batchItemFailures": []}
            self.pumped += len(records)
        self.events += received(*self.bus)

    def redeliver_everything(self) -> None:
        """The whole stream once more, as Lambda would after a retry: nothing new may be recorded."""
        self.invoke("publish_events", as_lambda_event(stream_records(self.dynamodb, TABLE_NAME), TABLE_NAME))
        self.pumped = len(stream_records(self.dynamodb, TABLE_NAME))
        self.events += received(*self.bus)

    def sweep(self, now: datetime, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        module = load_handler_module("expire_sessions")
        monkeypatch.setattr(module, "utc_now", lambda: now)
        return dict(self.invoke("expire_sessions", load_event("expire_sessions")))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["event"] == name]


def open_session(store: Any, created_at: datetime, **fields: Any) -> tuple[str, Caller]:
    request = CreateSessionRequest.model_validate(
        {"agent_id": "alerts", "user_wallet": "w", "duration_hours": 72, **fields}
    )
    created = service.create_session(store, OWNER, request, created_at)
    agent = service.authenticate(store, f"Bearer {created.session_token}")
    assert agent is not None
    return created.session.id, agent


def pay(store: Any, agent: Caller, cents: int, now: datetime) -> bool:
    body = CreatePaymentRequest.model_validate({"amount": 1}).model_copy(update={"amount": cents})
    try:
        payment_service.create_payment(store, agent, body, None, now)
    except DomainError:
        return False
    return True


def test_one_warning_per_window_one_resumption_per_reset(
    invoke: Invoke, dynamodb: Any, session_store: Any, bus_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = Pipeline(invoke, dynamodb, session_store, bus_queue)
    # Day 0 ends a minute from now, so the events' own view of the windows agrees with the clock.
    created_at = utc_now() - timedelta(hours=23, minutes=59)
    now = created_at + timedelta(hours=23, minutes=58)
    session_id, agent = open_session(
        session_store,
        created_at,
        limits={"max_per_day": 100, "max_per_transaction": 100, "require_approval_above": 100},
    )
    for cents in (50_00, 29_99):  # 79.99 %: no warning yet
        assert pay(session_store, agent, cents, now)
    pipeline.pump()
    assert pipeline.named("agent.session.limit_warning") == []
    assert pay(session_store, agent, 1, now)  # exactly 80 %
    assert pay(session_store, agent, 10_00, now)  # past it: still one warning
    pipeline.pump()
    (warning,) = pipeline.named("agent.session.limit_warning")
    assert warning["data"]["id"] == session_id
    assert warning["data"]["limit_warning"]["window"] == "day"
    assert warning["data"]["limit_warning"]["threshold_percent"] == 80
    assert warning["data"]["limit_warning"]["committed"] >= 80  # as the warning's own write saw it
    assert pay(session_store, agent, 10_00, now)  # fills the day: paused
    assert not pay(session_store, agent, 1, now)
    pipeline.pump()
    assert len(pipeline.named("agent.session.limit_reached")) == 1
    assert len(pipeline.named("agent.session.limit_warning")) == 1

    before_reset = pipeline.sweep(created_at + timedelta(hours=23, minutes=59, seconds=59), monkeypatch)
    assert before_reset["sessions_resumed"] == 0
    after_reset = pipeline.sweep(created_at + timedelta(hours=24, seconds=20), monkeypatch)
    assert after_reset["sessions_resumed"] == 1
    assert pipeline.sweep(created_at + timedelta(hours=24, seconds=80), monkeypatch)["sessions_resumed"] == 0
    pipeline.pump()
    (resumed,) = pipeline.named("agent.session.resumed")
    assert resumed["data"]["resumed"]["window"] == "day"
    assert resumed["data"]["resumed"]["resets_at"] == f"{created_at + timedelta(hours=24):%Y-%m-%dT%H:%M:%SZ}"

    # A redelivered stream records nothing new: still one of each.
    pipeline.redeliver_everything()
    for name in ("agent.session.limit_warning", "agent.session.resumed", "agent.session.limit_reached"):
        assert len({event["id"] for event in pipeline.named(name)}) == 1

    # Day 1 is a new window: its own warning, once.
    day_one = created_at + timedelta(hours=24, minutes=2)
    for _ in range(3):
        assert pay(session_store, agent, 30_00, day_one)
    pipeline.pump()
    warnings = pipeline.named("agent.session.limit_warning")
    assert len({event["id"] for event in warnings}) == 2
    assert (
        warnings[-1]["data"]["limit_warning"]["resets_at"] == f"{created_at + timedelta(hours=48):%Y-%m-%dT%H:%M:%SZ}"
    )


def test_a_session_still_paused_by_its_week_is_not_resumed_when_its_day_resets(
    invoke: Invoke, dynamodb: Any, session_store: Any, bus_queue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week is as long as the longest session, so a used-up week keeps it paused to the end: no resumed."""
    pipeline = Pipeline(invoke, dynamodb, session_store, bus_queue)
    created_at = utc_now() - timedelta(hours=23, minutes=59)
    limits = {"max_per_day": 100, "max_per_week": 100, "max_per_transaction": 100, "require_approval_above": 100}
    _, agent = open_session(session_store, created_at, limits=limits, duration_hours=168)
    assert pay(session_store, agent, 100_00, created_at + timedelta(hours=23))
    pipeline.pump()
    assert len(pipeline.named("agent.session.limit_reached")) == 2  # the day and the week
    tasks = resume_tasks(dynamodb)
    assert len(tasks) == 2
    assert pipeline.sweep(created_at + timedelta(hours=24, seconds=30), monkeypatch)["sessions_resumed"] == 0
    assert pipeline.sweep(created_at + timedelta(days=7, seconds=30), monkeypatch)["sessions_resumed"] == 0
    pipeline.pump()
    assert pipeline.named("agent.session.resumed") == []
    assert resume_tasks(dynamodb) == []  # dropped once the session ended


def resume_tasks(dynamodb: Any) -> list[str]:
    items = dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
    return sorted(item["pk"]["S"] for item in items if item["pk"]["S"].startswith("RESUME#"))


# ---- the rules, as pure functions ----------------------------------------------------------------

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=utc_now().tzinfo)


def a_session(limit_cents: int, percent: int, committed: int) -> SessionRecord:
    return SessionRecord(
        id="sess_" + "a" * 24,
        account_id="acct",
        agent_id="a",
        agent_name=None,
        user_wallet="w",
        limits_cents={
            "max_per_transaction": limit_cents,
            "max_per_day": limit_cents,
            "max_per_week": 10 * limit_cents,
            "max_per_month": 100 * limit_cents,
            "require_approval_above": limit_cents,
        },
        allowed_merchants=None,
        stored_status="active",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=168),
        token_hash="x",
        committed_cents={"d0": committed, "w0": committed, "m0": committed},
        warn_at_percent=percent,
    )


@given(
    limit=st.integers(min_value=1, max_value=10**9),
    percent=st.integers(min_value=1, max_value=100),
    steps=st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=30),
)
def test_a_window_filled_in_any_steps_calls_for_one_warning_and_one_resumption(
    limit: int, percent: int, steps: list[int]
) -> None:
    session = a_session(limit, percent, 0)
    alerts = []
    for step in steps:
        committed = min(limit, session.committed_cents["d0"] + step)
        after = session.with_changes(committed_cents={"d0": committed, "w0": committed, "m0": committed})
        alerts += [alert for alert in alerts_for(session, after) if alert.counter_key == "d0"]
        warned = any(alert.kind == "warn" for alert in alerts)
        after = after.with_changes(warned={"d0": 1} if warned else {})
        session = after
    committed = session.committed_cents["d0"]
    warns = [alert for alert in alerts if alert.kind == "warn"]
    resumes = [alert for alert in alerts if alert.kind == "schedule_resume"]
    assert len(warns) == (1 if committed >= warning_threshold_cents(session, limit) else 0)
    assert len(resumes) == (1 if committed >= limit else 0)
    assert all(alert.due_at == NOW + timedelta(hours=24) for alert in resumes)


@pytest.mark.parametrize(
    ("moment", "stored_status", "already", "expected"),
    [
        (NOW + timedelta(hours=23), "active", False, NOW + timedelta(hours=24)),  # not yet reset: wait
        (NOW + timedelta(hours=24), "active", False, "resume"),
        (NOW + timedelta(hours=24), "active", True, "drop"),  # resumed already
        (NOW + timedelta(hours=24), "revoked", False, "drop"),
    ],
)
def test_the_sweep_resumes_a_window_once_it_reset(
    moment: datetime, stored_status: str, already: bool, expected: Callable[[], Any] | str | datetime
) -> None:
    session = a_session(100_00, 80, 100_00).with_changes(
        stored_status=stored_status, resumed={"d0": 1} if already else {}
    )
    assert resume_decision(session, "d0", moment) == expected
