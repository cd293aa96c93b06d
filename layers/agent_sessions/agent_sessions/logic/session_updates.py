"""PATCH /api/v1/ai/sessions/{id}: safe changes of a live session's terms."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent_sessions.dal.ports import SessionTermsChanger, TermsNotWritten
from agent_sessions.domain.consent import consent_request, loosens
from agent_sessions.domain.errors import (
    ConsentRequired,
    DomainError,
    InvalidState,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from agent_sessions.domain.records import Caller, SessionRecord, format_timestamp, parse_timestamp
from agent_sessions.domain.term_changes import NamedTermChanges
from agent_sessions.logic.known_sessions import KnownSessions
from agent_sessions.logic.session_terms import limits_with, named_limits, velocity_with
from agent_sessions.logic.sessions import require_api_key
from agent_sessions.wire.models import MAX_DURATION_HOURS, UpdateSessionRequest

# A session never lasts past this long after its creation, whatever a PATCH asks.
MAX_LIFETIME = timedelta(hours=MAX_DURATION_HOURS)

# The live sessions this instance last read or changed here (per process, like a Lambda instance).
# A session's terms, its owner's consent and everything else a change is computed from stay as
# they are until the terms' revision moves, so a change asked at a known revision is computed from
# the known session and written in one request; its condition pins that revision.
known_terms = KnownSessions()


def parse_if_match(header: str | None) -> int:
    """The terms version an If-Match names: `3`, `"3"` or `W/"3"`; 428 without one, 412 if unreadable."""
    if header is None or not header.strip():
        raise PreconditionRequired()
    text = header.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 12:  # not `¹` or `٣`: str.isdigit says yes
        raise PreconditionFailed("If-Match must be the session's version (its `version` field or ETag).")
    return int(text)


def update_session(
    store: SessionTermsChanger,
    caller: Caller | None,
    session_id: str,
    request: UpdateSessionRequest,
    if_match: str | None,
    now: datetime,
) -> SessionRecord:
    """Change a live session's terms: one conditional write on the version If-Match names.

    When this instance knows the session at that version (it read or changed it last), the write
    is the only request. Otherwise a change of limits, velocity limits or the expiry is written
    blind, its checks in the write's condition (one request); any other change, and one that
    condition refuses, is computed from the session as it is (read, or sent back with the refusal)
    and written conditioned on its version.

    Lowering a limit, removing a merchant or shortening the life binds every payment committed
    after the write (their conditions check the terms' revision); what is already authorized
    stays. A window that has spent more than its new limit simply has nothing left.
    """
    caller = require_api_key(caller)
    expected = parse_if_match(if_match)
    known = _known_at(session_id, caller.account_id, expected)
    if known is not None:
        outcome = _written_from(store, known, request, expected, now) or TermsNotWritten(None)
    else:
        outcome = _written_unread(store, caller.account_id, session_id, request, expected, now)
    if isinstance(outcome, SessionRecord):
        return outcome
    session = outcome.session or store.get_session(session_id)
    if session is None or session.account_id != caller.account_id:
        raise NotFound()
    _remember_if_live(session)
    changed = _changed(session, request, now)
    _ensure_changeable(session, expected, now)
    if (changed.terms, changed.allowed_merchants) == (session.terms, session.allowed_merchants):
        return session  # nothing to change: no write, no new version
    changed = _consented(session, changed, request.consent_signature)
    written = store.change_terms(changed, expected, now)
    if written is not None:
        _remember_if_live(written)
        return written
    current = store.get_session(session_id) or session
    _ensure_changeable(current, expected, now)
    raise PreconditionFailed(details={"version": current.terms_rev})


def _known_at(session_id: str, account_id: str, terms_rev: int) -> SessionRecord | None:
    """The known session, if it is the caller's, was live and is at exactly the revision asked."""
    known = known_terms.pinnable(session_id)
    if known is None or known.account_id != account_id or known.terms_rev != terms_rev:
        return None
    return known


def _written_from(
    store: SessionTermsChanger, known: SessionRecord, request: UpdateSessionRequest, expected: int, now: datetime
) -> SessionRecord | None:
    """The change computed from `known` and written pinned to its revision: the session after it.

    None sends the request the long way (a read first): whenever the known session would refuse
    the change or find nothing to change (the answer must then come from the session as it is
    now, not as it was known), and when the write's condition fails (revoked, expired, or the
    terms moved meanwhile).
    """
    try:
        changed = _changed(known, request, now)
        _ensure_changeable(known, expected, now)
        if (changed.terms, changed.allowed_merchants) == (known.terms, known.allowed_merchants):
            return None
        changed = _consented(known, changed, request.consent_signature)
    except DomainError:
        return None
    written = store.change_terms(changed, expected, now)
    if written is not None:
        _remember_if_live(written)
    return written


def _written_unread(
    store: SessionTermsChanger,
    account_id: str,
    session_id: str,
    request: UpdateSessionRequest,
    expected: int,
    now: datetime,
) -> SessionRecord | TermsNotWritten:
    """The change written without reading the session, when it can be (see named_changes)."""
    changes = named_changes(request, now)
    if changes is None:
        return TermsNotWritten(None)
    outcome = store.change_terms_unread(account_id, session_id, changes, expected, now)
    if isinstance(outcome, SessionRecord):
        _remember_if_live(outcome)
    return outcome


def named_changes(request: UpdateSessionRequest, now: datetime) -> NamedTermChanges | None:
    """The terms a PATCH names, for a write that need not read the session; None when it must.

    It must for a merchant list (with none, the item has no attribute a write could copy, and
    whether a list changes anything needs the old one), a consent signature (it is checked against
    the new terms), an expiry that is not a future time, and a request that names nothing (its
    answer is the session as it is, with no write).
    """
    if "allowed_merchants" in request.model_fields_set or request.consent_signature is not None:
        return None
    limits = named_limits(request.limits)
    velocity = velocity_with({}, request.limits, request.rate_limits)
    if request.expires_at is None:
        return NamedTermChanges(limits, velocity) if limits or velocity else None
    expires_at = _future_time(request.expires_at, now)
    return NamedTermChanges(limits, velocity, expires_at, expires_at - MAX_LIFETIME) if expires_at else None


def _future_time(text: str, now: datetime) -> datetime | None:
    """The time `text` names, if it is one and after `now`."""
    try:
        moment = parse_timestamp(text)
    except ValueError:
        return None
    return moment if moment > now else None


def _remember_if_live(session: SessionRecord) -> None:
    """Keep an active session for the next change. Never one awaiting consent: its owner's
    signature arrives without moving the terms' revision, and the check of a loosening reads it."""
    if session.stored_status == "active":
        known_terms.remember(session)


def _consented(session: SessionRecord, changed: SessionRecord, signature: str | None) -> SessionRecord:
    """A consented session may be loosened only with its owner's signature over the new terms.

    Without one, the answer is 403 CONSENT_REQUIRED carrying the message to sign; lowering needs none.
    """
    if session.consent_signature is None or not loosens(session, changed):
        return changed
    from agent_sessions.infra.consent_signatures import signature_is_the_wallets
    from agent_sessions.infra.identity import keccak256

    request = consent_request(changed, keccak256)
    if signature is None or not signature_is_the_wallets(session.user_wallet, request.message, signature):
        raise ConsentRequired(
            "Raising a consented session's terms needs its owner's signature over the new terms "
            "(send it as consent_signature with the same change).",
            {"message": request.message, "parameters_sha256": request.parameters_sha256},
        )
    return changed.with_changes(consent_signature=signature)


def _ensure_changeable(session: SessionRecord, expected: int, now: datetime) -> None:
    status = session.status_at(now)
    if status in ("revoked", "expired"):
        raise InvalidState(f"The session is {status}; its terms can no longer change.", {"status": status})
    if session.terms_rev != expected:
        raise PreconditionFailed(
            f"The session's terms are at version {session.terms_rev}, not {expected}; read it again.",
            {"version": session.terms_rev},
        )


def _changed(session: SessionRecord, request: UpdateSessionRequest, now: datetime) -> SessionRecord:
    """The session with the request's changes (validated against its creation and `now`)."""
    merchants = session.allowed_merchants
    if "allowed_merchants" in request.model_fields_set:
        merchants = request.allowed_merchants
    expires_at = session.expires_at
    if request.expires_at is not None:
        expires_at = _checked_expiry(request.expires_at, session, now)
    return session.with_changes(
        limits_cents=limits_with(session.limits_cents, request.limits),
        velocity=velocity_with(session.velocity, request.limits, request.rate_limits),
        allowed_merchants=merchants,
        expires_at=expires_at,
        attested_parameters=session.attestation_parameters(),
    )


def _checked_expiry(text: str, session: SessionRecord, now: datetime) -> datetime:
    try:
        expires_at = parse_timestamp(text)
    except ValueError:
        raise ValidationFailed({"expires_at": "must be a time like 2026-11-24T10:00:00Z"}) from None
    latest = session.created_at + MAX_LIFETIME
    if expires_at > latest:
        raise ValidationFailed(
            {"expires_at": f"must be at most {MAX_DURATION_HOURS} hours after created_at ({format_timestamp(latest)})"}
        )
    if expires_at <= now:
        raise ValidationFailed({"expires_at": "must be in the future (revoke the session to end it now)"})
    return expires_at
