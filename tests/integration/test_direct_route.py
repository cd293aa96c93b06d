"""The payment route answered directly gives the answer Powertools' resolver gives, for any request.

Each drawn request is answered twice, by the handler's DirectRoute and by its resolver, against the
same table. An error must be the same answer to the byte (status, headers, body). A success must be
the same status and, since both carry the same Idempotency-Key, the same payment.
"""

import base64
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.http.resolver import _read_as_json
from agent_sessions_local.handlers import load_handler_module
from agent_sessions_local.instances import LocalLambdaContext
from tests.conftest import Invoke, load_event, with_credential

FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**12),
    st.decimals(min_value=-1, max_value=10**6, places=3, allow_nan=False).map(str).map(json.loads),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
PAYMENT_FIELDS = st.dictionaries(
    st.sampled_from(["amount", "merchant_id", "description", "metadata", "currency", "split_recipients", "x"]),
    FIELD_VALUES,
    max_size=5,
)
VALID_PAYMENTS = st.fixed_dictionaries(
    {"amount": st.decimals(min_value="0.01", max_value=40, places=2).map(str).map(json.loads)},
    optional={"merchant_id": st.text(string.ascii_letters, min_size=1, max_size=8), "metadata": st.just({"k": 1})},
)
BODIES = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=40),
    st.builds(json.dumps, PAYMENT_FIELDS),
    st.builds(json.dumps, VALID_PAYMENTS),
    st.builds(json.dumps, st.lists(st.integers(), max_size=2)),
    st.just('{"amount": 1, "amount": 2}'),
    st.just("[" * 40 + "]" * 40),
    st.just('{"amount": 1, "metadata": "' + "x" * 70_000 + '"}'),
)
HEADER_VALUES = st.one_of(
    st.text(string.printable, max_size=12), st.just(""), st.just("k" * 256), st.text(min_size=1, max_size=4)
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=BODIES,
    encoded=st.booleans(),
    idempotency_key=st.none() | HEADER_VALUES,
    key_header=st.sampled_from(["idempotency-key", "Idempotency-Key", "IDEMPOTENCY-KEY"]),
    session_token=st.none() | HEADER_VALUES,
    content_type=st.none() | st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
)
def test_the_direct_route_answers_as_the_resolver_does(
    invoke: Invoke,
    paying_event: dict[str, Any],
    body: str | None,
    encoded: bool,
    idempotency_key: str | None,
    key_header: str,
    session_token: str | None,
    content_type: str | None,
) -> None:
    event = json.loads(json.dumps(paying_event))
    headers = {name: value for name, value in event["headers"].items() if name not in ("idempotency-key",)}
    if idempotency_key is not None:
        headers[key_header] = idempotency_key
    if session_token is not None:
        headers["x-session-token"] = session_token
    if content_type is not None:
        headers["content-type"] = content_type
    event["headers"] = headers
    event["body"] = body
    event["isBase64Encoded"] = False
    if encoded and body:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode(), True

    module = load_handler_module("create_payment")
    context = LocalLambdaContext(function_name="create_payment")
    direct = module.direct.answer(json.loads(json.dumps(event)), context)
    resolved = module.app.resolve(_read_as_json(json.loads(json.dumps(event))), context)

    assert direct["statusCode"] == resolved["statusCode"], (direct["body"][:300], resolved["body"][:300])
    if direct["statusCode"] < 300:
        assert json.loads(direct["body"])["id"] == json.loads(resolved["body"])["id"]
        assert direct["headers"] == resolved["headers"]
    else:
        assert direct == resolved


def test_a_replay_a_reused_key_and_a_refusal_answer_alike(invoke: Invoke, paying_event: dict[str, Any]) -> None:
    """The paths drawn requests rarely reach: a replay, a key reused for another request, a 402."""
    module = load_handler_module("create_payment")
    context = LocalLambdaContext(function_name="create_payment")
    answers = []
    for body, key in (('{"amount": 1}', "same"), ('{"amount": 2}', "same"), ('{"amount": 999999}', None)):
        headers = {name: value for name, value in paying_event["headers"].items() if name != "idempotency-key"}
        event = {**paying_event, "body": body, "headers": {**headers, **({"idempotency-key": key} if key else {})}}
        direct = module.direct.answer(json.loads(json.dumps(event)), context)
        resolved = module.app.resolve(_read_as_json(json.loads(json.dumps(event))), context)
        assert direct["statusCode"] == resolved["statusCode"]
        assert direct == resolved or json.loads(direct["body"])["id"] == json.loads(resolved["body"])["id"]
        answers.append((direct["statusCode"], json.loads(direct["body"]).get("error", {}).get("code")))
    assert [code for _, code in answers[1:]] == ["IDEMPOTENCY_KEY_REUSED", "LIMIT_EXCEEDED"], answers


def test_the_payment_handler_answers_directly(
    invoke: Invoke, paying_event: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its lambda_handler goes through the DirectRoute, not the resolver (which would still answer)."""
    module = load_handler_module("create_payment")
    calls: list[str] = []
    original = module.app.resolve
    monkeypatch.setattr(module.app, "resolve", lambda *args: calls.append("resolver") or original(*args))
    answer = invoke("create_payment", paying_event)  # its events/ file's payment
    assert answer["statusCode"] in (201, 202), answer["body"]
    assert answer["json"]["amount"] == json.loads(paying_event["body"])["amount"]
    assert calls == []


@pytest.fixture
def paying_event(invoke: Invoke) -> dict[str, Any]:
    """create_payment's events/ file with a real session token's authorizer context."""
    created = invoke("create_session", load_event("create_session"))["json"]
    return with_credential(invoke, load_event("create_payment"), created["session_token"])
