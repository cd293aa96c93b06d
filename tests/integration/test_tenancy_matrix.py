"""Every endpoint against every wrong credential: the contract's status, never another account's data."""

import json
from datetime import timedelta
from typing import Any

import pytest

from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.logic import sessions as service
from agent_sessions.wire.models import CreateSessionRequest
from tests.conftest import EVENTS_ACCOUNT_ID, Invoke, load_event, with_body, with_caller, with_credential
from tests.integration.test_payment_handlers import open_session, pay

EVENTS_SESSION_TOKEN = json.loads(load_event("smart_payment")["body"])["session_token"]
FOREIGN_KEY = {"credential": "api_key", "account_id": "acct_someoneelse000000000000"}


def retarget(event: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """An events/ file pointed at our real session, payment and webhook."""
    text = json.dumps(event)
    for placeholder, real in ids.items():
        text = text.replace(placeholder, real)
    return dict(json.loads(text))


ENDPOINTS = [
    # function, key-only?, names our object (so a foreign caller must get 404)
    ("create_session", True, False),
    ("list_sessions", True, False),
    ("get_session", False, True),
    ("revoke_session", True, True),
    ("update_session", True, True),
    ("get_attestation", False, True),
    ("get_consent", False, True),
    ("get_audit", False, True),
    ("give_consent", False, True),
    ("list_session_payments", True, True),
    ("create_payment", None, False),  # session token only
    ("check_payment", None, False),  # the same credentials as a payment
    ("smart_payment", True, True),  # the API key pays for the session whose token is in the body
    ("get_payment", False, True),
    ("approve_payment", True, True),
    ("reject_payment", True, True),
    ("create_webhook", True, False),
    ("list_webhooks", True, False),
    ("get_analytics", True, False),
    ("list_payments", True, False),
    ("delete_webhook", True, True),
    ("create_agent_key", True, False),
    ("list_agent_keys", True, False),
    ("revoke_agent_key", True, True),
    ("create_intent", True, False),
    ("list_intents", True, False),
    ("get_intent", True, True),
    ("confirm_intent", False, True),  # the API key with the session's token, or the session's token alone
    ("capture_intent", True, True),
    ("cancel_intent", True, True),
]


@pytest.fixture
def world(invoke: Invoke, session_store: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Our account's session (with a pending payment and a webhook), and the wrong credentials."""
    import boto3

    from agent_sessions.infra import secret_box, settings

    monkeypatch.setenv("WEBHOOK_KEY_ID", boto3.client("kms").create_key()["KeyMetadata"]["KeyId"])
    secret_box.default_secret_box.cache_clear()
    settings.load_settings.cache_clear()
    ours = open_session(invoke, mint_pkp=True)
    payment = pay(invoke, ours, 30)["json"]  # above require_approval_above: pending
    webhook = invoke("create_webhook", load_event("create_webhook"))["json"]
    agent_key = invoke("create_agent_key", load_event("create_agent_key"))["json"]
    intent_event = load_event("create_intent")
    intent_body = {**json.loads(intent_event["body"]), "metadata": {"merchant_id": "merchant_amazon"}}
    intent = invoke("create_intent", with_body(intent_event, json.dumps(intent_body)))["json"]
    intent_secret = json.loads(load_event("confirm_intent")["body"])["client_secret"]
    theirs_caller = Caller(kind="api_key", account_id=FOREIGN_KEY["account_id"])
    request = CreateSessionRequest.model_validate({"agent_id": "x", "user_wallet": "y"})
    theirs = service.create_session(session_store, theirs_caller, request, utc_now())
    revoked = open_session(invoke)
    invoke("revoke_session", retarget(load_event("revoke_session"), {"sess_exampleexampleexample234": revoked["id"]}))
    ours_caller = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)
    expired = service.create_session(
        session_store,
        ours_caller,
        CreateSessionRequest.model_validate({"agent_id": "a", "user_wallet": "w", "duration_hours": 1}),
        utc_now() - timedelta(hours=2),
    )
    return {
        "ids": {
            intent_secret: intent["client_secret"],  # before the id it contains
            "pi_exampleexampleexample234": intent["id"],
            EVENTS_SESSION_TOKEN: ours["session_token"],
            "sess_exampleexampleexample234": ours["id"],
            "pay_exampleexampleexample234": payment["id"],
            "wh_exampleexampleexample234": webhook["id"],
            "ak_eventsexamplekey00000000": agent_key["id"],
        },
        "secrets": [ours["session_token"], webhook["secret"], agent_key["full_key"], intent["client_secret"]],
        "ours": ours,
        "foreign_token": theirs.session_token,
        "revoked_token": revoked["session_token"],
        "revoked_id": revoked["id"],
        "expired_token": expired.session_token,
        "expired_id": expired.session.id,
    }


def call(
    invoke: Invoke, function: str, world: dict[str, Any], credential: Any, session_id: str | None = None
) -> dict[str, Any]:
    ids = dict(world["ids"])
    if session_id:
        ids["sess_exampleexampleexample234"] = session_id
    event = retarget(load_event(function), ids)
    event["headers"].pop("idempotency-key", None)
    if isinstance(credential, str):
        return invoke(function, with_credential(invoke, event, credential))
    return invoke(function, with_caller(event, credential))


@pytest.mark.parametrize(("function", "key_only", "names_ours"), ENDPOINTS)
def test_no_credential_is_401(
    invoke: Invoke, world: dict[str, Any], function: str, key_only: Any, names_ours: bool
) -> None:
    response = call(invoke, function, world, None)
    assert (response["statusCode"], response["json"]["error"]["code"]) == (401, "UNAUTHENTICATED")


@pytest.mark.parametrize(("function", "key_only", "names_ours"), ENDPOINTS)
def test_a_foreign_api_key_never_reaches_our_objects(
    invoke: Invoke, world: dict[str, Any], function: str, key_only: Any, names_ours: bool
) -> None:
    response = call(invoke, function, world, FOREIGN_KEY)
    if key_only is None:
        assert (response["statusCode"], response["json"]["error"]["code"]) == (403, "FORBIDDEN")
    elif names_ours:
        assert (response["statusCode"], response["json"]["error"]["code"]) == (404, "NOT_FOUND")
    else:
        assert response["statusCode"] in (200, 201)  # its own account's view
    body = response["body"]
    assert all(our_id not in body for our_id in world["ids"].values())
    assert all(secret not in body for secret in world["secrets"])


@pytest.mark.parametrize(("function", "key_only", "names_ours"), ENDPOINTS)
def test_a_foreign_session_token_never_reaches_our_objects(
    invoke: Invoke, world: dict[str, Any], function: str, key_only: Any, names_ours: bool
) -> None:
    response = call(invoke, function, world, world["foreign_token"])
    if key_only:
        assert (response["statusCode"], response["json"]["error"]["code"]) == (403, "FORBIDDEN")
    elif key_only is None:
        assert response["statusCode"] in (200, 201, 202, 403)  # it pays (or checks) on its own session, never ours
    else:
        assert (response["statusCode"], response["json"]["error"]["code"]) == (404, "NOT_FOUND")
    body = response["body"]
    assert all(our_id not in body for our_id in world["ids"].values())


@pytest.mark.parametrize("ended", ["revoked", "expired"])
@pytest.mark.parametrize(("function", "key_only", "names_ours"), ENDPOINTS)
def test_an_ended_sessions_token_gets_its_reason(
    invoke: Invoke, world: dict[str, Any], function: str, key_only: Any, names_ours: bool, ended: str
) -> None:
    response = call(invoke, function, world, world[f"{ended}_token"], session_id=world[f"{ended}_id"])
    code = "SESSION_REVOKED" if ended == "revoked" else "SESSION_EXPIRED"
    if key_only:
        assert (response["statusCode"], response["json"]["error"]["code"]) == (403, "FORBIDDEN")
    elif function == "get_payment":
        assert response["statusCode"] == 404  # the payment is not that session's
    else:
        assert (response["statusCode"], response["json"]["error"]["code"]) == (403, code)
