"""Consent-bound sessions: the message the wallet's owner signs, and the signature that makes it active.

`GET …/consent` answers the exact message (and the canonical parameters it hashes); the owner signs
it in their wallet; `POST …/consent {signature}` checks the signature against `user_wallet` and, in
one conditional write, makes the session active. A second consent changes nothing; a wrong
signature is 422 and changes nothing; after the deadline the session reads expired.
"""

from __future__ import annotations

from datetime import datetime

from agent_sessions.dal.ports import SessionConsentStore
from agent_sessions.domain.consent import ConsentRequest, consent_request
from agent_sessions.domain.errors import InvalidState, ValidationFailed
from agent_sessions.domain.records import Caller, SessionRecord
from agent_sessions.logic.sessions import get_session, with_identity


def consent_to_sign(
    store: SessionConsentStore, caller: Caller, session_id: str, now: datetime
) -> tuple[SessionRecord, ConsentRequest]:
    """The session and its consent message (for the account's key, or the session's own token).

    Any session has one; only a consent-bound session (require_consent) waits for it.
    """
    from agent_sessions.infra.identity import keccak256

    session = get_session(store, caller, session_id, now)
    return session, consent_request(session, keccak256)


def give_consent(
    store: SessionConsentStore, caller: Caller, session_id: str, signature: str, now: datetime
) -> SessionRecord:
    """Make a consent-bound session active with its owner's signature over its consent message."""
    from agent_sessions.infra.consent_signatures import signature_is_the_wallets

    session, request = consent_to_sign(store, caller, session_id, now)
    if session.consent_deadline is None:
        raise InvalidState("This session was not created with require_consent; it needs no consent.")
    if session.consent_signature is not None:
        return session  # consented already: a second consent changes nothing
    _ensure_waiting(session, now)
    if not signature_is_the_wallets(session.user_wallet, request.message, signature):
        raise ValidationFailed(
            {"signature": f"is not {session.user_wallet}'s signature of this session's consent message"},
            "The signature does not match the wallet and the consent message; nothing changed.",
        )
    consented = session.with_changes(consent_signature=signature, stored_status="active")
    if session.mint_pkp_on_consent:
        consented = with_identity(consented)  # what it signs includes the consent
    written = store.record_consent(consented, now)
    if written is not None:
        return written
    current = store.get_session(session_id) or session
    if current.consent_signature is not None:
        return current
    _ensure_waiting(current, now)
    return current


def _ensure_waiting(session: SessionRecord, now: datetime) -> None:
    status = session.status_at(now)
    if status != "pending_consent":
        raise InvalidState(f"The session is {status}; it no longer waits for consent.", {"status": status})
