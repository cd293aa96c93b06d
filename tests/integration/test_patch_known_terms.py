"""PATCH computed from the session this instance knows: one request, and the same answers as the long way."""

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.logic import session_updates
from agent_sessions.logic.known_sessions import KnownSessions
from tests.conftest import Invoke, dynamodb_requests, load_event, with_session_id
from tests.integration.test_consent import SolanaWallet, consent, consent_of
from tests.integration.test_payment_handlers import open_session
from tests.integration.test_velocity_check_and_changes import get_session, patch, pay


@contextmanager
def another_instance(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Requests made inside are handled by an instance that knows no session (and remembers none)."""
    with monkeypatch.context() as scoped:
        scoped.setattr(session_updates, "known_terms", KnownSessions(capacity=0))
        yield


def test_a_change_is_one_request_whether_or_not_this_instance_knows_the_session(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = open_session(invoke)  # max_per_day 200
    with dynamodb_requests() as calls:
        first = patch(invoke, session["id"], {"limits": {"max_per_day": 150}}, '"0"')
    assert first["statusCode"] == 200, first["body"]
    assert calls == ["UpdateItem"]  # not seen here: written blind, every check in its condition
    assert pay(invoke, session, "12.34")["statusCode"] == 201  # counters move; the terms' version does not
    with dynamodb_requests() as calls:
        second = patch(invoke, session["id"], {"rate_limits": {"payments": {"per_minute": 9}}}, '"1"')
    assert second["statusCode"] == 200, second["body"]
    assert calls == ["UpdateItem"]  # known at that version: computed from it
    assert second["json"]["remaining_today"] == Decimal("137.66")  # the session as written, payment included
    assert second["json"]["limits"]["max_per_day"] == 150
    assert second["json"] == get_session(invoke, session["id"])
    with another_instance(monkeypatch):
        with dynamodb_requests() as calls:
            third = patch(
                invoke, session["id"], {"expires_at": _hours_after(session, 30), "limits": {"max_per_week": 900}}, "2"
            )
        assert (third["statusCode"], calls) == (200, ["UpdateItem"]), third["body"]
        with dynamodb_requests() as calls:
            same = patch(invoke, session["id"], {"limits": {"max_per_week": 900}}, "3")
        assert (same["statusCode"], same["json"]["version"], calls) == (200, third["json"]["version"], ["UpdateItem"])
        with dynamodb_requests() as calls:
            merchants = patch(invoke, session["id"], {"allowed_merchants": ["merchant_amazon"]}, "3")
        assert (merchants["statusCode"], calls) == (200, ["GetItem", "UpdateItem"])  # a merchant list: read first
    assert third["json"]["expires_at"] == _hours_after(session, 30)
    assert merchants["json"] == get_session(invoke, session["id"])


def _hours_after(session: dict[str, Any], hours: int) -> str:
    return f"{datetime.fromisoformat(session['created_at']) + timedelta(hours=hours):%Y-%m-%dT%H:%M:%SZ}"


def test_what_another_instance_changed_is_never_overwritten(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    session = open_session(invoke)
    assert patch(invoke, session["id"], {"limits": {"max_per_day": 150}}, "0")["statusCode"] == 200
    with another_instance(monkeypatch):
        assert patch(invoke, session["id"], {"limits": {"max_per_day": 120}}, "1")["statusCode"] == 200
    stale = patch(invoke, session["id"], {"rate_limits": {"payments": {"per_minute": 3}}}, "1")
    assert (stale["statusCode"], stale["json"]["error"]["details"]["version"]) == (412, 2)
    current = patch(invoke, session["id"], {"rate_limits": {"payments": {"per_minute": 3}}}, "2")
    assert current["statusCode"] == 200
    assert current["json"]["limits"]["max_per_day"] == 120  # the other instance's change is kept
    with another_instance(monkeypatch):
        invoke("revoke_session", with_session_id(load_event("revoke_session"), session["id"]))
    ended = patch(invoke, session["id"], {"limits": {"max_per_day": 10}}, "3")
    assert (ended["statusCode"], ended["json"]["error"]["code"]) == (409, "INVALID_STATE")


def test_a_session_read_while_it_awaited_consent_is_checked_against_the_consent(invoke: Invoke) -> None:
    """Consent arrives without moving the terms' version: a loosening must still need the owner."""
    wallet = SolanaWallet()
    session = open_session(invoke, user_wallet=wallet.address, require_consent=True)
    early = patch(invoke, session["id"], {"limits": {"max_per_day": 100}}, "0")  # read here while pending
    assert early["statusCode"] != 200
    given_consent = consent(invoke, session["id"], wallet.sign(consent_of(invoke, session["id"])["message"]))
    assert given_consent["statusCode"] == 200
    raised = patch(invoke, session["id"], {"limits": {"max_per_day": 300}}, "0")
    assert (raised["statusCode"], raised["json"]["error"]["code"]) == (403, "CONSENT_REQUIRED")
    lowered = patch(invoke, session["id"], {"limits": {"max_per_day": 150}}, "0")
    assert lowered["statusCode"] == 200, lowered["body"]
    raised_again = patch(invoke, session["id"], {"limits": {"max_per_day": 300}}, "1")  # known now, still refused
    assert (raised_again["statusCode"], raised_again["json"]["error"]["code"]) == (403, "CONSENT_REQUIRED")


# ---- drawn: the known way and the long way answer alike ---------------------------------------------

amounts = st.integers(min_value=1, max_value=400_00).map(lambda cents: Decimal(cents) / 100)
counts = st.integers(min_value=1, max_value=50)
changes = st.fixed_dictionaries(
    {},
    optional={
        "limits": st.fixed_dictionaries(
            {}, optional={"max_per_day": amounts, "max_per_transaction": amounts, "require_approval_above": amounts}
        ),
        "rate_limits": st.fixed_dictionaries(
            {"payments": st.fixed_dictionaries({}, optional={"per_minute": counts, "per_hour": counts})}
        ),
        "allowed_merchants": st.one_of(
            st.none(), st.lists(st.sampled_from(["merchant_amazon", "merchant_walmart", "m3"]), max_size=3)
        ),
        "hours_to_expiry": st.integers(min_value=-1, max_value=170),
    },
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("patch"), changes, st.sampled_from([0, 0, 0, -1, 1])),
        st.tuples(st.just("elsewhere"), changes, st.just(0)),
        st.tuples(st.just("pay"), st.just({}), st.integers(min_value=1, max_value=60_00)),
        st.tuples(st.just("revoke"), st.just({}), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)


def _body(change: dict[str, Any], session: dict[str, Any]) -> str:
    """The PATCH body; an expiry is drawn in hours from the session's creation (each world's own)."""
    body = {name: value for name, value in change.items() if name != "hours_to_expiry"}
    if "hours_to_expiry" in change:
        created = datetime.fromisoformat(session["created_at"])
        body["expires_at"] = f"{created + timedelta(hours=change['hours_to_expiry']):%Y-%m-%dT%H:%M:%SZ}"
    return json.dumps(body, default=str)


def _seen(response: dict[str, Any], session: dict[str, Any]) -> Any:
    """What a client sees, without what differs between two sessions made the same way."""
    answer = response["json"]
    if "session" in answer:  # a revocation
        answer = answer["session"]
    if response["statusCode"] >= 400:
        return response["statusCode"], answer["error"]["code"], answer["error"].get("details")
    if "windows" not in answer:  # a payment
        return response["statusCode"], answer["status"], answer["remaining_today"]
    kept = ("version", "status", "limits", "allowed_merchants", "rate_limits", "remaining_today", "remaining_this_week")
    lifetime = datetime.fromisoformat(answer["expires_at"]) - datetime.fromisoformat(session["created_at"])
    return response["statusCode"], {name: answer[name] for name in kept}, lifetime


@contextmanager
def read_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Requests made inside are handled by an instance that knows no session and never writes blind."""
    with another_instance(monkeypatch), monkeypatch.context() as scoped:
        scoped.setattr(session_updates, "named_changes", lambda request, now: None)
        yield


def _instance(position: int, kind: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """World 0's own changes come from the instance that knows it; world 1's are written blind when
    they can be; world 2's are always read first. A change made "elsewhere" is unknown in 0 too."""
    if position == 2:
        return read_first(monkeypatch)
    return another_instance(monkeypatch) if position == 1 or kind == "elsewhere" else nullcontext()


def _attested(invoke: Invoke, session_id: str) -> Any:
    return invoke("get_attestation", with_session_id(load_event("get_attestation"), session_id))["json"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, merchants=st.sampled_from([None, ["merchant_amazon", "merchant_walmart"]]))
def test_drawn_changes_answer_alike_known_blind_or_read_first(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, dict[str, Any], int]], merchants: Any
) -> None:
    """Three sessions made alike get the same drawn requests: one from an instance that knows it (it
    made the last change), one whose changes are written blind when they can be, one always read
    first. Every answer matches, including after a change made by another instance, a revocation,
    stale and future versions and payments in between; and each still attests the parameters it
    was created with."""
    worlds = [open_session(invoke, allowed_merchants=merchants) for _ in range(3)]
    created = [_attested(invoke, session["id"]) for session in worlds]
    versions = [0, 0, 0]
    for kind, change, number in steps:
        seen = []
        for position, session in enumerate(worlds):
            with _instance(position, kind, monkeypatch):
                if kind in ("patch", "elsewhere"):
                    response = patch(
                        invoke, session["id"], json.loads(_body(change, session)), str(versions[position] + number)
                    )
                elif kind == "pay":
                    response = pay(invoke, session, f"{Decimal(number) / 100}")
                else:
                    response = invoke("revoke_session", with_session_id(load_event("revoke_session"), session["id"]))
            if response["statusCode"] == 200 and "version" in response["json"]:
                versions[position] = response["json"]["version"]
            seen.append(_seen(response, session))
        assert seen[0] == seen[1] == seen[2], (kind, change, number)
    final = [_seen({"statusCode": 200, "json": get_session(invoke, s["id"])}, s) for s in worlds]
    assert final[0] == final[1] == final[2]
    assert [_attested(invoke, session["id"]) for session in worlds] == created
