"""docs/api.md: the API reference, written from openapi.json so the two can never disagree."""

from __future__ import annotations

import json
from typing import Any

from agent_sessions_local.template import PROJECT_ROOT

API_REFERENCE_PATH = PROJECT_ROOT / "docs" / "api.md"

_PREAMBLE = """# API reference

Generated from `openapi.json` by `make openapi`; a test fails when this file is out of date.
Every route takes `Authorization: Bearer <credential>`: an API key (`zfi_test_…`) or a session
token (`zai_session_…`). Amounts are JSON numbers of dollars with at most two decimals, exact
(never floats). Every error is `{"error": {"code", "message", "details"}}`.

{errors}

Webhook events: `agent.session.created`, `agent.session.revoked`, `agent.session.expired`,
`agent.session.updated` (with `changes.before` and `changes.after`),
`agent.session.limit_reached`, `agent.payment.authorized`, `agent.payment.pending_approval`,
`agent.payment.approved`, `agent.payment.rejected`, `agent.payment.expired`; each body is
`{"id", "event", "timestamp", "merchant_id", "data"}`, signed (see the README).
"""


_ERRORS = [
    ("401", "`UNAUTHENTICATED`", "no usable credential; checked before anything in the request is validated"),
    (
        "402",
        "`LIMIT_EXCEEDED`",
        "`details`: `limit`, `limit_amount`, `remaining` (the largest amount that would pass now), "
        "`attempted`, `resets_at`",
    ),
    (
        "403",
        "`FORBIDDEN`, `SESSION_REVOKED`, `SESSION_EXPIRED`, `MERCHANT_NOT_ALLOWED`",
        "the credential may not do this, the session has ended, or the merchant is not allowed",
    ),
    ("404", "`NOT_FOUND`", "no such object for this credential (another account's included)"),
    ("405", "`METHOD_NOT_ALLOWED`", "a known path with a method it does not take (`Allow` lists those it does)"),
    ("409", "`INVALID_STATE`", "approve or reject of a payment not awaiting approval; PATCH of an ended session"),
    ("412", "`PRECONDITION_FAILED`", "PATCH whose `If-Match` is not the session's `version` (`details.version`)"),
    ("422", "`VALIDATION_ERROR`, `IDEMPOTENCY_KEY_REUSED`", "`details.fields` names each invalid field"),
    ("428", "`PRECONDITION_REQUIRED`", "PATCH without `If-Match`"),
    (
        "429",
        "`RATE_LIMITED`, `VELOCITY_LIMIT`",
        "throttled, busy, too many payments awaiting approval, or a session's payments per minute, hour or "
        "day used up (`details`: `limit`, `limit_count`, `resets_at`; `Retry-After` header)",
    ),
    ("500", "`INTERNAL`", "never with a stack trace"),
]


def _error_table() -> str:
    rows = [f"| {status} | {codes} | {when} |" for status, codes, when in _ERRORS]
    return "\n".join(["| status | code | when |", "|---|---|---|", *rows])


def _schema_name(schema: dict[str, Any]) -> str:
    reference = str(schema.get("$ref", ""))
    return reference.rsplit("/", 1)[-1] if reference else str(schema.get("type", "object"))


def _type_of(schema: dict[str, Any]) -> str:
    for key, shown in _SHOWN_AS.items():
        if key in schema:
            return str(shown(schema))
    if schema.get("type") == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


_SHOWN_AS: dict[str, Any] = {
    "$ref": lambda schema: f"[{_schema_name(schema)}](#{_schema_name(schema).lower()})",
    "anyOf": lambda schema: " or ".join(_type_of(option) for option in schema["anyOf"]),
    "const": lambda schema: f"`{json.dumps(schema['const'])}`",
    "enum": lambda schema: " \\| ".join(f"`{value}`" for value in schema["enum"]),
}
_BOUNDS = ("minLength", "maxLength", "minimum", "exclusiveMinimum", "maximum", "pattern", "multipleOf", "default")


def _bounds(schema: dict[str, Any]) -> str:
    found: dict[str, Any] = {}
    for part in [schema, *schema.get("anyOf", [])]:
        found.update({name: part[name] for name in _BOUNDS if name in part})
    return ", ".join(f"{name} {json.dumps(value)}" for name, value in found.items())


def _operation(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    text = str(operation.get("description") or operation.get("summary") or "")
    if text and text != f"{method.upper()} {path}":
        lines += [text, ""]
    lines += [_parameter(parameter) for parameter in operation.get("parameters", [])]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        lines.append(f"- body: {_type_of(body)}")
    for status, answer in sorted(operation.get("responses", {}).items()):
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        lines.append(f"- **{status}** {_type_of(schema) if schema else ''}: {answer.get('description', '')}")
    return [*lines, ""]


def _parameter(parameter: dict[str, Any]) -> str:
    schema = parameter.get("schema", {})
    required = " (required)" if parameter.get("required") else ""
    return f"- {parameter['in']} `{parameter['name']}`{required}: {_type_of(schema)} {_bounds(schema)}".rstrip()


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [str(schema["description"]), ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | bounds |", "|---|---|---|---|"]
        for field, spec in properties.items():
            lines.append(f"| `{field}` | {_type_of(spec)} | {'yes' if field in required else ''} | {_bounds(spec)} |")
    return [*lines, ""]


def build_api_reference(document: dict[str, Any]) -> str:
    """The Markdown reference of an OpenAPI document: operations, then schemas."""
    lines = [_PREAMBLE.replace("{errors}", _error_table()), "## Operations", ""]
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            lines += _operation(method, path, operation)
    lines += ["## Schemas", ""]
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        lines += _schema(name, schema)
    return "\n".join(lines).rstrip() + "\n"
