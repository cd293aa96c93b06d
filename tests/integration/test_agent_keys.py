"""Agent API keys through their handlers and the real authorizer, against moto: the SDK's shapes,
scopes on every route, the hourly limit with its headers, and revocation through a cached context."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_sessions.dal import dynamo
from agent_sessions.dal.ports import MeteredRequest
from agent_sessions.domain.agent_keys import hour_index
from agent_sessions.domain.scopes import GRANTABLE_SCOPES, ROUTE_SCOPES, SCOPE_NAMES, SDK_SCOPES
from agent_sessions.logic import agent_keys
from agent_sessions_local.template import http_routes, load_template
from tests.conftest import Invoke, load_event, with_body, with_credential
from tests.integration.test_tenancy_matrix import ENDPOINTS, call, world  # noqa: F401 - the shared fixture

SDK_KEY_FIELDS = {"id", "key_prefix", "name", "scopes", "rate_limit_per_hour", "agent_metadata", "created_at"}


def create_key(invoke: Invoke, **overrides: Any) -> dict[str, Any]:
    """POST /api/v1/agent-keys with the events/ account's API key (the events/ body, with overrides)."""
    event = load_event("create_agent_key")
    body = {**json.loads(event["body"]), **overrides}
    response = invoke("create_agent_key", with_body(event, json.dumps(body)))
    assert response["statusCode"] == 201, response["body"]
    return dict(response["json"])


def test_create_answers_the_sdks_shape_and_shows_the_full_key_once(invoke: Invoke) -> None:
    created = create_key(invoke)
    assert created.keys() >= SDK_KEY_FIELDS
    assert created["full_key"].startswith("zai_test_")
    assert created["full_key"].startswith(created["key_prefix"])
    assert len(created["key_prefix"]) < 40
    assert created["scopes"] == ["create_payments", "read_analytics"]
    assert (created["rate_limit_per_hour"], created["agent_metadata"]) == (500, {"team": "commerce"})
    listed = invoke("list_agent_keys", load_event("list_agent_keys"))["json"]["keys"]
    assert [key["id"] for key in listed] == [created["id"]]
    assert "full_key" not in listed[0]
    assert created["full_key"] not in json.dumps(listed)


def test_the_sdks_defaults_when_it_names_no_scopes_or_limit(invoke: Invoke) -> None:
    event = load_event("create_agent_key")
    response = invoke("create_agent_key", with_body(event, json.dumps({"name": "k", "agent_id": "bot"})))
    assert (response["json"]["scopes"], response["json"]["rate_limit_per_hour"]) == (["create_payments"], 1000)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "k", "agent_id": "bot", "scopes": ["keys:write"]}, "scopes"),
        ({"name": "k", "agent_id": "bot", "scopes": ["everything"]}, "scopes"),
        ({"name": "k", "agent_id": "bot", "scopes": []}, "scopes"),
        ({"name": "k", "agent_id": "bot", "rate_limit_per_hour": 0}, "rate_limit_per_hour"),
        ({"name": "k", "agent_id": "bot", "rate_limit_per_hour": 10.5}, "rate_limit_per_hour"),
        ({"name": " ", "agent_id": "bot"}, "name"),
        ({"agent_id": "bot"}, "name"),
    ],
)
def test_bad_keys_are_refused_naming_the_field(invoke: Invoke, body: dict[str, Any], field: str) -> None:
    response = invoke("create_agent_key", with_body(load_event("create_agent_key"), json.dumps(body)))
    assert (response["statusCode"], response["json"]["error"]["code"]) == (422, "VALIDATION_ERROR")
    assert field in {name.split(".")[0] for name in response["json"]["error"]["details"]["fields"]}


def test_an_idempotency_key_replays_the_same_key(invoke: Invoke) -> None:
    event = load_event("create_agent_key")
    event["headers"]["idempotency-key"] = "zfi_idem_1_abc"
    first, again = invoke("create_agent_key", event), invoke("create_agent_key", event)
    assert first["statusCode"] == again["statusCode"] == 201
    assert first["json"]["full_key"] == again["json"]["full_key"]
    assert len(invoke("list_agent_keys", load_event("list_agent_keys"))["json"]["keys"]) == 1
    changed = with_body(event, json.dumps({"name": "other", "agent_id": "bot"}))
    assert invoke("create_agent_key", changed)["json"]["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_scope_names_are_the_sdks_and_the_grantable_fine_ones() -> None:
    assert set(SCOPE_NAMES) == set(SDK_SCOPES) | GRANTABLE_SCOPES


def test_every_route_of_the_template_needs_a_named_scope() -> None:
    routes = {f"{route.method} {route.path}" for route in http_routes(load_template()) if route.authorizer is not None}
    assert routes == set(ROUTE_SCOPES)
    assert set(ROUTE_SCOPES.values()) <= GRANTABLE_SCOPES | {"keys:write"}


@pytest.mark.parametrize(("function", "key_only", "names_ours"), ENDPOINTS)
def test_scope_matrix_every_route_with_and_without_each_scope(
    invoke: Invoke,
    world: dict[str, Any],  # noqa: F811 - the tenancy matrix's fixture
    function: str,
    key_only: Any,
    names_ours: bool,
) -> None:
    needed = ROUTE_SCOPES[load_event(function)["routeKey"]]
    for scope in sorted(GRANTABLE_SCOPES):
        key = create_key(invoke, scopes=[scope], name=f"only {scope}")["full_key"]
        response = call(invoke, function, world, key)
        headers = response["headers"]
        assert int(headers["X-RateLimit-Limit"]) == 500
        assert int(headers["X-RateLimit-Remaining"]) == 499
        refused = (response["statusCode"], (response["json"] or {}).get("error", {}).get("code"))
        if scope == needed:
            assert refused[1] not in ("INSUFFICIENT_SCOPE", "UNAUTHENTICATED"), (function, scope, response["body"])
            assert response["statusCode"] < 500
        else:
            assert refused == (403, "INSUFFICIENT_SCOPE"), (function, scope, response["body"])
            assert response["json"]["error"]["details"]["required_scope"] == needed


@pytest.mark.parametrize(("sdk_scope", "granted"), sorted(SDK_SCOPES.items()))
def test_each_sdk_scope_allows_exactly_its_fine_scopes(invoke: Invoke, sdk_scope: str, granted: frozenset[str]) -> None:
    key = create_key(invoke, scopes=[sdk_scope])["full_key"]
    for function, needed in [
        ("list_sessions", "sessions:read"),
        ("create_session", "sessions:write"),
        ("list_payments", "payments:read"),
        ("get_analytics", "analytics:read"),
        ("list_webhooks", "webhooks:read"),
        ("list_agent_keys", "keys:write"),
    ]:
        event = load_event(function)
        event["headers"].pop("idempotency-key", None)
        response = invoke(function, with_credential(invoke, event, key))
        assert (response["statusCode"] == 403) == (needed not in granted), (sdk_scope, function, response["body"])


def test_only_the_accounts_own_api_key_manages_keys(invoke: Invoke) -> None:
    full = create_key(invoke, scopes=["full"])["full_key"]
    for function in ("create_agent_key", "list_agent_keys", "revoke_agent_key"):
        response = invoke(function, with_credential(invoke, load_event(function), full))
        assert response["json"]["error"] == {
            "code": "INSUFFICIENT_SCOPE",
            "message": "This key lacks the keys:write scope this route needs.",
            "details": {"required_scope": "keys:write"},
        }


def test_the_hourly_limit_counts_every_request_and_answers_429_with_retry_after(invoke: Invoke) -> None:
    while True:
        key = create_key(invoke, scopes=["read_only"], rate_limit_per_hour=3)["full_key"]
        event = with_credential(invoke, load_event("list_sessions"), key)
        hour = hour_index(datetime.now(UTC))
        answers = [invoke("list_sessions", event) for _ in range(5)]
        if hour_index(datetime.now(UTC)) == hour:
            break  # else the five straddled the top of an hour: again, with a new key
    assert [answer["statusCode"] for answer in answers] == [200, 200, 200, 429, 429]
    assert [answer["headers"]["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0", "0"]
    refused = answers[3]
    assert refused["json"]["error"]["code"] == "RATE_LIMITED"
    reset = int(refused["headers"]["X-RateLimit-Reset"])
    assert reset % 3600 == 0
    assert 0 < int(refused["headers"]["Retry-After"]) <= 3600


def test_a_new_hour_starts_a_new_count(session_store: dynamo.DynamoStore, invoke: Invoke) -> None:
    created = create_key(invoke, rate_limit_per_hour=2)
    hour = hour_index(datetime.now(UTC))
    counts = [session_store.meter_agent_key(created["id"], hour) for _ in range(3)]
    assert [(c.count, c.over) for c in counts if c] == [(1, False), (2, False), (2, True)]
    counted = session_store.meter_agent_key(created["id"], hour + 1)
    assert counted is not None
    assert (counted.count, counted.over) == (1, False)
    late = session_store.meter_agent_key(created["id"], hour)  # a clock behind: counted in the later hour
    assert late is not None
    assert (late.count, late.over) == (2, False)
    assert session_store.meter_agent_key(created["id"], hour + 1) == MeteredRequest(count=2, limit=2, over=True)


def test_a_revoked_key_stops_at_once_even_through_a_cached_authorizer_context(invoke: Invoke) -> None:
    created = create_key(invoke, scopes=["read_only"])
    cached = with_credential(invoke, load_event("list_sessions"), created["full_key"])  # as API Gateway caches it
    assert invoke("list_sessions", cached)["statusCode"] == 200
    revoke = load_event("revoke_agent_key")
    revoke = json.loads(json.dumps(revoke).replace("ak_eventsexamplekey00000000", created["id"]))
    answer = invoke("revoke_agent_key", revoke)
    assert answer["statusCode"] == 200
    assert answer["json"]["success"] is True
    assert answer["json"]["key"]["is_active"] is False
    assert invoke("revoke_agent_key", revoke)["statusCode"] == 200  # again: no change
    assert invoke("list_sessions", cached)["json"]["error"]["code"] == "UNAUTHENTICATED"
    fresh = with_credential(invoke, load_event("list_sessions"), created["full_key"])
    assert fresh["requestContext"]["authorizer"]["lambda"] == {"credential": "none"}


def test_another_accounts_key_is_not_found(session_store: dynamo.DynamoStore, invoke: Invoke) -> None:
    created = create_key(invoke)
    assert session_store.revoke_agent_key(created["id"], "acct_someoneelse000000000000", datetime.now(UTC)) is None
    assert agent_keys.agent_key_caller(session_store, _presented(created["full_key"])) is not None


def _presented(full_key: str) -> Any:
    from agent_sessions.domain.credentials import parse_bearer

    return parse_bearer(f"Bearer {full_key}")


def test_a_forged_secret_with_a_real_key_id_is_anonymous(invoke: Invoke) -> None:
    created = create_key(invoke)
    forged = created["full_key"][:-8] + "AAAAAAAA"
    event = with_credential(invoke, load_event("list_sessions"), forged)
    assert event["requestContext"]["authorizer"]["lambda"] == {"credential": "none"}
    assert invoke("list_sessions", event)["statusCode"] == 401


def test_timestamps_are_recent(invoke: Invoke) -> None:
    created = create_key(invoke)
    at = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00"))
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_readmes_scope_table_is_the_codes() -> None:
    """Each scope's row in the README names exactly the routes and SDK names the table in the code does."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for scope in sorted(set(ROUTE_SCOPES.values())):
        routes = ", ".join(f"`{route}`" for route, needed in ROUTE_SCOPES.items() if needed == scope)
        granted_by = [f"`{name}`" for name, grants in SDK_SCOPES.items() if scope in grants]
        row = f"| `{scope}` | {routes} | {', '.join(granted_by) or 'the account API key only'} |"
        assert row in readme, row
