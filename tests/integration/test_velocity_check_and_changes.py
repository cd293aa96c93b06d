"""Velocity limits, the dry-run check and PATCH of a session's terms, through their handlers against moto."""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.infra.identity import Attestation, verify_attestation
from agent_sessions.logic.outbox import Change, events_for
from tests.conftest import (
    Invoke,
    dynamodb_requests,
    load_event,
    with_body,
    with_caller,
    with_credential,
    with_session_id,
)
from tests.integration.test_payment_handlers import open_session


def exact(response: dict[str, Any]) -> dict[str, Any]:
    """The response with its JSON body read exactly (numbers with a fraction as Decimal)."""
    return {**response, "json": json.loads(response["body"], parse_float=Decimal) if response.get("body") else None}


def get_session(invoke: Invoke, session_id: str) -> dict[str, Any]:
    response = exact(invoke("get_session", with_session_id(load_event("get_session"), session_id)))
    assert response["statusCode"] == 200
    return dict(response["json"])


cents = st.integers(min_value=1, max_value=99_99).map(lambda c: Decimal(c) / 100)


def pay(invoke: Invoke, session: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
    """POST /api/v1/payments with the session's token; `amount` exact (a JSON number from a Decimal)."""
    event = load_event("create_payment")
    event["headers"].pop("idempotency-key")
    body = {"amount": Decimal(amount), "currency": "USD", "merchant_id": "merchant_amazon", **fields}
    event = with_credential(invoke, with_body(event, encode_json(body)), session["session_token"])
    return exact(invoke("create_payment", event))


def check(invoke: Invoke, session: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
    """POST /api/v1/payments/check with the session's token, the body a payment would send."""
    body = {"amount": Decimal(amount), "currency": "USD", "merchant_id": "merchant_amazon", **fields}
    event = with_body(load_event("check_payment"), encode_json(body))
    return exact(invoke("check_payment", with_credential(invoke, event, session["session_token"])))


def patch(invoke: Invoke, session_id: str, body: dict[str, Any], if_match: str | None) -> dict[str, Any]:
    event = with_body(with_session_id(load_event("update_session"), session_id), json.dumps(body))
    event["headers"].pop("if-match", None)
    if if_match is not None:
        event["headers"]["if-match"] = if_match
    return exact(invoke("update_session", event))


# ---- velocity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("create", "limit_name"),
    [
        ({"rate_limits": {"payments": {"per_minute": 3}}}, "rate_limits.payments.per_minute"),
        ({"rate_limits": {"payments": {"per_hour": 3, "per_minute": 50}}}, "rate_limits.payments.per_hour"),
        ({"limits": {"max_payments_per_day": 3}}, "max_payments_per_day"),
    ],
)
def test_the_fourth_payment_over_a_count_of_three_is_a_429_with_retry_after(
    invoke: Invoke, create: dict[str, Any], limit_name: str
) -> None:
    session = open_session(invoke, **create)
    answers = [pay(invoke, session, f"1.{n}7") for n in range(5)]
    assert [answer["statusCode"] for answer in answers] == [201, 201, 201, 429, 429]
    refused = answers[3]
    error = refused["json"]["error"]
    assert error["code"] == "VELOCITY_LIMIT"
    assert error["details"]["limit"] == limit_name
    assert error["details"]["limit_count"] == 3
    assert 1 <= int(refused["headers"]["Retry-After"]) <= 24 * 3600
    assert error["details"]["resets_at"].endswith("Z")
    # Only the three payments were debited; the refusals are not in the ledger (retry later).
    assert get_session(invoke, session["id"])["windows"]["day"]["spent"] == Decimal("3.51")


def test_velocity_is_shown_and_kept_apart_from_amounts(invoke: Invoke) -> None:
    session = open_session(invoke, rate_limits={"payments": {"per_minute": 2}}, limits={"max_payments_per_day": 9})
    assert session["rate_limits"] == {"payments": {"per_minute": 2, "per_hour": None}}
    assert session["limits"]["max_payments_per_day"] == 9


@pytest.mark.parametrize(
    "body",
    [
        {"rate_limits": {"payments": {"per_minute": 0}}},
        {"rate_limits": {"payments": {"per_minute": 1.5}}},
        {"rate_limits": {"payments": {"per_second": 1}}},
        {"rate_limits": {"payments": {"per_hour": "10"}}},
        {"limits": {"max_payments_per_day": -1}},
        {"limits": {"max_payments_per_day": True}},
    ],
)
def test_invalid_velocity_limits_are_422(invoke: Invoke, body: dict[str, Any]) -> None:
    event = load_event("create_session")
    response = invoke("create_session", with_body(event, json.dumps({**json.loads(event["body"]), **body})))
    assert response["statusCode"] == 422
    assert response["json"]["error"]["code"] == "VALIDATION_ERROR"


# ---- the dry-run check ------------------------------------------------------------------------------


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spent=st.lists(cents, max_size=3), amount=st.integers(min_value=1, max_value=80_00).map(lambda c: Decimal(c) / 100)
)
def test_a_check_answers_what_the_payment_right_after_gets(
    invoke: Invoke, spent: list[Decimal], amount: Decimal
) -> None:
    session = open_session(invoke, limits={"max_per_transaction": 60, "max_per_day": 100, "require_approval_above": 25})
    for earlier in spent:
        pay(invoke, session, str(earlier))
    answer = check(invoke, session, str(amount))
    assert answer["statusCode"] == 200, answer["body"]
    verdict = answer["json"]
    paid = pay(invoke, session, str(amount))
    expected_status = {"authorize": 201, "hold_for_approval": 202}.get(verdict["would"])
    if expected_status is None:
        assert paid["json"]["error"]["code"] == verdict["code"]
        assert verdict["rule"] == paid["json"]["error"]["details"]["limit"]
        now = get_session(invoke, session["id"])
        assert verdict["remaining_after"]["remaining_today"] == now["remaining_today"]
    else:
        assert paid["statusCode"] == expected_status
        for window in ("remaining_today", "remaining_this_week", "remaining_this_month"):
            assert verdict["remaining_after"][window] == paid["json"][window]


def test_a_check_names_the_rule_and_writes_nothing(invoke: Invoke) -> None:
    session = open_session(invoke, allowed_merchants=["merchant_amazon"])
    refused = check(invoke, session, "5.25", merchant_id="merchant_elsewhere")["json"]
    assert (refused["would"], refused["rule"], refused["code"]) == (
        "decline",
        "merchant_not_allowed",
        "MERCHANT_NOT_ALLOWED",
    )
    over = check(invoke, session, "60.01")["json"]
    assert (over["would"], over["rule"]) == ("decline", "max_per_transaction")
    held = check(invoke, session, "30.00")["json"]
    assert held["would"] == "hold_for_approval"
    assert held["remaining_after"]["remaining_today"] == Decimal("170.00")
    after = get_session(invoke, session["id"])
    assert after["windows"]["day"]["spent"] == 0
    assert after["windows"]["day"]["held"] == 0


def test_a_check_costs_one_read_and_no_write(invoke: Invoke) -> None:
    session = open_session(invoke)
    event = with_credential(
        invoke, with_body(load_event("check_payment"), json.dumps({"amount": 1.25})), session["session_token"]
    )
    with dynamodb_requests() as calls:
        assert invoke("check_payment", event)["statusCode"] == 200
    assert calls == ["GetItem"]


def test_a_check_of_a_count_at_its_limit_says_velocity_and_when(invoke: Invoke) -> None:
    session = open_session(invoke, rate_limits={"payments": {"per_minute": 1}})
    assert pay(invoke, session, "2.50")["statusCode"] == 201
    verdict = check(invoke, session, "2.50")["json"]
    assert (verdict["would"], verdict["code"]) == ("decline", "VELOCITY_LIMIT")
    assert verdict["rule"] == "rate_limits.payments.per_minute"
    assert verdict["resets_at"] == verdict["details"]["resets_at"]


# ---- PATCH ------------------------------------------------------------------------------------------


def test_patch_needs_if_match_and_refuses_a_stale_one(invoke: Invoke) -> None:
    session = open_session(invoke)
    missing = patch(invoke, session["id"], {"limits": {"max_per_day": 50}}, None)
    assert (missing["statusCode"], missing["json"]["error"]["code"]) == (428, "PRECONDITION_REQUIRED")
    first = patch(invoke, session["id"], {"limits": {"max_per_day": 50}}, '"0"')
    assert first["statusCode"] == 200, first["body"]
    assert first["json"]["version"] == 1
    assert first["headers"]["ETag"] == '"1"'
    stale = patch(invoke, session["id"], {"limits": {"max_per_day": 40}}, "0")
    assert (stale["statusCode"], stale["json"]["error"]["code"]) == (412, "PRECONDITION_FAILED")
    assert stale["json"]["error"]["details"]["version"] == 1
    assert get_session(invoke, session["id"])["limits"]["max_per_day"] == 50
    garbage = patch(invoke, session["id"], {"limits": {"max_per_day": 40}}, "not-a-version")
    assert garbage["statusCode"] == 412


def test_lowering_below_what_is_spent_leaves_nothing_and_cancels_nothing(invoke: Invoke) -> None:
    session = open_session(invoke)  # max_per_day 200
    for _ in range(5):
        assert pay(invoke, session, "24.15")["statusCode"] == 201  # at most require_approval_above (25)
    lowered = patch(invoke, session["id"], {"limits": {"max_per_day": 100}}, '"0"')["json"]
    assert lowered["windows"]["day"]["spent"] == Decimal("120.75")
    assert lowered["remaining_today"] == 0
    assert lowered["status"] == "paused"
    refused = pay(invoke, session, "0.01")
    assert refused["json"]["error"]["details"]["limit"] == "max_per_day"
    raised = patch(invoke, session["id"], {"limits": {"max_per_day": 150}}, '"1"')["json"]
    assert raised["remaining_today"] == Decimal("29.25")
    assert pay(invoke, session, "29.25")["statusCode"] == 202  # above require_approval_above: held, and it fits


def test_a_payment_with_terms_from_before_a_patch_meets_the_new_ones(invoke: Invoke) -> None:
    """The authorizer's context (cached on AWS) still carries the old terms: the write's condition catches it."""
    session = open_session(invoke)  # max_per_day 200, require_approval_above 25
    event = load_event("create_payment")
    event["headers"].pop("idempotency-key")
    body = {"amount": 20, "merchant_id": "merchant_amazon"}
    stale = with_credential(invoke, with_body(event, json.dumps(body)), session["session_token"])
    patch(invoke, session["id"], {"limits": {"max_per_day": 30, "require_approval_above": 10}}, '"0"')
    held = invoke("create_payment", stale)
    assert held["statusCode"] == 202  # above the new approval threshold
    again = invoke("create_payment", with_body(stale, json.dumps({**body, "amount": 15})))
    assert again["json"]["error"]["details"]["limit"] == "max_per_day"  # 20 + 15 > 30


def test_merchants_and_expiry_change_and_are_checked(invoke: Invoke) -> None:
    session = open_session(invoke)  # allowed: merchant_amazon, merchant_walmart
    narrowed = patch(invoke, session["id"], {"allowed_merchants": ["merchant_walmart"]}, '"0"')["json"]
    assert narrowed["allowed_merchants"] == ["merchant_walmart"]
    assert pay(invoke, session, "1.00")["json"]["error"]["code"] == "MERCHANT_NOT_ALLOWED"
    lifted = patch(invoke, session["id"], {"allowed_merchants": None}, '"1"')["json"]
    assert lifted["allowed_merchants"] is None
    assert pay(invoke, session, "1.00", merchant_id="anyone")["statusCode"] == 201
    created_at = datetime.fromisoformat(session["created_at"])
    latest = created_at + timedelta(hours=168)
    too_late = patch(
        invoke, session["id"], {"expires_at": f"{latest + timedelta(seconds=1):%Y-%m-%dT%H:%M:%SZ}"}, '"2"'
    )
    past = patch(invoke, session["id"], {"expires_at": "2020-01-01T00:00:00Z"}, '"2"')
    for refused in (too_late, past):
        assert refused["statusCode"] == 422
        assert "expires_at" in refused["json"]["error"]["details"]["fields"]
    longest = patch(invoke, session["id"], {"expires_at": f"{latest:%Y-%m-%dT%H:%M:%SZ}"}, '"2"')["json"]
    assert longest["expires_at"] == f"{latest:%Y-%m-%dT%H:%M:%SZ}"
    assert longest["version"] == 3


def test_an_ended_session_cannot_change_and_a_token_cannot_patch(invoke: Invoke) -> None:
    session = open_session(invoke)
    as_token = with_credential(
        invoke,
        with_body(with_session_id(load_event("update_session"), session["id"]), json.dumps({"limits": {}})),
        session["session_token"],
    )
    assert invoke("update_session", as_token)["statusCode"] == 403
    invoke("revoke_session", with_session_id(load_event("revoke_session"), session["id"]))
    ended = patch(invoke, session["id"], {"limits": {"max_per_day": 10}}, '"0"')
    assert (ended["statusCode"], ended["json"]["error"]["code"]) == (409, "INVALID_STATE")
    foreign = with_caller(
        with_session_id(load_event("update_session"), session["id"]),
        {"credential": "api_key", "account_id": "acct_someoneelse000000000000"},
    )
    assert invoke("update_session", foreign)["statusCode"] == 404


def test_the_change_is_announced_with_before_and_after_and_the_attestation_still_verifies(invoke: Invoke) -> None:
    session = open_session(invoke, mint_pkp=True)
    store = default_store()
    before = store.get_session(session["id"])
    patch(invoke, session["id"], {"limits": {"max_per_day": 75.5}, "rate_limits": {"payments": {"per_hour": 7}}}, '"0"')
    after = store.get_session(session["id"])
    assert before is not None
    assert after is not None
    (event,) = events_for(Change("change-1", before, after, before.created_at), store.get_payment)
    assert event.name == "agent.session.updated"
    changes = event.data["changes"]
    assert changes["before"]["limits"]["max_per_day"] == 200
    assert changes["after"]["limits"]["max_per_day"] == Decimal("75.5")
    assert changes["after"]["rate_limits"] == {"payments": {"per_minute": None, "per_hour": 7}}
    assert (changes["version_before"], changes["version_after"]) == (0, 1)
    attested = invoke("get_attestation", with_session_id(load_event("get_attestation"), session["id"]))["json"]
    assert attested["parameters"]["limits"]["max_per_day"] == 200_00  # what the identity signed at creation
    assert verify_attestation(
        Attestation(**{k: attested[k] for k in ("parameters", "parameters_hash", "address", "signature")})
    )
