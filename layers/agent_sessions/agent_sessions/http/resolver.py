"""HTTP glue for the handlers: the resolver, the caller from the authorizer, errors to the contract.

The only module of the layer that knows API Gateway; the service never sees an event.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from agent_sessions.domain.credentials import parse_bearer
from agent_sessions.domain.errors import DomainError, NotFound, Unauthenticated, ValidationFailed, retry_after_seconds
from agent_sessions.domain.idempotency import MAX_IDEMPOTENCY_KEY_CHARS, IdempotentCreation, checked_idempotency_key
from agent_sessions.domain.jsonio import (
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    BodyHasDuplicateKey,
    BodyNotAnObject,
    BodyTooDeep,
    BodyTooLarge,
    encode_json,
    parse_json_object_body,
)
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.http.caller_context import caller_from_context
from agent_sessions.infra.observability import logger, metrics
from agent_sessions.logic.agent_keys import Admission, admit
from agent_sessions.wire.answers import ErrorOut

# Pydantic's names for the branch of a union or validator an error came from; not fields.
_NON_FIELD_LOC_PARTS = {"str", "int", "bool", "none", "dict", "list", "float", "decimal", "is-instance"}


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON answer, Decimals printed exactly."""
    return Response(status_code=status, content_type="application/json", body=encode_json(payload), headers=headers)


def error_response(error: DomainError) -> Response[str]:
    """The contract's error body for a domain error (counted, by status class, as a metric)."""
    metrics.add_metric(name="ServerError" if error.status >= 500 else "ClientError", unit=MetricUnit.Count, value=1)
    wait = retry_after_seconds(error)
    return json_response(
        error.status,
        {"error": {"code": error.code, "message": error.message, "details": error.details}},
        {"Retry-After": str(wait)} if wait is not None else None,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    if len(loc) > 1 and loc[0] == "header":
        return _header_name(str(loc[1]))
    parts: list[str] = []
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path") else loc:
        text = str(part)
        if text in _NON_FIELD_LOC_PARTS or "[" in text:
            break
        parts.append(text)
    if parts:
        return ".".join(parts)
    return str(loc[0]) if loc else "body"


def _header_name(lowercased: str) -> str:
    """A header as documented (`Idempotency-Key`); Powertools reports it lowercased."""
    return "-".join(word.capitalize() for word in lowercased.split("-"))


def validation_failure(errors: list[dict[str, Any]]) -> ValidationFailed:
    """Pydantic/Powertools validation errors as one VALIDATION_ERROR naming each field."""
    fields: dict[str, str] = {}
    for error in errors:
        loc = tuple(error.get("loc", ("body",)))
        if error.get("type") == "json_invalid":
            fields.setdefault("body", "is not valid JSON")
            continue
        message = str(error.get("msg", "is invalid"))
        if error.get("type") == "extra_forbidden":
            message = "is not a known field"
        elif error.get("type") == "missing":
            message = "is required"
        message = message.removeprefix("Value error, ")
        fields.setdefault(_field_path(loc), message)
    return ValidationFailed(fields or {"body": "is invalid"})


def _domain_error(error: DomainError) -> Response[str]:
    return error_response(error)


def _invalid_request(error: RequestValidationError) -> Response[str]:
    """422 naming each field; but an id in the path that cannot exist is simply not found (404)."""
    errors = list(error.errors())
    if any(tuple(found.get("loc", ()))[:1] == ("path",) for found in errors):
        return error_response(NotFound())
    return error_response(validation_failure(errors))


def _body_too_large(error: BodyTooLarge) -> Response[str]:
    return error_response(ValidationFailed({"body": f"must be at most {MAX_BODY_BYTES} bytes"}))


def _body_too_deep(error: BodyTooDeep) -> Response[str]:
    return error_response(ValidationFailed({"body": f"must nest arrays and objects at most {MAX_JSON_DEPTH} deep"}))


def _body_with_a_repeated_key(error: BodyHasDuplicateKey) -> Response[str]:
    return error_response(ValidationFailed({"body": f"names the key {encode_json(error.key)} twice in one object"}))


def _body_not_an_object(error: BodyNotAnObject) -> Response[str]:
    return error_response(ValidationFailed({"body": "must be a JSON object"}))


def _undecodable_body(error: UnicodeDecodeError) -> Response[str]:
    return error_response(ValidationFailed({"body": "is not UTF-8 text"}))


def _bad_base64_body(error: binascii.Error) -> Response[str]:
    return error_response(ValidationFailed({"body": "is not valid base64"}))


def _no_route(error: Exception) -> Response[str]:
    return error_response(NotFound("No such route."))


def _unexpected(error: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return error_response(DomainError())


# The contract's answer to each error a request can raise (the most specific class wins, as in
# Powertools' own lookup); every handler's resolver is given this table.
CONTRACT_ERROR_ANSWERS: dict[type[Exception], Callable[[Any], Response[str]]] = {
    DomainError: _domain_error,
    RequestValidationError: _invalid_request,
    BodyTooLarge: _body_too_large,
    BodyTooDeep: _body_too_deep,
    BodyHasDuplicateKey: _body_with_a_repeated_key,
    BodyNotAnObject: _body_not_an_object,
    UnicodeDecodeError: _undecodable_body,
    binascii.Error: _bad_base64_body,
    Exception: _unexpected,
}


def answer_errors_per_contract(app: APIGatewayHttpResolver) -> APIGatewayHttpResolver:
    """Make a handler's resolver answer every error with the contract's body (and nothing else)."""
    for error_class, answer in CONTRACT_ERROR_ANSWERS.items():
        app.exception_handler(error_class)(answer)
    app.not_found(_no_route)
    return app


def answer_to_error(error: Exception) -> Response[str]:
    """The contract's answer to `error`, looked up as the resolver looks it up."""
    for error_class in type(error).__mro__:
        answer = CONTRACT_ERROR_ANSWERS.get(error_class)
        if answer is not None:
            return answer(error)
    return _unexpected(error)  # pragma: no cover - Exception is in the table


# Every handler's resolver: validates with the pydantic models; bodies parse as exact JSON objects.
# (Each handler writes `app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)` so Powertools' OpenAPI
# merge can find it.)
RESOLVER_OPTIONS: dict[str, Any] = {"enable_validation": True, "json_body_deserializer": parse_json_object_body}


_ERROR_DESCRIPTIONS = {
    401: "No valid credential.",
    402: "LIMIT_EXCEEDED: over max_per_transaction or a window's remaining amount.",
    403: "The credential may not do this, the session has ended, or the merchant is not allowed.",
    404: "No such object for this credential.",
    409: "INVALID_STATE: the payment is not awaiting approval, or the session has ended.",
    412: "PRECONDITION_FAILED: If-Match is not the session's version (details.version is).",
    422: "Invalid input (details.fields names each field), or IDEMPOTENCY_KEY_REUSED.",
    428: "PRECONDITION_REQUIRED: the change needs If-Match.",
    429: "RATE_LIMITED (throttled, too many payments awaiting approval) or VELOCITY_LIMIT (Retry-After).",
}


def responses(
    status: int, model: type[BaseModel], description: str, *, also: dict[int, type[BaseModel]] | None = None
) -> dict[int, OpenAPIResponse]:
    """The OpenAPI answers of a route: its success model(s) and the contract's error bodies."""
    error: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
        "application/json": {"model": ErrorOut}
    }
    answers: dict[int, OpenAPIResponse] = {
        status: {"description": description, "content": {"application/json": {"model": model}}}
    }
    for other_status, other_model in (also or {}).items():
        answers[other_status] = {"description": description, "content": {"application/json": {"model": other_model}}}
    for error_status in (401, 403, 404, 422):
        answers[error_status] = {"description": _ERROR_DESCRIPTIONS[error_status], "content": error}
    return answers


def json_lines_responses(description: str) -> dict[int, OpenAPIResponse]:
    """The OpenAPI answers of a route that answers JSON Lines (application/x-ndjson), and its errors."""
    answers = responses(200, ErrorOut, description)
    answers[200] = {"description": description, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
    return answers


def responses_with_errors(
    status: int,
    model: type[BaseModel],
    description: str,
    errors: tuple[int, ...],
    *,
    also: dict[int, type[BaseModel]] | None = None,
) -> dict[int, OpenAPIResponse]:
    """responses() plus the errors particular to a route (402 and 429 for payments, 412 for PATCH, ...)."""
    answers = responses(status, model, description, also=also)
    error: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
        "application/json": {"model": ErrorOut}
    }
    for error_status in errors:
        answers[error_status] = {"description": _ERROR_DESCRIPTIONS[error_status], "content": error}
    return answers


def resolve_json(
    app: APIGatewayHttpResolver,
    event: dict[str, Any],
    context: Any,
    direct: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Resolve an event; every body is read as JSON whatever Content-Type says (`curl -d` sends a form type).

    A request with no usable credential is answered 401 before anything in it is validated, so
    nobody can probe the validation rules without a key (every route of this API needs one). An
    agent key's request is counted and checked against its scopes first (`agent_keys.admit`), and
    every answer to it carries the key's X-RateLimit-* headers. `direct` answers the request instead
    of the resolver (http/direct_route.py: the payment route).
    """
    caller = _caller_in(event)
    if caller is None:
        return proxy_answer(error_response(Unauthenticated()))
    try:
        admission = _admission(caller, event)
    except DomainError as error:
        return proxy_answer(error_response(error))
    if admission is not None and admission.refusal is not None:
        return proxy_answer(error_response(admission.refusal), admission.rate_limit.headers())
    result = direct(event, context) if direct is not None else app.resolve(_read_as_json(event), context)
    if admission is not None:
        result["headers"] = {**(result.get("headers") or {}), **admission.rate_limit.headers()}
    return result


def _read_as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event without its Content-Type, so Powertools reads any body as JSON (and an empty one as
    missing: with a type it does not parse, Powertools raised instead, an empty POST's 500)."""
    headers = event.get("headers") or {}
    if "content-type" in {name.lower() for name in headers}:
        return {**event, "headers": {k: v for k, v in headers.items() if k.lower() != "content-type"}}
    return event


def _admission(caller: Caller, event: dict[str, Any]) -> Admission | None:
    """An agent key's request counted and checked (None for other credentials: no request made)."""
    if caller.key_id is None:
        return None
    from agent_sessions.dal.dynamo import default_store

    route_key = str(event.get("routeKey") or (event.get("requestContext") or {}).get("routeKey") or "")
    return admit(default_store(), caller, route_key, utc_now())


# The Idempotency-Key header every creating POST takes (the ZendFi SDK sends one on every POST).
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_CHARS,
        pattern="^[ -~]+$",
        description=(
            "Makes the POST safe to retry: the same key with the same request answers the first answer "
            "and creates nothing; with a different request, 422 IDEMPOTENCY_KEY_REUSED. Scoped to the "
            "account (payments: to the session) and kept at least 24 hours. 1 to 255 printable ASCII characters."
        ),
    ),
]


# The platform's way to pay for a session with its API key as the bearer (ZendFi's documented header).
IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=64,
        description=(
            "The version of the session's terms this change applies to (its `version` field or ETag). "
            "Another version is 412; none is 428."
        ),
    ),
]
SessionTokenHeader = Annotated[
    str | None,
    Header(
        alias="X-Session-Token",
        description=(
            "With the platform's API key as the bearer: the token of the session to pay from (it must belong "
            "to the key's account, else 404). Not needed, and not read, with a session token as the bearer."
        ),
    ),
]


def url_of(app: APIGatewayHttpResolver, path: str) -> str:
    """The absolute URL of `path` on the host this request came to."""
    event = app.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    host = event.request_context.domain_name or event.headers.get("host", "")
    return f"{scheme}://{host}{path}"


def idempotent_creation(app: APIGatewayHttpResolver, key: str | None) -> IdempotentCreation | None:
    """The Idempotency-Key of a creating request and the API key it came with (None without a key)."""
    if checked_idempotency_key(key) is None:
        return None
    assert key is not None
    presented = parse_bearer(app.current_event.headers.get("authorization"))
    if presented is None or presented.kind == "session_token":
        return None  # past the authorizer this cannot happen; without the key, no replay can show a token
    return IdempotentCreation(key=key, api_key=presented.secret)


def bearer_secret(app: APIGatewayHttpResolver) -> str:
    """The secret the caller presented as its bearer (past the authorizer, always a well-formed one)."""
    presented = parse_bearer(app.current_event.headers.get("authorization"))
    if presented is None:
        raise Unauthenticated()
    return presented.secret


def caller_of(app: APIGatewayHttpResolver) -> Caller | None:
    """Who is calling, from the context the Lambda authorizer attached; None when anonymous."""
    return _caller_in(app.current_event.raw_event)


def _caller_in(event: dict[str, Any]) -> Caller | None:
    request_context = event.get("requestContext") or {}
    return _caller_described_by((request_context.get("authorizer") or {}).get("lambda") or {})


# A copy of the authorizer context last read, and its caller: resolve_json and then the route read
# the same context of an event, and a warm instance's next request usually carries an equal one
# (the same session token's, or the same API key's).
_last_caller: tuple[dict[str, Any], Caller | None] = ({}, None)


def _caller_described_by(context: dict[str, Any]) -> Caller | None:
    """caller_from_context, once per context: a context equal to the last one read answers at once
    (a Caller is frozen and a function of its context alone).

    Only a context of strings (all the authorizer writes) is kept: no other value equals a string,
    so a context equal to it is the same text, where `True == 1` would let another one match.
    """
    global _last_caller
    as_read, last_caller = _last_caller
    if context == as_read:
        return last_caller
    caller = caller_from_context(context)
    if all(type(value) is str for value in context.values()):
        _last_caller = (dict(context), caller)
    return caller


def proxy_answer(response: Response[str], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A Response as the HTTP API proxy result Powertools would make of it."""
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json", **response.headers, **(headers or {})},
        "body": response.body,
        "isBase64Encoded": False,
        "cookies": [],
    }
