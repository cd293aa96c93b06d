"""Each handler invoked with its events/ file against moto, as `sam local invoke -e` would."""

import json
from typing import Any

import pytest

from agent_sessions.domain.credentials import hash_secret
from tests.conftest import EVENTS_ACCOUNT_ID, Invoke, load_event, with_body, with_caller, with_session_id

OTHER_ACCOUNT = {"credential": "api_key", "account_id": "acct_someoneelse000000000000"}


@pytest.fixture
def dynamodb(moto_or_dynalite: Any) -> Any:
    """Every test here runs on moto and on dynalite (these paths use no transactions or streams)."""
    return moto_or_dynalite


def create(invoke: Invoke, **overrides: Any) -> dict[str, Any]:
    event = load_event("create_session")
    if overrides:
        body = {**json.loads(event["body"]), **overrides}
        event = with_body(event, json.dumps(body))
    response = invoke("create_session", event)
    assert response["statusCode"] == 201, response["body"]
    return response["json"]


def test_create_returns_the_session_and_its_token_once(invoke: Invoke) -> None:
    session = create(invoke)
    assert session["id"].startswith("sess_")
    assert session["session_token"].startswith("zai_session_")
    assert session["status"] == "active"
    assert session["is_active"] is True
    assert session["limits"] == {
        "max_per_transaction": 50,
        "max_per_day": 200,
        "max_per_week": 1000,
        "max_per_month": 3000,
        "require_approval_above": 25,
        "max_payments_per_day": None,
    }
    assert session["rate_limits"] == {"payments": {"per_minute": None, "per_hour": None}}
    assert session["version"] == 0
    assert session["remaining_today"] == 200
    assert session["allowed_merchants"] == ["merchant_amazon", "merchant_walmart"]
    assert session["metadata"] == {"team": "checkout"}
    assert session["pkp_address"] is None


def test_limits_left_out_take_the_sdk_defaults(invoke: Invoke) -> None:
    session = create(invoke, limits={"max_per_day": 200})
    assert session["limits"] == {
        "max_per_transaction": 1000,
        "max_per_day": 200,
        "max_per_week": 20000,
        "max_per_month": 50000,
        "require_approval_above": 500,
        "max_payments_per_day": None,
    }


def test_get_reads_the_session_back_without_its_token(invoke: Invoke) -> None:
    created = create(invoke)
    response = invoke("get_session", with_session_id(load_event("get_session"), created["id"]))
    assert response["statusCode"] == 200
    session = response["json"]
    assert "session_token" not in session
    assert session["remaining_today"] == session["limits"]["max_per_day"] == 200
    assert session["windows"]["day"] == {
        "limit": 200,
        "spent": 0,
        "held": 0,
        "remaining": 200,
        "resets_at": session["expires_at"],
    }


def test_list_shows_the_accounts_sessions_newest_first_and_pages(invoke: Invoke) -> None:
    ids = [create(invoke)["id"] for _ in range(3)]
    event = load_event("list_sessions")
    event["queryStringParameters"] = {"limit": "2"}
    first = invoke("list_sessions", event)
    assert first["statusCode"] == 200
    assert len(first["json"]["sessions"]) == 2
    assert first["json"]["next_cursor"]
    event["queryStringParameters"] = {"limit": "2", "cursor": first["json"]["next_cursor"]}
    second = invoke("list_sessions", event)
    listed = [s["id"] for s in first["json"]["sessions"] + second["json"]["sessions"]]
    assert sorted(listed) == sorted(ids)
    assert second["json"]["next_cursor"] is None


def test_list_filters_by_agent_wallet_and_active(invoke: Invoke) -> None:
    kept = create(invoke, agent_id="keep-me", user_wallet="wallet-a")
    create(invoke, agent_id="other", user_wallet="wallet-b")
    revoked = create(invoke, agent_id="keep-me", user_wallet="wallet-a")
    invoke("revoke_session", with_session_id(load_event("revoke_session"), revoked["id"]))
    event = load_event("list_sessions")
    event["queryStringParameters"] = {"agent_id": "keep-me", "user_wallet": "wallet-a", "status": "active"}
    listed = invoke("list_sessions", event)["json"]["sessions"]
    assert [s["id"] for s in listed] == [kept["id"]]


def test_revoke_ends_the_session_and_a_second_revoke_changes_nothing(invoke: Invoke) -> None:
    created = create(invoke)
    event = with_session_id(load_event("revoke_session"), created["id"])
    first = invoke("revoke_session", event)
    assert first["statusCode"] == 200
    assert first["json"]["success"] is True
    assert first["json"]["session"]["status"] == "revoked"
    assert first["json"]["session"]["is_active"] is False
    second = invoke("revoke_session", event)
    assert second["statusCode"] == 200
    assert second["json"]["session"] == first["json"]["session"]


def test_another_account_gets_404_and_an_empty_list(invoke: Invoke) -> None:
    created = create(invoke)
    for function_dir, name in (("get_session", "get_session"), ("revoke_session", "revoke_session")):
        event = with_caller(with_session_id(load_event(name), created["id"]), OTHER_ACCOUNT)
        response = invoke(function_dir, event)
        assert response["statusCode"] == 404
        assert response["json"]["error"]["code"] == "NOT_FOUND"
    listed = invoke("list_sessions", with_caller(load_event("list_sessions"), OTHER_ACCOUNT))
    assert listed["json"] == {"sessions": [], "next_cursor": None}
    still = invoke("get_session", with_session_id(load_event("get_session"), created["id"]))
    assert still["json"]["status"] == "active"


def test_a_session_token_reads_only_its_own_session(invoke: Invoke) -> None:
    mine, other = create(invoke), create(invoke)
    token_caller = {"credential": "session_token", "account_id": EVENTS_ACCOUNT_ID, "session_id": mine["id"]}
    own = invoke("get_session", with_caller(with_session_id(load_event("get_session"), mine["id"]), token_caller))
    assert own["statusCode"] == 200
    foreign = invoke("get_session", with_caller(with_session_id(load_event("get_session"), other["id"]), token_caller))
    assert foreign["statusCode"] == 404
    for function_dir in ("create_session", "list_sessions"):
        forbidden = invoke(function_dir, with_caller(load_event(function_dir), token_caller))
        assert forbidden["statusCode"] == 403
        assert forbidden["json"]["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("function_dir", ["create_session", "list_sessions", "get_session", "revoke_session"])
def test_no_credential_is_401_unauthenticated(invoke: Invoke, function_dir: str) -> None:
    response = invoke(function_dir, with_caller(load_event(function_dir), None))
    assert response["statusCode"] == 401
    assert response["json"]["error"]["code"] == "UNAUTHENTICATED"


def test_the_authorizer_turns_a_key_into_its_account_and_a_token_into_its_session(
    invoke: Invoke, session_store: Any
) -> None:
    from agent_sessions.domain.records import utc_now

    event = load_event("authorizer")
    example_key = event["headers"]["authorization"].removeprefix("Bearer ")
    session_store.put_api_key(hash_secret(example_key), EVENTS_ACCOUNT_ID, "events", utc_now())
    answer = invoke("authorizer", event)
    assert answer == {"isAuthorized": True, "context": {"credential": "api_key", "account_id": EVENTS_ACCOUNT_ID}}

    created = create(invoke)
    event["headers"]["authorization"] = f"Bearer {created['session_token']}"
    answer = invoke("authorizer", event)
    assert answer["context"] == {
        "credential": "session_token",
        "account_id": EVENTS_ACCOUNT_ID,
        "session_id": created["id"],
        # The session's terms, so a payment needs no read before its write (terms_rev: their revision).
        "created_at": created["created_at"],
        "expires_at": created["expires_at"],
        "limit_max_per_transaction": "5000",
        "limit_max_per_day": "20000",
        "limit_max_per_week": "100000",
        "limit_max_per_month": "300000",
        "limit_require_approval_above": "2500",
        "terms_rev": "0",
        "agent_id": created["agent_id"],
    }

    tampered = created["session_token"][:-4] + "AAAA"
    event["headers"]["authorization"] = f"Bearer {tampered}"
    assert invoke("authorizer", event)["context"] == {"credential": "none"}
    event["headers"]["authorization"] = "Bearer zfi_test_" + "x" * 43
    assert invoke("authorizer", event)["context"] == {"credential": "none"}


def with_idempotency_key(event: dict[str, Any], key: str) -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    event["headers"]["idempotency-key"] = key
    return event


def test_an_idempotency_key_replays_the_first_session_and_refuses_another_body(invoke: Invoke, dynamodb: Any) -> None:
    event = with_idempotency_key(load_event("create_session"), "zfi_idem_1764123456789_abc")
    first = invoke("create_session", event)
    again = invoke("create_session", event)
    assert (first["statusCode"], again["statusCode"]) == (201, 201)
    assert again["body"] == first["body"]  # the same session and token, byte for byte
    listed = invoke("list_sessions", load_event("list_sessions"))["json"]["sessions"]
    assert [s["id"] for s in listed if s["id"] == first["json"]["id"]] == [first["json"]["id"]]
    other_body = with_body(event, json.dumps({**json.loads(event["body"]), "agent_id": "another-bot"}))
    reused = invoke("create_session", other_body)
    assert reused["statusCode"] == 422
    assert reused["json"]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other_account = invoke("create_session", with_caller(event, OTHER_ACCOUNT))
    assert other_account["statusCode"] == 201
    assert other_account["json"]["id"] != first["json"]["id"]


def test_an_invalid_idempotency_key_on_a_session_is_a_422_naming_the_header(invoke: Invoke) -> None:
    response = invoke("create_session", with_idempotency_key(load_event("create_session"), "k" * 256))
    assert response["statusCode"] == 422
    assert "Idempotency-Key" in response["json"]["error"]["details"]["fields"]


def test_listing_without_parameters_answers_the_newest_hundred_filled_after_filters(
    invoke: Invoke, session_store: Any
) -> None:
    from agent_sessions.domain.records import Caller, utc_now
    from agent_sessions.logic import sessions as service
    from agent_sessions.wire.models import CreateSessionRequest

    owner = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)
    for n in range(120):
        request = CreateSessionRequest.model_validate({"agent_id": f"bot{n % 4}", "user_wallet": "w"})
        service.create_session(session_store, owner, request, utc_now())
    bare = load_event("list_sessions")
    bare.pop("queryStringParameters")
    bare["rawQueryString"] = ""
    listed = invoke("list_sessions", bare)["json"]  # what the SDK's listSessions() sends: no parameters
    assert len(listed["sessions"]) == 100
    assert listed["next_cursor"] is not None
    event = load_event("list_sessions")
    event["queryStringParameters"] = {"agent_id": "bot1", "limit": "25"}
    event["rawQueryString"] = "agent_id=bot1&limit=25"
    first = invoke("list_sessions", event)["json"]
    assert len(first["sessions"]) == 25  # filled although three in four sessions are filtered out
    assert {s["agent_id"] for s in first["sessions"]} == {"bot1"}
    event["queryStringParameters"]["cursor"] = first["next_cursor"]
    rest = invoke("list_sessions", event)["json"]
    assert len(rest["sessions"]) == 5
    assert rest["next_cursor"] is None
