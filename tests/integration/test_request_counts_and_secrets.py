"""One DynamoDB request per endpoint on the success path; no plaintext secret ever stored."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.credentials import parse_bearer
from tests.conftest import TABLE_NAME, Invoke, dynamodb_requests, load_event, with_session_id


@pytest.fixture
def dynamodb_calls(dynamodb: Any) -> Iterator[list[str]]:
    """The names of the DynamoDB operations the handlers' client sends, in order."""
    with dynamodb_requests() as calls:
        yield calls


def test_each_endpoint_makes_exactly_one_dynamodb_request(invoke: Invoke, dynamodb_calls: list[str]) -> None:
    created = invoke("create_session", load_event("create_session"))
    assert created["statusCode"] == 201
    assert dynamodb_calls == ["PutItem"]

    session_id = created["json"]["id"]
    dynamodb_calls.clear()
    assert invoke("get_session", with_session_id(load_event("get_session"), session_id))["statusCode"] == 200
    assert dynamodb_calls == ["GetItem"]

    dynamodb_calls.clear()
    assert invoke("list_sessions", load_event("list_sessions"))["statusCode"] == 200
    assert dynamodb_calls == ["Query"]

    dynamodb_calls.clear()
    assert invoke("revoke_session", with_session_id(load_event("revoke_session"), session_id))["statusCode"] == 200
    assert dynamodb_calls == ["UpdateItem"]

    dynamodb_calls.clear()
    assert invoke("revoke_session", with_session_id(load_event("revoke_session"), session_id))["statusCode"] == 200
    assert dynamodb_calls == ["UpdateItem"]


def test_the_authorizer_makes_one_strongly_consistent_read(
    invoke: Invoke, dynamodb_calls: list[str], api_key: Any
) -> None:
    reads: list[dict[str, Any]] = []
    client = default_store()._client

    def capture(params: dict[str, Any], **kwargs: Any) -> None:
        reads.append(params)

    client.meta.events.register("provide-client-params.dynamodb.GetItem", capture)
    event = load_event("authorizer")
    event["headers"]["authorization"] = f"Bearer {api_key.api_key}"
    dynamodb_calls.clear()
    assert invoke("authorizer", event)["context"]["account_id"] == api_key.account_id
    client.meta.events.unregister("provide-client-params.dynamodb.GetItem", capture)
    assert dynamodb_calls == ["GetItem"]
    assert reads[0]["ConsistentRead"] is True


def test_no_plaintext_key_or_token_is_stored_anywhere(invoke: Invoke, dynamodb: Any, api_key: Any) -> None:
    tokens = [invoke("create_session", load_event("create_session"))["json"]["session_token"] for _ in range(3)]
    revoked_id = parse_bearer(f"Bearer {tokens[0]}").session_id  # type: ignore[union-attr]
    invoke("revoke_session", with_session_id(load_event("revoke_session"), str(revoked_id)))
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    dump = json.dumps(items)
    assert len(items) == 4
    for secret in [api_key.api_key, *tokens]:
        assert secret not in dump
        # the secret after the token's session id (a url-safe secret may itself hold "_")
        secret_part = (
            secret[len("zai_session_") + 25 :] if secret.startswith("zai_") else secret.removeprefix("zfi_test_")
        )
        assert secret_part not in dump
