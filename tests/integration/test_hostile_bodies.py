"""Bodies built to break a parser, and requests with no credential: never a 500, 401 before 422."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions_local.handlers import FUNCTIONS_DIR
from tests.conftest import Invoke, load_event, with_body, with_caller

HTTP_FUNCTIONS = sorted(
    path.parent.name
    for path in FUNCTIONS_DIR.glob("*/app.py")
    # the console signs its operator in with a cookie (tests/integration/test_console.py covers it)
    if path.parent.name not in ("authorizer", "publish_events", "deliver_webhooks", "expire_sessions", "console")
)


def deep(kind: str, depth: int) -> str:
    return "[" * depth + "]" * depth if kind == "array" else '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("function", "body", "field"),
    [
        ("create_payment", '{"amount": ' + "9" * 5000 + "}", "amount"),
        ("create_payment", '{"amount": 0.' + "1" * 5000 + "}", "amount"),
        ("create_payment", '{"amount": 1, "metadata": ' + deep("object", 600) + "}", "body"),
        ("create_payment", deep("array", 20_000), "body"),
        ("create_session", '{"agent_id": "a", "user_wallet": "w", "metadata": ' + deep("object", 1000) + "}", "body"),
        ("create_session", '{"agent_id": "a", "user_wallet": "w", "metadata": ' + deep("object", 20) + "}", "metadata"),
        ("create_session", deep("array", 20_000), "body"),
        ("create_session", '{"agent_id": "a", "user_wallet": "w", "duration_hours": 1e-320}', "duration_hours"),
        ("create_webhook", '{"url": "http://[::1/"}', "url"),
        ("create_webhook", '{"url": "http://[foo]/"}', "url"),
        ("create_webhook", '{"url": "http://127.0.0.1:9/a b"}', "url"),
        ("create_webhook", json.dumps({"url": "http://127.0.0.1\u0000.evil/"}), "url"),
    ],
)
def test_a_hostile_body_is_a_422_naming_the_field(
    invoke: Invoke, dynamodb: Any, function: str, body: str, field: str
) -> None:
    event = load_event(function)
    if function == "create_payment":
        created = invoke("create_session", load_event("create_session"))["json"]
        from tests.conftest import with_credential

        event = with_credential(invoke, event, created["session_token"])
        event["headers"].pop("idempotency-key", None)
    answer = invoke(function, with_body(event, body))
    assert answer["statusCode"] == 422, answer["body"][:500]
    assert field in answer["json"]["error"]["details"]["fields"], answer["json"]


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_no_credential_is_a_401_whatever_the_body(invoke: Invoke, dynamodb: Any, function: str) -> None:
    for body in ('{"amount": "x", "url": 1, "agent_id": []}', deep("array", 5000), "not json", ""):
        answer = invoke(function, with_caller(with_body(load_event(function), body), None))
        assert answer["statusCode"] == 401, (function, answer["body"])
        assert answer["json"]["error"]["code"] == "UNAUTHENTICATED"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.text(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
            max_leaves=30,
        ).map(json.dumps),
        st.builds(deep, st.sampled_from(["array", "object"]), st.integers(min_value=1, max_value=3000)),
    )
)
def test_no_body_is_a_server_error(invoke: Invoke, dynamodb: Any, body: str) -> None:
    for function in ("create_session", "create_webhook"):
        answer = invoke(function, with_body(load_event(function), body))
        assert answer["statusCode"] < 500, answer["body"]


lone_surrogate_escape = st.integers(min_value=0xD800, max_value=0xDFFF).map(lambda point: f"\\u{point:04x}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(escape=lone_surrogate_escape, where=st.sampled_from(["key", "value", "nested"]), text=st.text(max_size=8))
def test_metadata_with_an_unpaired_surrogate_is_a_422_on_metadata_and_creates_nothing(
    invoke: Invoke, dynamodb: Any, escape: str, where: str, text: str
) -> None:
    """JSON lets `\\ud800` through as a string no UTF-8 consumer can carry; every other text field
    refuses it, so metadata does too, before anything is written or announced."""
    plain = json.dumps(text)[1:-1]  # the drawn text as it sits inside a JSON string
    metadata = {
        "key": '{"' + plain + escape + '": 1}',
        "value": '{"k": "' + plain + escape + '"}',
        "nested": '{"k": [{"deeper": ["' + escape + plain + '"]}]}',
    }[where]
    body = '{"agent_id": "a", "user_wallet": "w", "metadata": ' + metadata + "}"
    before = dynamodb.scan(TableName="agent-sessions-test", Select="COUNT")["Count"]
    answer = invoke("create_session", with_body(load_event("create_session"), body))
    assert answer["statusCode"] == 422, answer["body"][:300]
    assert list(answer["json"]["error"]["details"]["fields"]) == ["metadata"]
    assert dynamodb.scan(TableName="agent-sessions-test", Select="COUNT")["Count"] == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    function=st.sampled_from(["create_session", "create_webhook", "create_payment"]),
    key=st.text(max_size=6),
    first=st.integers(min_value=1, max_value=50),
    second=st.integers(min_value=1, max_value=50),
    depth=st.integers(min_value=0, max_value=3),
)
def test_a_key_named_twice_in_one_object_is_a_422_on_body_and_creates_nothing(
    invoke: Invoke, dynamodb: Any, function: str, key: str, first: int, second: int, depth: int
) -> None:
    """`{"amount": 1, "amount": 900}` means 1 to one JSON reader and 900 to another (a proxy, a log
    pipeline, the SDK): whichever this service took, someone would see another payment. Refused
    at any depth, whatever the key, whether or not the two values agree."""
    repeated = '{"' + json.dumps(key)[1:-1] + f'": {first}, ' + json.dumps(key) + f": {second}" + "}"
    for _ in range(depth):
        repeated = '{"k": ' + repeated + "}"
    fields = {
        "create_session": '"agent_id": "a", "user_wallet": "w"',
        "create_webhook": '"url": "https://example.com/hook"',
        "create_payment": '"amount": 1',
    }[function]
    body = "{" + fields + ', "metadata": ' + repeated + "}" if depth else repeated[:-1] + ", " + fields + "}"
    event = load_event(function)
    if function == "create_payment":
        from tests.conftest import with_credential

        created = invoke("create_session", load_event("create_session"))["json"]
        event = with_credential(invoke, event, created["session_token"])
        event["headers"].pop("idempotency-key", None)
    before = dynamodb.scan(TableName="agent-sessions-test", Select="COUNT")["Count"]
    answer = invoke(function, with_body(event, body))
    assert answer["statusCode"] == 422, (body, answer["body"][:300])
    assert list(answer["json"]["error"]["details"]["fields"]) == ["body"]
    assert "twice" in answer["json"]["error"]["details"]["fields"]["body"]
    assert dynamodb.scan(TableName="agent-sessions-test", Select="COUNT")["Count"] == before


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "multipart/form-data; boundary=x", "application/xml"]
)
def test_an_empty_body_of_any_content_type_is_never_a_server_error(
    invoke: Invoke, dynamodb: Any, function: str, content_type: str
) -> None:
    """Powertools raised on a Content-Type it does not parse when the body was empty (a 500); every
    body is read as JSON whatever its type, so an empty one is simply missing."""
    event = load_event(function)
    if function in ("create_payment", "check_payment", "smart_payment"):
        from tests.conftest import with_credential

        created = invoke("create_session", load_event("create_session"))["json"]
        event = with_credential(invoke, event, created["session_token"])
    for body in ("", None):
        event = {**event, "headers": {**event["headers"], "content-type": content_type}, "body": body}
        answer = invoke(function, event)
        assert answer["statusCode"] < 500, (function, answer.get("body"))
