"""The platform's payment paths, invoked with their events/ files against moto: the SDK's smart
payment (API key bearer, token in the body) and POST /payments with X-Session-Token."""

import json
from decimal import Decimal
from typing import Any

from tests.conftest import Invoke, load_event, with_body, with_caller
from tests.integration.test_payment_handlers import OTHER_ACCOUNT, get_session, open_session


def smart(invoke: Invoke, session: dict[str, Any], key: str | None = None, **fields: Any) -> dict[str, Any]:
    """The events/ smart payment for `session` (its token in the body), with body overrides."""
    event = load_event("smart_payment")
    body = {**json.loads(event["body"]), "session_token": session["session_token"], **fields}
    event = with_body(event, json.dumps(body))
    event["headers"].pop("idempotency-key")
    if key is not None:
        event["headers"]["idempotency-key"] = key
    return invoke("smart_payment", event)


def test_the_events_file_shape_a_confirmed_smart_payment(invoke: Invoke) -> None:
    session = open_session(invoke)
    event = load_event("smart_payment")
    body = {**json.loads(event["body"]), "session_token": session["session_token"]}
    response = invoke("smart_payment", with_body(event, json.dumps(body)))
    assert response["statusCode"] == 201, response["body"]
    answer = response["json"]
    assert answer["status"] == "confirmed"
    assert (answer["requires_signature"], answer["gasless_used"], answer["settlement_complete"]) == (False, False, True)
    assert answer["amount_usd"] == 19.99
    assert (
        answer["receipt_url"]
        == f"https://abc123.execute-api.us-east-1.amazonaws.com/api/v1/payments/{answer['payment_id']}"
    )
    assert answer["payment"]["id"] == answer["payment_id"]
    assert answer["payment"]["metadata"] == {
        "order": "A-1001",
        "product_details": {"name": "USB-C cable", "sku": "CBL-1"},
    }
    assert answer["payment"]["remaining_today"] == 200 - 19.99
    assert get_session(invoke, session["id"])["remaining_today"] == 200 - 19.99


def test_a_smart_payment_above_the_threshold_is_pending_and_an_over_limit_one_is_402(invoke: Invoke) -> None:
    session = open_session(invoke)
    pending = smart(invoke, session, amount_usd=30)
    assert pending["statusCode"] == 202
    assert (pending["json"]["status"], pending["json"]["settlement_complete"]) == ("pending", False)
    assert "approv" in pending["json"]["next_steps"]
    refused = smart(invoke, session, amount_usd=50.01)
    assert refused["statusCode"] == 402
    assert refused["json"]["error"]["code"] == "LIMIT_EXCEEDED"
    assert refused["json"]["error"]["details"]["limit"] == "max_per_transaction"


def test_a_smart_payment_for_another_agent_or_wallet_is_forbidden_naming_which(invoke: Invoke) -> None:
    session = open_session(invoke)
    for fields, named in (
        ({"agent_id": "someone-else"}, ["agent_id"]),
        ({"user_wallet": "0xnotthewallet"}, ["user_wallet"]),
        ({"agent_id": "x", "user_wallet": "y"}, ["agent_id", "user_wallet"]),
    ):
        response = smart(invoke, session, **fields)
        assert response["statusCode"] == 403
        assert response["json"]["error"]["code"] == "FORBIDDEN"
        assert sorted(response["json"]["error"]["details"]["fields"]) == named
    # What zendfi.agent.pay sends: "session" and "" mean "the session's own".
    assert smart(invoke, session, agent_id="session", user_wallet="")["statusCode"] == 201


def test_a_smart_payment_replays_by_idempotency_key_and_refuses_tokens_it_cannot_use(invoke: Invoke) -> None:
    session = open_session(invoke)
    first = smart(invoke, session, key="zfi_idem_1_a")
    again = smart(invoke, session, key="zfi_idem_1_a")
    assert first["json"]["payment_id"] == again["json"]["payment_id"]
    assert get_session(invoke, session["id"])["remaining_today"] == 200 - 19.99
    assert smart(invoke, session, key="zfi_idem_1_a", amount_usd=1)["json"]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    forged = session["session_token"][:-4] + "AAAA"
    assert smart(invoke, {"session_token": forged})["statusCode"] == 401
    assert smart(invoke, {"session_token": "not-a-token"})["statusCode"] == 401
    event = load_event("smart_payment")
    body = {**json.loads(event["body"]), "session_token": session["session_token"]}
    foreign = invoke("smart_payment", with_caller(with_body(event, json.dumps(body)), OTHER_ACCOUNT))
    assert foreign["statusCode"] == 404
    as_token = with_caller(
        with_body(event, json.dumps(body)),
        {"credential": "session_token", "account_id": "a", "session_id": session["id"]},
    )
    assert invoke("smart_payment", as_token)["statusCode"] == 403


def test_an_ended_session_is_403_on_a_smart_payment(invoke: Invoke) -> None:
    session = open_session(invoke)
    revoke = load_event("revoke_session")
    revoke = json.loads(json.dumps(revoke).replace(revoke["pathParameters"]["id"], session["id"]))
    assert invoke("revoke_session", revoke)["statusCode"] == 200
    response = smart(invoke, session)
    assert response["statusCode"] == 403
    assert response["json"]["error"]["code"] == "SESSION_REVOKED"


def platform_pays(
    invoke: Invoke, token: str | None, caller: dict[str, Any] | None = None, amount: Any = "12.34"
) -> dict[str, Any]:
    """POST /api/v1/payments with the events/ API key caller and X-Session-Token."""
    event = load_event("create_payment")
    event["headers"].pop("idempotency-key")
    if token is not None:
        event["headers"]["x-session-token"] = token
    event = with_body(event, '{"amount": ' + amount + ', "merchant_id": "merchant_amazon"}')
    return invoke(
        "create_payment",
        with_caller(event, caller or {"credential": "api_key", "account_id": "acct_eventsexampleaccount0000"}),
    )


def test_the_api_key_with_x_session_token_pays_its_own_accounts_session_only(invoke: Invoke) -> None:
    session = open_session(invoke)
    paid = platform_pays(invoke, session["session_token"])
    assert paid["statusCode"] == 201, paid["body"]
    assert paid["json"]["session_id"] == session["id"]
    assert Decimal(str(paid["json"]["remaining_today"])) == Decimal("187.66")
    assert platform_pays(invoke, session["session_token"], OTHER_ACCOUNT)["statusCode"] == 404
    missing = platform_pays(invoke, None)
    assert missing["statusCode"] == 403
    assert "X-Session-Token" in missing["json"]["error"]["message"]
    assert platform_pays(invoke, "zai_session_bogus")["statusCode"] == 401
