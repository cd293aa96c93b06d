"""Any request API Gateway could hand a handler is answered by the contract, never a 5xx.

Each drawn request starts from a function's events/ file (a real caller's context) and changes what
a client controls: the query string, the headers (in any case, repeated in another case), the body,
its base64 flag, the path's ids. Every answer must be a status under 500, and an error must carry
the contract's body with one of its codes. `HOSTILE_EVENTS` sets how many requests are drawn (the
default keeps `make test` fast; thousands were run while writing it).
"""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Invoke, load_event
from tests.integration.test_hostile_bodies import HTTP_FUNCTIONS

CONTRACT_CODES = {
    "VALIDATION_ERROR",
    "UNAUTHENTICATED",
    "SESSION_REVOKED",
    "SESSION_EXPIRED",
    "FORBIDDEN",
    "LIMIT_EXCEEDED",
    "MERCHANT_NOT_ALLOWED",
    "NOT_FOUND",
    "INVALID_STATE",
    "IDEMPOTENCY_KEY_REUSED",
    "RATE_LIMITED",
    # this project's own, documented in its API reference
    "VELOCITY_LIMIT",
    "PRECONDITION_FAILED",
    "PRECONDITION_REQUIRED",
    "CONSENT_REQUIRED",
}
QUERY_NAMES = ["limit", "cursor", "status", "from", "to", "agent_id", "session_id", "x", "limit[]", ""]
HEADER_NAMES = [
    "Idempotency-Key",
    "idempotency-key",
    "If-Match",
    "X-Session-Token",
    "Content-Type",
    "content-encoding",
    "Cookie",
    "x-forwarded-proto",
    "host",
    "X-Custom",
]
# Unicode digits among them: str.isdigit() is true of `¹` and `٣`, and int() refuses the first.
UNICODE_DIGITS = ["\u00b9", "\u0663", "\uff13", "\u00b23", '"\u00b9"', 'W/"\u0663"', "1\u00b9"]
TEXT = st.text(max_size=12) | st.sampled_from(
    ["", " ", "1", "-1", "1e9", "0x10", "%00", "a,b", "null", 'W/"1"', *UNICODE_DIGITS]
)
BODIES = (
    st.none()
    | TEXT
    | st.dictionaries(st.text(max_size=8), TEXT | st.integers() | st.none(), max_size=4).map(json.dumps)
)


@settings(
    max_examples=int(os.environ.get("HOSTILE_EVENTS", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    function=st.sampled_from(HTTP_FUNCTIONS),
    query=st.none() | st.dictionaries(st.sampled_from(QUERY_NAMES), TEXT, max_size=3),
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), TEXT, max_size=4),
    body=BODIES,
    encoded=st.booleans(),
    path_id=st.none() | TEXT,
)
def test_no_request_is_answered_with_a_server_error(
    invoke: Invoke,
    kms_key: str,
    function: str,
    query: dict[str, str] | None,
    headers: dict[str, str],
    body: str | None,
    encoded: bool,
    path_id: str | None,
) -> None:
    event = load_event(function)
    event["headers"] = {**event.get("headers", {}), **headers}
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in (query or {}).items())
    event["body"] = body
    event["isBase64Encoded"] = encoded
    if path_id is not None and event.get("pathParameters"):
        event["pathParameters"] = {name: path_id for name in event["pathParameters"]}
    answer = invoke(function, event)
    assert answer["statusCode"] < 500, (function, answer["statusCode"], answer.get("body", "")[:400])
    if answer["statusCode"] >= 400:
        error = answer["json"]["error"]
        assert error["code"] in CONTRACT_CODES, error
        assert isinstance(error["message"], str)
        assert isinstance(error["details"], dict)


def test_every_header_the_api_reads_with_unicode_digits_is_answered_by_the_contract(
    invoke: Invoke, kms_key: str
) -> None:
    """Every function, each header it may read set to digits that are not 0-9 (If-Match `¹` was a 500)."""
    for function in HTTP_FUNCTIONS:
        for header in ("Idempotency-Key", "If-Match", "X-Session-Token"):
            for value in UNICODE_DIGITS:
                event = load_event(function)
                event["headers"] = {**event.get("headers", {}), header: value}
                answer = invoke(function, event)
                assert answer["statusCode"] < 500, (function, header, value, answer.get("body", "")[:300])
                if answer["statusCode"] >= 400:
                    assert answer["json"]["error"]["code"] in CONTRACT_CODES
                if header == "If-Match" and function == "update_session":
                    assert answer["statusCode"] == 412, answer.get("body", "")[:300]
