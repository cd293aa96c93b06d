"""The authorizer's context: how a caller travels from the authorizer to each handler.

API Gateway passes only flat string, number and boolean values through, so everything here is
a string. Kept apart from `api` so the authorizer does not import the HTTP resolver.
"""

from __future__ import annotations

from typing import Any

from agent_sessions.domain.records import (
    LIMIT_NAMES,
    Caller,
    LimitName,
    SessionTerms,
    format_timestamp,
    parse_timestamp,
)
from agent_sessions.domain.windows import VELOCITY_NAMES


def authorizer_context(caller: Caller | None) -> dict[str, str]:
    """What the authorizer hands each handler: flat string values (all API Gateway passes through).

    For a session token it includes the session's terms, so a payment needs no read before its
    one conditional write. Terms a PATCH changed since are caught by that write's condition on
    `terms_rev`, and the payment is checked again against the new ones.
    """
    if caller is None:
        return {"credential": "none"}
    context = {"credential": caller.kind, "account_id": caller.account_id}
    if caller.key_id and caller.scopes is not None:
        context.update(
            key_id=caller.key_id,
            scopes=" ".join(sorted(caller.scopes)),
            rate_limit_per_hour=str(caller.rate_limit_per_hour),
        )
    if caller.session_id:
        context["session_id"] = caller.session_id
    if caller.terms:
        context.update(_terms_context(caller.terms))
    return context


def _terms_context(terms: SessionTerms) -> dict[str, str]:
    context = {
        "created_at": format_timestamp(terms.created_at),
        "expires_at": format_timestamp(terms.expires_at),
        "terms_rev": str(terms.terms_rev),
        "agent_id": terms.agent_id,
    }
    context.update({f"limit_{name}": str(cents) for name, cents in terms.limits_cents.items()})
    context.update({f"velocity_{name}": str(count) for name, count in terms.velocity.items()})
    return context


def _terms_of(context: dict[str, Any]) -> SessionTerms | None:
    try:
        limits: dict[LimitName, int] = {name: int(context[f"limit_{name}"]) for name in LIMIT_NAMES}
        return SessionTerms(
            limits_cents=limits,
            created_at=parse_timestamp(str(context["created_at"])),
            expires_at=parse_timestamp(str(context["expires_at"])),
            velocity={
                name: int(context[f"velocity_{name}"]) for name in VELOCITY_NAMES if f"velocity_{name}" in context
            },
            terms_rev=int(context.get("terms_rev", 0)),
            agent_id=str(context.get("agent_id", "")),
        )
    except (KeyError, ValueError, TypeError):
        return None  # an older authorizer's cached context: the service reads the terms instead


def caller_from_context(context: dict[str, Any]) -> Caller | None:
    """The caller an authorizer context describes; None when anonymous."""
    kind = context.get("credential")
    account_id = context.get("account_id")
    if kind == "api_key" and account_id and context.get("key_id"):
        return _agent_key_caller(str(account_id), context)
    if kind == "api_key" and account_id:
        return Caller(kind="api_key", account_id=str(account_id))
    if kind == "session_token" and account_id and context.get("session_id"):
        return Caller(
            kind="session_token",
            account_id=str(account_id),
            session_id=str(context["session_id"]),
            terms=_terms_of(context),
        )
    return None


def _agent_key_caller(account_id: str, context: dict[str, Any]) -> Caller | None:
    try:
        rate_limit = int(context["rate_limit_per_hour"])
    except (KeyError, ValueError, TypeError):
        return None  # not a context the authorizer makes: anonymous
    return Caller(
        kind="api_key",
        account_id=account_id,
        key_id=str(context["key_id"]),
        scopes=frozenset(str(context.get("scopes", "")).split()),
        rate_limit_per_hour=rate_limit,
    )
