"""Bad input gets the contract's error with the field named; never a 500 and nothing written."""

import json
from typing import Any

import pytest

from tests.conftest import Invoke, load_event, with_body, with_session_id

VALID = {"agent_id": "bot", "user_wallet": "Hx7"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (json.dumps({**VALID, "limits": {"max_per_day": -5}}), "limits.max_per_day"),
        (json.dumps({**VALID, "limits": {"max_per_transaction": 0}}), "limits.max_per_transaction"),
        ('{"agent_id": "bot", "user_wallet": "w", "limits": {"max_per_day": 10.123}}', "limits.max_per_day"),
        ('{"agent_id": "bot", "user_wallet": "w", "limits": {"max_per_day": "10"}}', "limits.max_per_day"),
        ('{"agent_id": "bot", "user_wallet": "w", "limits": {"max_per_day": NaN}}', "body"),
        (json.dumps({**VALID, "duration_hours": 0}), "duration_hours"),
        (json.dumps({**VALID, "duration_hours": 169}), "duration_hours"),
        (json.dumps({"user_wallet": "w"}), "agent_id"),
        (json.dumps({**VALID, "agent_id": ""}), "agent_id"),
        (json.dumps({**VALID, "user_wallet": ""}), "user_wallet"),
        (json.dumps({**VALID, "unknown": 1}), "unknown"),
        (json.dumps([VALID]), "body"),
        ('{"agent_id": ', "body"),
        ("", "body"),
        (json.dumps({**VALID, "metadata": {"blob": "x" * (2 * 1024 * 1024)}}), "body"),
    ],
)
def test_each_invalid_create_body_is_a_422_naming_the_field(
    invoke: Invoke, dynamodb: Any, body: str, field: str
) -> None:
    response = invoke("create_session", with_body(load_event("create_session"), body))
    assert response["statusCode"] == 422, response["body"]
    error = response["json"]["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"]
    assert "Traceback" not in response["body"]
    assert dynamodb.scan(TableName="agent-sessions-test")["Count"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"status": "maybe"}, "status"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
def test_invalid_list_queries_are_422(invoke: Invoke, query: dict[str, str], field: str) -> None:
    event = load_event("list_sessions")
    event["queryStringParameters"] = query
    response = invoke("list_sessions", event)
    assert response["statusCode"] == 422
    assert field in response["json"]["error"]["details"]["fields"]


@pytest.fixture
def dynamodb(moto_or_dynalite: Any) -> Any:
    """Every test here runs on moto and on dynalite (these paths use no transactions or streams)."""
    return moto_or_dynalite


def test_a_cursor_cannot_reach_into_another_account(invoke: Invoke) -> None:
    import base64

    forged = base64.urlsafe_b64encode(json.dumps({"pk": "APIKEY#x", "sk": "0"}).encode()).decode()
    event = load_event("list_sessions")
    event["queryStringParameters"] = {"cursor": forged}
    assert invoke("list_sessions", event)["statusCode"] == 422


def test_a_malformed_session_id_and_an_unknown_one_are_both_404(invoke: Invoke) -> None:
    for malformed in ("sess_NOT-AN-ID", "sess_abc123", "x"):  # sess_abc123: the SDK's own example
        bad = invoke("get_session", with_session_id(load_event("get_session"), malformed))
        assert bad["statusCode"] == 404, malformed
        assert bad["json"]["error"]["code"] == "NOT_FOUND"
    unknown = invoke("get_session", with_session_id(load_event("get_session"), "sess_" + "a" * 24))
    assert unknown["statusCode"] == 404
    assert unknown["json"]["error"]["code"] == "NOT_FOUND"
