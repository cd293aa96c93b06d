"""Writing a new item under an id that exists writes nothing and answers the item already there.

Sessions, agent keys, intents and payments are all created by one conditional put
(`TableAccess.put_if_absent`); a replayed Idempotency-Key relies on it answering the first item.
DynamoDB returns that item with the refusal (ALL_OLD); an implementation that does not has it read.
"""

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.dal import dynamo
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import agent_keys, intents, payments
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import (
    CreateAgentKeyRequest,
    CreateIntentRequest,
    CreatePaymentRequest,
    CreateSessionRequest,
)

OWNER = Caller(kind="api_key", account_id="acct_conditionalputsaccount0")


@pytest.fixture
def dynamodb(moto_or_dynalite: Any) -> Any:
    return moto_or_dynalite


@pytest.fixture(params=["answered", "not answered"])
def store(request: pytest.FixtureRequest, session_store: dynamo.DynamoStore) -> dynamo.DynamoStore:
    """The store, with the refused put's item (ALL_OLD) given back or, as some emulators do, not."""
    if request.param == "not answered":

        def drop_item(parsed: dict[str, Any], **_: Any) -> None:
            parsed.pop("Item", None)

        session_store._client.meta.events.register("after-call.dynamodb.PutItem", drop_item)
    return session_store


def test_each_kind_of_item_written_again_answers_the_first_and_changes_nothing(store: dynamo.DynamoStore) -> None:
    now = utc_now()
    request = CreateSessionRequest.model_validate({"agent_id": "a", "user_wallet": "w"})
    session = service.create_session(store, OWNER, request, now).session
    assert store.insert_session(session.with_changes(agent_id="other")) == session
    assert store.get_session(session.id) == session

    key_request = CreateAgentKeyRequest.model_validate({"name": "k", "agent_id": "a"})
    key = agent_keys.create_agent_key(store, OWNER, key_request, now).key
    assert store.insert_agent_key(replace(key, name="other")) == key
    assert store.get_agent_key(key.id) == key

    intent_request = CreateIntentRequest.model_validate({"amount": Decimal("12.34")})
    intent = intents.create_intent(store, OWNER, intent_request, "s" * 43, now).intent
    assert store.insert_intent(replace(intent, description="other")) == store.get_intent(intent.id)
    stored = store.get_intent(intent.id)
    assert stored is not None
    assert stored.description == intent.description

    agent = service.authenticate(store, f"Bearer {service.create_session(store, OWNER, request, now).session_token}")
    assert agent is not None
    pay = CreatePaymentRequest.model_validate({"amount": Decimal("0.01")})
    payment, _ = payments.build_payment(store, agent, pay, "attempt-1", now)
    declined = payment.with_changes(stored_status="declined", window_keys=())
    assert store.insert_declined_payment(declined) is None
    again = declined.with_changes(amount_cents=declined.amount_cents + 1)
    assert store.insert_declined_payment(again) == store.get_payment(payment.id)
    stored_payment = store.get_payment(payment.id)
    assert stored_payment is not None
    assert stored_payment.amount_cents == payment.amount_cents
