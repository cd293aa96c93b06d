"""Idempotency-Key on the creating POSTs other than payments: sessions and webhook endpoints.

The same key and request answer the first answer (token and secret included) and create nothing;
another request, another API key of the account, or another account never see that answer.
"""

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions.dal.memory import MemoryStore
from agent_sessions.domain.credentials import new_api_key
from agent_sessions.domain.errors import IdempotencyKeyReused
from agent_sessions.domain.idempotency import IdempotentCreation
from agent_sessions.domain.records import Caller
from agent_sessions.logic import payments, sessions, webhooks
from agent_sessions.wire.models import CreatePaymentRequest, CreateSessionRequest, CreateWebhookRequest
from agent_sessions.wire.views import session_body, webhook_body
from tests.unit.test_records import CREATED


class ReversibleBox:
    """A SecretBox for tests: 'sealing' binds the secret to its context, opening checks it."""

    def seal(self, secret: str, context: dict[str, str]) -> bytes:
        return json.dumps([secret, context], sort_keys=True).encode()

    def open(self, sealed: bytes, context: dict[str, str]) -> str:
        secret, sealed_for = json.loads(sealed)
        assert sealed_for == context
        return str(secret)


SESSION_BODIES = st.fixed_dictionaries(
    {
        "agent_id": st.sampled_from(["bot", "shopper"]),
        "user_wallet": st.sampled_from(["w1", "w2"]),
        "limits": st.fixed_dictionaries({"max_per_day": st.decimals("0.01", "500", places=2)}),
    }
)


def first_answer(created: sessions.CreatedSession) -> dict[str, object]:
    return session_body(created.session, created.session.created_at, created.session_token)


@settings(max_examples=40, deadline=None)
@given(body=SESSION_BODIES, other=SESSION_BODIES, key=st.text(min_size=1, max_size=40).filter(str.isprintable))
def test_a_replayed_session_request_answers_the_first_answer_and_another_is_refused(
    body: dict[str, object], other: dict[str, object], key: str
) -> None:
    key = "".join(c for c in key if " " <= c <= "~") or "k"
    store = MemoryStore()
    owner = Caller(kind="api_key", account_id="acct_a")
    api_key = new_api_key()
    creation = IdempotentCreation(key=key, api_key=api_key)
    first = sessions.create_session(store, owner, CreateSessionRequest.model_validate(body), CREATED, creation)
    later = CREATED + timedelta(minutes=5)
    again = sessions.create_session(store, owner, CreateSessionRequest.model_validate(body), later, creation)
    assert (first.replayed, again.replayed) == (False, True)
    assert first_answer(again) == first_answer(first)
    assert len(store.list_sessions("acct_a", 100, None, sessions.SessionFilter(), later).items) == 1
    if CreateSessionRequest.model_validate(other) != CreateSessionRequest.model_validate(body):
        with pytest.raises(IdempotencyKeyReused):
            sessions.create_session(store, owner, CreateSessionRequest.model_validate(other), later, creation)


def test_the_replay_shows_the_session_as_created_not_as_it_is_now() -> None:
    store = MemoryStore()
    owner = Caller(kind="api_key", account_id="acct_a")
    creation = IdempotentCreation(key="create-1", api_key=new_api_key())
    request = CreateSessionRequest.model_validate({"agent_id": "bot", "user_wallet": "w"})
    first = sessions.create_session(store, owner, request, CREATED, creation)
    agent = sessions.authenticate(store, f"Bearer {first.session_token}")
    assert agent is not None
    payments.create_payment(store, agent, CreatePaymentRequest.model_validate({"amount": 5}), None, CREATED)
    sessions.revoke_session(store, owner, first.session.id, CREATED + timedelta(minutes=1))
    again = sessions.create_session(store, owner, request, CREATED + timedelta(minutes=2), creation)
    assert first_answer(again) == first_answer(first)
    assert first_answer(again)["status"] == "active"


def test_another_api_key_or_account_never_gets_the_first_answer() -> None:
    store = MemoryStore()
    owner = Caller(kind="api_key", account_id="acct_a")
    request = CreateSessionRequest.model_validate({"agent_id": "bot", "user_wallet": "w"})
    first = sessions.create_session(store, owner, request, CREATED, IdempotentCreation("k", new_api_key()))
    with pytest.raises(IdempotencyKeyReused) as refused:
        sessions.create_session(store, owner, request, CREATED, IdempotentCreation("k", new_api_key()))
    assert "another API key" in refused.value.message
    stranger = Caller(kind="api_key", account_id="acct_b")
    theirs = sessions.create_session(store, stranger, request, CREATED, IdempotentCreation("k", new_api_key()))
    assert not theirs.replayed
    assert theirs.session.id != first.session.id


def test_a_replayed_webhook_request_answers_the_same_secret_even_after_deletion() -> None:
    store, box = MemoryStore(), ReversibleBox()
    owner = Caller(kind="api_key", account_id="acct_a")
    request = CreateWebhookRequest.model_validate({"url": "https://93.184.215.14/hook"})
    first = webhooks.create_webhook(store, box, owner, request, CREATED, "hook-1")
    again = webhooks.create_webhook(store, box, owner, request, CREATED + timedelta(minutes=1), "hook-1")
    assert again.replayed
    assert webhook_body(again.webhook, again.secret) == webhook_body(first.webhook, first.secret)
    webhooks.delete_webhook(store, owner, first.webhook.id, CREATED + timedelta(minutes=2))
    assert webhooks.list_webhooks(store, owner) == []
    after_delete = webhooks.create_webhook(store, box, owner, request, CREATED + timedelta(minutes=3), "hook-1")
    assert after_delete.replayed
    assert after_delete.secret == first.secret
    assert webhooks.list_webhooks(store, owner) == []  # a replay creates nothing, not even again
    other = CreateWebhookRequest.model_validate({"url": "https://93.184.215.14/other"})
    with pytest.raises(IdempotencyKeyReused):
        webhooks.create_webhook(store, box, owner, other, CREATED, "hook-1")
    without_key = webhooks.create_webhook(store, box, owner, request, CREATED, None)
    assert not without_key.replayed
    assert without_key.webhook.id != first.webhook.id
