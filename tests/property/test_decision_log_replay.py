"""After any drawn workload, the session's exported decision log verifies and its replay equals the stored counters."""

from contextlib import suppress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.records import utc_now
from agent_sessions.logic import decision_log, payment_decisions
from agent_sessions.logic import sessions as service
from tests.integration.test_publish_events import OWNER
from tests.integration.test_window_alerts import Pipeline, open_session, pay

_pipelines: dict[int, Pipeline] = {}

step = st.one_of(
    st.tuples(st.just("pay"), st.integers(min_value=1, max_value=70_00)),
    st.tuples(st.just("decide"), st.booleans()),
    st.tuples(st.just("revoke"), st.none()),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_any_workload_leaves_a_log_that_verifies_and_replays_to_the_counters(
    invoke: Any, dynamodb: Any, session_store: Any, bus_queue: Any, steps: list[tuple[str, Any]]
) -> None:
    pipeline = _pipelines.setdefault(id(dynamodb), Pipeline(invoke, dynamodb, session_store, bus_queue))
    now = utc_now()
    limits = {"max_per_day": 100, "max_per_transaction": 60, "require_approval_above": 30}
    session_id, agent = open_session(session_store, now, limits=limits)
    for action, value in steps:
        if action == "pay":
            pay(session_store, agent, value, now)
        elif action == "decide":
            listed = session_store.list_payments(session_id, 50, None).items
            pending = [payment for payment in listed if payment.stored_status == "pending_approval"]
            with suppress(DomainError):  # the session ended: nothing to decide
                if pending:
                    decide = payment_decisions.approve_payment if value else payment_decisions.reject_payment
                    decide(session_store, OWNER, pending[0].id, now)
        else:
            service.revoke_session(session_store, OWNER, session_id, now)
    pipeline.pump()
    verdict, counters = decision_log.verify_export(decision_log.export(session_store, OWNER, session_id, now))
    assert verdict.ok, verdict.problems
    stored = session_store.get_session(session_id)
    assert counters == {key: cents for key, cents in stored.committed_cents.items() if cents}
