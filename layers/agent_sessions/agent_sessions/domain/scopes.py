"""Scopes: what an agent key may call. One table says which scope each route needs.

An account's own API key holds every scope. An agent key holds the scopes it was created with:
the ZendFi SDK's names (`full`, `read_only`, `create_payments`, `read_analytics`, ...), each
standing for a set of the finer scopes below, or the finer scopes themselves. `keys:write` is
never granted to an agent key: only the account's API key manages keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from agent_sessions.domain.errors import InsufficientScope, ValidationFailed

SESSIONS_READ = "sessions:read"
SESSIONS_WRITE = "sessions:write"
PAYMENTS_CREATE = "payments:create"
PAYMENTS_READ = "payments:read"
PAYMENTS_APPROVE = "payments:approve"
WEBHOOKS_READ = "webhooks:read"
WEBHOOKS_WRITE = "webhooks:write"
ANALYTICS_READ = "analytics:read"
KEYS_WRITE = "keys:write"

FINE_SCOPES = (
    SESSIONS_READ,
    SESSIONS_WRITE,
    PAYMENTS_CREATE,
    PAYMENTS_READ,
    PAYMENTS_APPROVE,
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    ANALYTICS_READ,
    KEYS_WRITE,
)
GRANTABLE_SCOPES = frozenset(FINE_SCOPES) - {KEYS_WRITE}

# The SDK's scope names and the fine scopes each grants here. `create_subscriptions`,
# `manage_escrow` and `manage_installments` name ZendFi products this service does not have:
# accepted, so an SDK call that sends them works, and granting nothing.
SDK_SCOPES: dict[str, frozenset[str]] = {
    "full": GRANTABLE_SCOPES,
    "read_only": frozenset({SESSIONS_READ, PAYMENTS_READ, WEBHOOKS_READ, ANALYTICS_READ}),
    "create_payments": frozenset({PAYMENTS_CREATE, PAYMENTS_READ}),
    "read_analytics": frozenset({ANALYTICS_READ}),
    "create_subscriptions": frozenset(),
    "manage_escrow": frozenset(),
    "manage_installments": frozenset(),
}
DEFAULT_AGENT_KEY_SCOPES = ("create_payments",)

# Every name an agent key may be given (the request model's enumeration; a test keeps it equal to
# the SDK names and the grantable fine scopes above).
ScopeName = Literal[
    "full",
    "read_only",
    "create_payments",
    "read_analytics",
    "create_subscriptions",
    "manage_escrow",
    "manage_installments",
    "sessions:read",
    "sessions:write",
    "payments:create",
    "payments:read",
    "payments:approve",
    "webhooks:read",
    "webhooks:write",
    "analytics:read",
]
SCOPE_NAMES: tuple[str, ...] = get_args(ScopeName)
# What the SDK sends when the caller names no scopes.
DEFAULT_AGENT_KEY_SCOPE: ScopeName = "create_payments"

# Route (API Gateway's route key) -> the scope it needs. Every route of the API is here: a route
# missing from it is refused to every agent key (a test checks the table against the template).
ROUTE_SCOPES: dict[str, str] = {
    "POST /api/v1/ai/sessions": SESSIONS_WRITE,
    "GET /api/v1/ai/sessions": SESSIONS_READ,
    "GET /api/v1/ai/sessions/{id}": SESSIONS_READ,
    "PATCH /api/v1/ai/sessions/{id}": SESSIONS_WRITE,
    "POST /api/v1/ai/sessions/{id}/revoke": SESSIONS_WRITE,
    "GET /api/v1/ai/sessions/{id}/attestation": SESSIONS_READ,
    "GET /api/v1/ai/sessions/{id}/audit": SESSIONS_READ,
    "GET /api/v1/ai/sessions/{id}/consent": SESSIONS_READ,
    "POST /api/v1/ai/sessions/{id}/consent": SESSIONS_WRITE,
    "GET /api/v1/ai/sessions/{id}/payments": PAYMENTS_READ,
    "POST /api/v1/payments": PAYMENTS_CREATE,
    "POST /api/v1/ai/smart-payment": PAYMENTS_CREATE,
    "POST /api/v1/payments/check": PAYMENTS_CREATE,
    "GET /api/v1/payments": PAYMENTS_READ,
    "GET /api/v1/payments/{id}": PAYMENTS_READ,
    "POST /api/v1/payments/{id}/approve": PAYMENTS_APPROVE,
    "POST /api/v1/payments/{id}/reject": PAYMENTS_APPROVE,
    "POST /api/v1/payment-intents": PAYMENTS_CREATE,
    "GET /api/v1/payment-intents": PAYMENTS_READ,
    "GET /api/v1/payment-intents/{id}": PAYMENTS_READ,
    "POST /api/v1/payment-intents/{id}/confirm": PAYMENTS_CREATE,
    "POST /api/v1/payment-intents/{id}/capture": PAYMENTS_APPROVE,
    "POST /api/v1/payment-intents/{id}/cancel": PAYMENTS_CREATE,
    "GET /api/v1/webhooks": WEBHOOKS_READ,
    "POST /api/v1/webhooks": WEBHOOKS_WRITE,
    "DELETE /api/v1/webhooks/{id}": WEBHOOKS_WRITE,
    "GET /api/v1/analytics/agents": ANALYTICS_READ,
    "POST /api/v1/agent-keys": KEYS_WRITE,
    "GET /api/v1/agent-keys": KEYS_WRITE,
    "POST /api/v1/agent-keys/{id}/revoke": KEYS_WRITE,
}


def checked_scopes(requested: Sequence[str]) -> tuple[str, ...]:
    """The scopes an agent key is created with, each known and grantable (a 422 naming `scopes` if not)."""
    for scope in requested:
        if scope == KEYS_WRITE:
            raise ValidationFailed({"scopes": "keys:write is held only by the account's API key"})
        if scope not in SDK_SCOPES and scope not in GRANTABLE_SCOPES:
            known = ", ".join([*SDK_SCOPES, *sorted(GRANTABLE_SCOPES)])
            raise ValidationFailed({"scopes": f"{scope!r} is not a scope; known scopes: {known}"})
    return tuple(dict.fromkeys(requested))  # each once, in the order given


def granted_scopes(scopes: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The fine scopes a key's scopes grant (SDK names expanded)."""
    granted: set[str] = set()
    for scope in scopes:
        granted |= SDK_SCOPES.get(scope, frozenset({scope}) & GRANTABLE_SCOPES)
    return frozenset(granted)


def require_scope(granted: frozenset[str], route_key: str) -> None:
    """Nothing if `granted` allows the route; 403 INSUFFICIENT_SCOPE naming the scope it needs."""
    needed = ROUTE_SCOPES.get(route_key, KEYS_WRITE)  # an unlisted route: only the account's key
    if needed not in granted:
        raise InsufficientScope(needed)
