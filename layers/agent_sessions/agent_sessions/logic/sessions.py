"""The service: what each operation does, in terms of records and a SessionStore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent_sessions.dal.ports import (
    ApiKeyStore,
    CredentialStore,
    SessionFilter,
    SessionReader,
    SessionRevoker,
    SessionStore,
)
from agent_sessions.domain.consent import wallet_kind
from agent_sessions.domain.credentials import (
    PresentedCredential,
    hash_secret,
    new_account_id,
    new_api_key,
    new_session_id,
    new_session_token,
    parse_bearer,
    secret_matches_hash,
    session_id_for_key,
    session_token_for_key,
)
from agent_sessions.domain.errors import (
    Forbidden,
    NotFound,
    SessionExpired,
    SessionRevoked,
    Unauthenticated,
    ValidationFailed,
)
from agent_sessions.domain.idempotency import IdempotentCreation, ensure_same_creation, request_fingerprint
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import DEFAULT_LIMITS_CENTS, Caller, SessionRecord
from agent_sessions.logic.agent_keys import agent_key_caller
from agent_sessions.logic.session_terms import limits_with, velocity_with
from agent_sessions.wire.models import CreateSessionRequest


@dataclass(frozen=True)
class CreatedSession:
    """A new session and its token, which is shown this once and never stored.

    On a replay of an Idempotency-Key, the session as its creation left it (the first answer)
    and the same token, derived again.
    """

    session: SessionRecord
    session_token: str
    replayed: bool = False


@dataclass(frozen=True)
class MintedApiKey:
    """A new API key (shown once) and the account it belongs to."""

    api_key: str
    account_id: str


def require_api_key(caller: Caller | None) -> Caller:
    """The caller, if it used an API key; 401 without a credential, 403 with a session token."""
    if caller is None:
        raise Unauthenticated()
    if caller.kind != "api_key":
        raise Forbidden("This endpoint needs an API key, not a session token.")
    return caller


def require_caller(caller: Caller | None) -> Caller:
    """Any authenticated caller; 401 without one."""
    if caller is None:
        raise Unauthenticated()
    return caller


def authenticate(store: CredentialStore, authorization: str | None) -> Caller | None:
    """Who an `Authorization` header speaks for; None for anything not genuine.

    A session token is genuine even once its session has ended: the endpoints answer
    SESSION_REVOKED or SESSION_EXPIRED for it, which is more useful than a bare 401.
    """
    presented = parse_bearer(authorization)
    if presented is None:
        return None
    if presented.kind == "api_key":
        account_id = store.find_account_for_api_key(hash_secret(presented.secret))
        return Caller(kind="api_key", account_id=account_id) if account_id else None
    if presented.kind == "agent_key":
        return agent_key_caller(store, presented)
    session = session_for_token(store, presented)
    return session_caller(session) if session else None


def session_for_token(store: SessionReader, presented: PresentedCredential) -> SessionRecord | None:
    """The session a presented session token names, if the token is genuine (hashes compared in constant time)."""
    if presented.kind != "session_token" or presented.session_id is None:
        return None
    session = store.get_session(presented.session_id)
    if session is None or not secret_matches_hash(presented.secret, session.token_hash):
        return None
    return session


def session_caller(session: SessionRecord) -> Caller:
    """The caller a session's genuine token stands for (with the session's terms, which never change)."""
    return Caller(kind="session_token", account_id=session.account_id, session_id=session.id, terms=session.terms)


def mint_api_key(store: ApiKeyStore, now: datetime, account_id: str | None = None, label: str = "") -> MintedApiKey:
    """Mint an API key for an account (a new one unless given); only its hash is stored."""
    api_key = new_api_key("test")
    account = account_id or new_account_id()
    store.put_api_key(hash_secret(api_key), account, label, now)
    return MintedApiKey(api_key=api_key, account_id=account)


def create_session(
    store: SessionStore,
    caller: Caller,
    request: CreateSessionRequest,
    now: datetime,
    idempotency: IdempotentCreation | None = None,
) -> CreatedSession:
    """Create a session for the caller's account; one write, the token returned once.

    With an Idempotency-Key the session's id and token derive from it, so the one conditional
    put that creates the session also finds the one a previous attempt created.
    """
    limits = limits_with(DEFAULT_LIMITS_CENTS, request.limits)
    if idempotency is None:
        session_id = new_session_id()
        token = new_session_token(session_id)
    else:
        session_id = session_id_for_key(caller.account_id, idempotency.key)
        token = session_token_for_key(idempotency.api_key, session_id)
    session = SessionRecord(
        id=session_id,
        account_id=caller.account_id,
        agent_id=request.agent_id,
        agent_name=request.agent_name,
        user_wallet=request.user_wallet,
        limits_cents=limits,
        allowed_merchants=request.allowed_merchants,
        stored_status="active",
        created_at=now,
        expires_at=now + timedelta(seconds=int(request.duration_hours * 3600)),
        token_hash=hash_secret(token),
        metadata=request.metadata or {},
        request_fingerprint=request_fingerprint(request.model_dump()) if idempotency else None,
        velocity=velocity_with({}, request.limits, request.rate_limits),
        warn_at_percent=request.warn_at_percent,
    )
    if request.require_consent:
        session = _consent_bound(session, request, now)
    elif request.mint_pkp:
        session = with_identity(session)
    existing = store.insert_session(session)
    if existing is None:
        return CreatedSession(session=session, session_token=token)
    return _replayed_session(existing, session, token)


def _consent_bound(session: SessionRecord, request: CreateSessionRequest, now: datetime) -> SessionRecord:
    """A session that waits for its wallet owner's signed consent (its identity, if any, minted then)."""
    if wallet_kind(session.user_wallet) is None:
        raise ValidationFailed(
            {"user_wallet": "must be an 0x Ethereum address or a base58 Solana key for its owner to sign consent"}
        )
    return session.with_changes(
        stored_status="pending_consent",
        consent_deadline=now + timedelta(minutes=request.consent_within_minutes),
        mint_pkp_on_consent=request.mint_pkp,
    )


def with_identity(session: SessionRecord) -> SessionRecord:
    """The session with its own identity, which signs its parameters (and consent, if given) once."""
    from agent_sessions.infra.identity import identity_provider  # the crypto loads only when needed

    attestation = identity_provider().mint(session.attestation_parameters())
    return session.with_changes(pkp_address=attestation.address, attestation_signature=attestation.signature)


def _replayed_session(existing: SessionRecord, attempt: SessionRecord, token: str) -> CreatedSession:
    """The first answer to an Idempotency-Key, if this is the same request from the same API key."""
    same = existing.account_id == attempt.account_id and existing.request_fingerprint == attempt.request_fingerprint
    ensure_same_creation("a session", same, token, existing.token_hash)
    return CreatedSession(session=existing.as_created(), session_token=token, replayed=True)


def get_session(store: SessionReader, caller: Caller, session_id: str, now: datetime) -> SessionRecord:
    """A session the caller may see: its account's (API key) or its own (session token)."""
    if caller.kind == "session_token" and caller.session_id != session_id:
        raise NotFound()
    session = store.get_session(session_id)
    if session is None or session.account_id != caller.account_id:
        raise NotFound()
    if caller.kind == "session_token":
        ensure_token_session_live(session, now)
    return session


@dataclass(frozen=True)
class AttestedParameters:
    """A session's provable parameters and their keccak-256; with mint_pkp, its identity's signature."""

    parameters: dict[str, Any]
    parameters_hash: str
    address: str | None
    signature: str | None

    def body(self) -> dict[str, Any]:
        """The wire shape of GET …/attestation (address and signature null without an identity)."""
        return {
            "address": self.address,
            "parameters": self.parameters,
            "parameters_hash": self.parameters_hash,
            "signature": self.signature,
        }


def get_attestation(store: SessionReader, caller: Caller, session_id: str, now: datetime) -> AttestedParameters:
    """A session's parameters and their hash, and what its identity signed over them (mint_pkp).

    Every session has provable parameters; only a session created with mint_pkp has an identity
    that signed them, so without one `address` and `signature` are null.
    """
    from agent_sessions.infra.identity import parameters_hash

    session = get_session(store, caller, session_id, now)
    parameters = session.attestation_parameters()
    return AttestedParameters(
        parameters=parameters,
        parameters_hash="0x" + parameters_hash(parameters).hex(),
        address=session.pkp_address if session.attestation_signature else None,
        signature=session.attestation_signature if session.pkp_address else None,
    )


def ensure_token_session_live(session: SessionRecord, now: datetime) -> None:
    """A session token works only while its session has not ended."""
    status = session.status_at(now)
    if status == "revoked":
        raise SessionRevoked()
    if status == "expired":
        raise SessionExpired()


def list_sessions(
    store: SessionStore,
    caller: Caller,
    limit: int,
    cursor: str | None,
    session_filter: SessionFilter,
    now: datetime,
) -> Page[SessionRecord]:
    """A page of the caller's sessions, newest first."""
    return store.list_sessions(caller.account_id, limit, cursor, session_filter, now)


def revoke_session(store: SessionRevoker, caller: Caller, session_id: str, now: datetime) -> SessionRecord:
    """Revoke at once; revoking again (or an ended session) changes nothing.

    Holds end with their session: each is released right away (one conditional write each), so
    its payment reads as expired and `agent.payment.expired` follows within the usual second
    rather than at the hold's own deadline. Should a release fail, reads already discount the
    hold and the expiry sweep releases it.
    """
    session = store.revoke_session(session_id, caller.account_id, now)
    if session is None:
        raise NotFound()
    for payment_id, hold in session.lapsed_holds(now).items():
        store.release_lapsed_hold(session, payment_id, hold)
    return session
