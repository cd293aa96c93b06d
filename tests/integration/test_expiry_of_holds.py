"""The sweep lapses holds past their deadline (a transaction: moto only)."""

from datetime import timedelta

import pytest

from agent_sessions.dal import dynamo
from agent_sessions.domain.records import utc_now
from agent_sessions.logic import expiry, payment_decisions
from agent_sessions.logic import payments as payment_service
from agent_sessions.wire.models import CreatePaymentRequest
from tests.integration.test_expiry import OWNER, open_session


def test_a_hold_lapses_in_the_sweep_and_its_amount_comes_back(session_store: dynamo.DynamoStore) -> None:
    start = utc_now() - timedelta(hours=3)
    agent = open_session(session_store, start, hours=24)
    body = CreatePaymentRequest.model_validate({"amount": 30})
    created = payment_service.create_payment(session_store, agent, body, None, start)
    assert created.http_status == 202
    payment_id = created.answer.payment.id
    assert agent.session_id is not None

    assert expiry.sweep(session_store, start + timedelta(minutes=59)).holds_lapsed == 0
    result = expiry.sweep(session_store, start + timedelta(minutes=60))
    assert result.holds_lapsed == 1
    payment = session_store.get_payment(payment_id)
    assert payment is not None
    assert (payment.stored_status, payment.decided_at) == ("expired", start + timedelta(minutes=60))
    session = session_store.get_session(agent.session_id)
    assert session is not None
    assert session.holds == {}
    assert session.committed_cents["d0"] == session.held_cents["d0"] == 0
    with pytest.raises(Exception, match="not pending_approval"):
        payment_decisions.approve_payment(session_store, OWNER, payment_id, start + timedelta(minutes=61))
