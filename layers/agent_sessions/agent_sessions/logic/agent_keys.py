"""Agent API keys: created and revoked by the account's API key; each request of a key is scoped and metered.

A key's scopes travel in the authorizer's context, so checking them costs no request. Each
request of an agent key makes one conditional update on the key's item (`admit`): it counts the
request in the key's hour and fails for a revoked key, so revocation binds on the next request
even while API Gateway still caches the authorizer's answer for that key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from agent_sessions.dal.ports import AgentKeyReader, AgentKeyStore
from agent_sessions.domain.agent_keys import AgentKeyRecord, RateLimitState, hour_index, hour_resets_at
from agent_sessions.domain.credentials import (
    PresentedCredential,
    agent_key_for_idempotency,
    agent_key_id_for_key,
    agent_key_prefix,
    hash_secret,
    new_agent_key,
    new_agent_key_id,
    secret_matches_hash,
)
from agent_sessions.domain.errors import (
    DomainError,
    InsufficientScope,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from agent_sessions.domain.idempotency import IdempotentCreation, ensure_same_creation, request_fingerprint
from agent_sessions.domain.records import Caller, format_timestamp
from agent_sessions.domain.scopes import checked_scopes, granted_scopes, require_scope
from agent_sessions.wire.models import CreateAgentKeyRequest


@dataclass(frozen=True)
class CreatedAgentKey:
    """A new agent key and its full key (shown once); on a replay, the same key again."""

    key: AgentKeyRecord
    full_key: str
    replayed: bool = False


def create_agent_key(
    store: AgentKeyStore,
    caller: Caller,
    request: CreateAgentKeyRequest,
    now: datetime,
    idempotency: IdempotentCreation | None = None,
) -> CreatedAgentKey:
    """Create an agent key for the caller's account (one conditional put); its secret only as a hash."""
    scopes = checked_scopes(request.scopes)
    if idempotency is None:
        key_id = new_agent_key_id()
        full_key = new_agent_key(key_id)
    else:
        key_id = agent_key_id_for_key(caller.account_id, idempotency.key)
        full_key = agent_key_for_idempotency(idempotency.api_key, key_id)
    key = AgentKeyRecord(
        id=key_id,
        account_id=caller.account_id,
        name=request.name,
        agent_id=request.agent_id,
        agent_name=request.agent_name,
        scopes=scopes,
        rate_limit_per_hour=request.rate_limit_per_hour,
        metadata=request.metadata or {},
        key_prefix=agent_key_prefix(full_key),
        key_hash=hash_secret(full_key),
        created_at=now,
        request_fingerprint=request_fingerprint(request.model_dump()) if idempotency else None,
    )
    existing = store.insert_agent_key(key)
    if existing is None:
        return CreatedAgentKey(key=key, full_key=full_key)
    same_request = existing.account_id == key.account_id and existing.request_fingerprint == key.request_fingerprint
    ensure_same_creation("an agent key", same_request, full_key, existing.key_hash)
    return CreatedAgentKey(key=existing, full_key=full_key, replayed=True)


def list_agent_keys(store: AgentKeyStore, caller: Caller) -> list[AgentKeyRecord]:
    """The account's agent keys, newest first, revoked ones included (never their secrets)."""
    return store.list_agent_keys(caller.account_id)


def revoke_agent_key(store: AgentKeyStore, caller: Caller, key_id: str, now: datetime) -> AgentKeyRecord:
    """Revoke one of the account's agent keys (one conditional update; again: no change); 404 for another's."""
    revoked = store.revoke_agent_key(key_id, caller.account_id, now)
    if revoked is None:
        raise NotFound()
    return revoked


def agent_key_caller(store: AgentKeyReader, presented: PresentedCredential) -> Caller | None:
    """The caller a genuine, unrevoked agent key stands for (its hash compared in constant time)."""
    if presented.kind != "agent_key" or presented.key_id is None:
        return None
    key = store.get_agent_key(presented.key_id)
    if key is None or not secret_matches_hash(presented.secret, key.key_hash) or not key.is_active:
        return None
    return Caller(
        kind="api_key",
        account_id=key.account_id,
        key_id=key.id,
        scopes=granted_scopes(key.scopes),
        rate_limit_per_hour=key.rate_limit_per_hour,
    )


@dataclass(frozen=True)
class Admission:
    """An agent key's request, counted: its X-RateLimit-* standing and, if refused, why (429 or 403)."""

    rate_limit: RateLimitState
    refusal: DomainError | None = None


def admit(store: AgentKeyStore, caller: Caller, route_key: str, now: datetime) -> Admission | None:
    """Count an agent key's request and check it: live (else 401), within its hour (429), scoped (403).

    None for the account's own API key and for session tokens, which are neither metered nor scoped.
    """
    if caller.key_id is None or caller.scopes is None:
        return None
    hour = hour_index(now)
    metered = store.meter_agent_key(caller.key_id, hour)
    if metered is None:
        raise Unauthenticated()
    state = RateLimitState(
        limit=metered.limit, remaining=max(metered.limit - metered.count, 0), reset_epoch=hour_resets_at(hour)
    )
    if metered.over:
        wait = max(state.reset_epoch - int(now.timestamp()), 1)
        details = {
            "limit": metered.limit,
            "resets_at": format_timestamp(moment(state.reset_epoch)),
            "retry_after_seconds": wait,
        }
        message = f"This key may make {metered.limit} requests an hour; they are used up until the hour ends."
        return Admission(state, RateLimited(message, details))
    try:
        require_scope(caller.scopes, route_key)
    except InsufficientScope as refusal:
        return Admission(state, refusal)
    return Admission(state)


def moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
