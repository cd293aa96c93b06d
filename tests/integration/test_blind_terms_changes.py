"""A PATCH written blind (one UpdateItem, no read first), on moto and on dynalite, against MemoryStore.

The write copies each term it first changes from the item itself (`was_*`) before setting the
new value, so the session still attests the parameters it was created with. dynalite is an
independent DynamoDB implementation; it sends nothing back with a refusal, so there the long way
after one reads the session, where on moto (as on DynamoDB) it starts from the session sent back.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.dal import dynamo
from agent_sessions.dal.memory import MemoryStore
from agent_sessions.domain.errors import DomainError
from agent_sessions.domain.records import Caller, SessionRecord, utc_now
from agent_sessions.domain.term_changes import NamedTermChanges
from agent_sessions.logic import session_updates
from agent_sessions.logic import sessions as service
from agent_sessions.logic.known_sessions import KnownSessions
from agent_sessions.wire.models import CreateSessionRequest, UpdateSessionRequest
from agent_sessions_local.item_size import item_bytes, write_units
from tests.conftest import TABLE_NAME, dynamodb_requests

OWNER = Caller(kind="api_key", account_id="acct_blindtermschangesacct00")


@pytest.fixture
def dynamodb(moto_or_dynalite: Any) -> Any:
    return moto_or_dynalite


@pytest.fixture(autouse=True)
def no_known_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """No change is computed from a session this process saw: each one is blind or read first."""
    monkeypatch.setattr(session_updates, "known_terms", KnownSessions(capacity=0))


def _created(store: Any, now: datetime, body: dict[str, Any]) -> SessionRecord:
    request = CreateSessionRequest.model_validate({"agent_id": "a", "user_wallet": "w", **body})
    return service.create_session(store, OWNER, request, now).session


def _changed(store: Any, session_id: str, body: dict[str, Any], version: int, now: datetime) -> Any:
    """The session after the PATCH, or the refusal's code and details."""
    try:
        request = UpdateSessionRequest.model_validate(body)
        return session_updates.update_session(store, OWNER, session_id, request, str(version), now)
    except DomainError as refusal:
        return refusal.code, refusal.details


def test_the_first_changes_keep_what_the_session_was_created_with(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    session = _created(
        session_store, now, {"limits": {"max_per_day": 300}, "rate_limits": {"payments": {"per_hour": 7}}}
    )
    created = session.attestation_parameters()
    later = f"{session.created_at + timedelta(hours=100):%Y-%m-%dT%H:%M:%SZ}"
    with dynamodb_requests() as calls:
        first = _changed(session_store, session.id, {"limits": {"max_per_day": 250}, "expires_at": later}, 0, now)
    assert calls == ["UpdateItem"]
    assert (first.limits_cents["max_per_day"], first.expires_at.isoformat()) == (250_00, later.replace("Z", "+00:00"))
    second = _changed(
        session_store,
        session.id,
        {"limits": {"max_per_day": 240, "max_payments_per_day": 9}, "rate_limits": {"payments": {"per_hour": 8}}},
        1,
        now,
    )
    assert (second.velocity, second.terms_rev) == ({"per_hour": 8, "per_day": 9}, 2)
    assert second.attestation_parameters() == created
    assert session_store.get_session(session.id).attestation_parameters() == created  # type: ignore[union-attr]


def test_refused_blind_the_change_is_answered_the_long_way(session_store: dynamo.DynamoStore) -> None:
    now = utc_now()
    session = _created(session_store, now, {})
    too_late = f"{session.created_at + timedelta(hours=169):%Y-%m-%dT%H:%M:%SZ}"
    refused = _changed(session_store, session.id, {"expires_at": too_late}, 0, now)
    assert refused[0] == "VALIDATION_ERROR"
    assert _changed(session_store, session.id, {"limits": {"max_per_day": 1}}, 3, now) == (
        "PRECONDITION_FAILED",
        {"version": 0},
    )
    other = Caller(kind="api_key", account_id="acct_someoneelsesaccount000")
    with pytest.raises(DomainError) as hidden:
        session_updates.update_session(
            session_store,
            other,
            session.id,
            UpdateSessionRequest.model_validate({"limits": {"max_per_day": 1}}),
            "0",
            now,
        )
    assert hidden.value.code == "NOT_FOUND"
    unchanged = _changed(
        session_store,
        session.id,
        {"limits": {"max_per_day": Decimal(session.limits_cents["max_per_day"]) / 100}},
        0,
        now,
    )
    assert (unchanged.version, unchanged.terms_rev) == (session.version, 0)  # nothing changed: no write
    service.revoke_session(session_store, OWNER, session.id, now)
    assert _changed(session_store, session.id, {"limits": {"max_per_day": 1}}, 0, now)[0] == "INVALID_STATE"


amounts = st.integers(min_value=1, max_value=900_00).map(lambda cents: Decimal(cents) / 100)
counts = st.integers(min_value=1, max_value=40)
limit_changes = st.fixed_dictionaries(
    {},
    optional={
        name: amounts
        for name in ("max_per_transaction", "max_per_day", "max_per_week", "max_per_month", "require_approval_above")
    }
    | {"max_payments_per_day": counts},
)
changes = st.fixed_dictionaries(
    {},
    optional={
        "limits": limit_changes,
        "rate_limits": st.fixed_dictionaries(
            {"payments": st.fixed_dictionaries({}, optional={"per_minute": counts, "per_hour": counts})}
        ),
        "hours_to_expiry": st.integers(min_value=-2, max_value=170),
        "allowed_merchants": st.one_of(st.none(), st.lists(st.sampled_from(["m1", "m2"]), max_size=2)),
    },
)
creations = st.fixed_dictionaries(
    {},
    optional={
        "limits": limit_changes,
        "rate_limits": st.fixed_dictionaries(
            {"payments": st.fixed_dictionaries({}, optional={"per_minute": counts, "per_hour": counts})}
        ),
        "duration_hours": st.integers(min_value=1, max_value=168),
    },
)


def _body(change: dict[str, Any], created_at: datetime) -> dict[str, Any]:
    body = {name: value for name, value in change.items() if name != "hours_to_expiry"}
    if "hours_to_expiry" in change:
        body["expires_at"] = f"{created_at + timedelta(hours=change['hours_to_expiry']):%Y-%m-%dT%H:%M:%SZ}"
    return body


def _outcome(answer: Any) -> Any:
    if isinstance(answer, SessionRecord):
        return answer.terms, answer.allowed_merchants, answer.version, answer.attestation_parameters()
    return answer


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(creation=creations, steps=st.lists(st.tuples(changes, st.sampled_from([0, 0, 0, 1, -1])), max_size=6))
def test_drawn_changes_end_alike_in_the_table_and_in_memory(
    session_store: dynamo.DynamoStore, creation: dict[str, Any], steps: list[tuple[dict[str, Any], int]]
) -> None:
    now = utc_now()
    memory = MemoryStore()
    session = _created(session_store, now, creation)
    memory.insert_session(session_store.get_session(session.id))  # type: ignore[arg-type]
    created = session.attestation_parameters()
    version = 0
    blind = {id(store): _blind_writes_of(store) for store in (session_store, memory)}
    for change, offset in steps:
        body = _body(change, session.created_at)
        answers = [_changed(store, session.id, body, version + offset, now) for store in (session_store, memory)]
        assert _outcome(answers[0]) == _outcome(answers[1]), body
        assert blind[id(session_store)] == blind[id(memory)], body  # written blind in both, or in neither
        if isinstance(answers[0], SessionRecord):
            version = answers[0].terms_rev
            assert answers[0].attestation_parameters() == created
    stored = session_store.get_session(session.id)
    assert stored is not None
    assert stored.attestation_parameters() == created
    assert _outcome(stored) == _outcome(memory.get_session(session.id))


def _blind_writes_of(store: Any) -> list[bool]:
    """Whether each change_terms_unread `store` is asked for writes (the list grows as it is asked)."""
    written: list[bool] = []
    unread = store.change_terms_unread

    def spied(*args: Any) -> Any:
        outcome = unread(*args)
        written.append(isinstance(outcome, SessionRecord))
        return outcome

    store.change_terms_unread = spied
    return written


def test_changes_name_both_an_expiry_and_its_earliest_creation_or_neither() -> None:
    with pytest.raises(ValueError, match="earliest creation"):
        NamedTermChanges({}, {}, expires_at=utc_now())


def test_a_session_whose_velocity_is_stored_by_name_is_changed_the_long_way(
    session_store: dynamo.DynamoStore, dynamodb: Any
) -> None:
    """Velocity limits were first stored as a map by name; such a session is changed too, read first."""
    now = utc_now()
    session = _created(session_store, now, {"rate_limits": {"payments": {"per_hour": 4}}})
    created = session.attestation_parameters()
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"SESS#{session.id}"}},
        UpdateExpression="SET velocity = :by_name",
        ExpressionAttributeValues={":by_name": {"M": {"per_hour": {"N": "4"}}}},
    )
    assert session_store.get_session(session.id).velocity == {"per_hour": 4}  # type: ignore[union-attr]
    with dynamodb_requests() as calls:
        changed = _changed(session_store, session.id, {"rate_limits": {"payments": {"per_minute": 2}}}, 0, now)
    assert calls[0] == "UpdateItem"
    assert calls[-1] == "UpdateItem"
    assert len(calls) in (2, 3)  # refused, then written from the session sent back with the refusal, or read
    assert changed.velocity == {"per_hour": 4, "per_minute": 2}
    assert changed.attestation_parameters() == created
    with dynamodb_requests() as calls:
        again = _changed(session_store, session.id, {"rate_limits": {"payments": {"per_minute": 3}}}, 1, now)
    assert (calls, again.velocity) == (["UpdateItem"], {"per_hour": 4, "per_minute": 3})  # stored as a list now
    assert again.attestation_parameters() == created


@pytest.mark.parametrize("known", [False, True])
def test_changed_terms_keep_the_session_item_under_one_kilobyte(
    session_store: dynamo.DynamoStore, dynamodb: Any, monkeypatch: pytest.MonkeyPatch, known: bool
) -> None:
    """Every payment rewrites the session's item: what a change keeps of the creation is only the
    terms it changed, so the events/ example session, after a typical change (a limit lowered, a
    rate limit added, a shorter life), still costs 4 write units per payment (two items under 1 KB
    in one transaction), where keeping all its parameters made it 6."""
    if known:  # changes computed from the session read or known, not written blind
        monkeypatch.setattr(session_updates, "named_changes", lambda request, now: None)
    now = utc_now()
    body = {
        "agent_id": "shopping-assistant-v1",
        "agent_name": "Shopping Assistant",
        "user_wallet": "Hx7B...abc",
        "limits": {"max_per_transaction": 50, "max_per_day": 200, "require_approval_above": 25},
        "allowed_merchants": ["merchant_amazon", "merchant_walmart"],
        "metadata": {"team": "checkout", "cost_center": "cc-4411"},
    }
    session = _created(session_store, now, body)
    later = f"{session.created_at + timedelta(hours=20):%Y-%m-%dT%H:%M:%SZ}"
    change = {"limits": {"max_per_day": 150}, "rate_limits": {"payments": {"per_minute": 5}}, "expires_at": later}
    changed = _changed(session_store, session.id, change, 0, now)
    assert changed.terms_rev == 1, changed
    item = dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"SESS#{session.id}"}})["Item"]
    assert item_bytes(item) + 60 < 1024, item_bytes(item)  # room for a hold (about 60 bytes)
    assert write_units(item_bytes(item) + 60, True) == 2
    assert changed.attestation_parameters() == session.attestation_parameters()


@pytest.mark.parametrize(
    ("message", "long_way"),
    [
        ("The document path provided in the update expression is invalid for update", True),
        ("The provided expression refers to an attribute that does not exist in the item", True),
        ('Invalid UpdateExpression: Syntax error; token: "("', False),
        ("Value provided in ExpressionAttributeNames unused in expressions: keys: {#kept0}", False),
    ],
)
def test_only_a_missing_path_sends_a_blind_change_the_long_way(
    session_store: dynamo.DynamoStore, monkeypatch: pytest.MonkeyPatch, message: str, long_way: bool
) -> None:
    """DynamoDB may refuse the blind write for a path the item lacks before it evaluates the
    condition: that is answered the long way. Any other ValidationException is a defect of ours and
    is raised, never passed off as a refusal (which would hide it behind a second request)."""
    from botocore.exceptions import ClientError

    now = utc_now()
    session = _created(session_store, now, {})
    client = session_store._client
    sent = client.update_item
    calls: list[dict[str, Any]] = []

    def refused_first(**request: Any) -> Any:
        calls.append(request)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "UpdateItem")
        return sent(**request)

    monkeypatch.setattr(client, "update_item", refused_first)
    if long_way:
        changed = _changed(session_store, session.id, {"limits": {"max_per_day": 12}}, 0, now)
        assert (changed.limits_cents["max_per_day"], len(calls)) == (12_00, 2)
    else:
        with pytest.raises(ClientError):
            _changed(session_store, session.id, {"limits": {"max_per_day": 12}}, 0, now)
