"""Writing and reading the decision log: its entries come from the table's stream, as events do.

Every session write that decides something (a payment authorized, held, approved, rejected or
lapsed; consent; a change of terms; revoke; expiry) and every declined payment record becomes one
entry, appended in stream order per session by a conditional transaction that also advances the
session's log head and marks the entry's source. A redelivered record finds its source marked and
appends nothing. The payment path makes no extra request: this runs in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from agent_sessions.dal.ports import DecisionLogStore, SessionReader
from agent_sessions.domain.decision_log import (
    Verdict,
    chained,
    replay,
    timestamp,
    verify_chain,
    windows_after,
)
from agent_sessions.domain.records import Caller, PaymentRecord, SessionRecord
from agent_sessions.infra.anchoring import LocalAnchor, statement
from agent_sessions.logic.outbox import Change, moment_of
from agent_sessions.logic.sessions import get_attestation

PaymentLookup = Callable[[str], PaymentRecord | None]
Source = tuple[str, str, dict[str, Any]]  # session id, what the entry comes from, its fields

_PAYMENT_KINDS = {
    "authorized": "payment_authorized",
    "pending_approval": "payment_held",
    "approved": "payment_approved",
    "rejected": "payment_rejected",
    "expired": "payment_lapsed",
}
MAX_APPEND_ATTEMPTS = 8


def genesis_of(attested: dict[str, Any]) -> str:
    """Where a chain starts: keccak-256 of the attested parameters without the consent signature (0x-hex),
    i.e. the session's parameters when it was created (the consent message's parameters_keccak256)."""
    from agent_sessions.infra.identity import parameters_hash

    created = {name: value for name, value in attested.items() if name != "consent_signature"}
    return "0x" + parameters_hash(created).hex()


def genesis(session: SessionRecord) -> str:
    """Where `session`'s chain starts."""
    return genesis_of(session.attestation_parameters())


class AuditReader(DecisionLogStore, SessionReader, Protocol):
    """What an export reads: the session (for its attestation) and its log."""


def export(store: AuditReader, caller: Caller, session_id: str, now: datetime) -> list[dict[str, Any]]:
    """The log as JSON Lines: first the attestation it starts from (not chained), then every entry.

    For the account's key, or the session's own token while the session is live.
    """
    attestation = get_attestation(store, caller, session_id, now)
    receipt = store.anchor_receipt(session_id)
    header = {"kind": "attestation", "session_id": session_id, **attestation.body()}
    return [header, *store.log_entries(session_id), *([receipt] if receipt else [])]


def verify_export(lines: list[dict[str, Any]]) -> tuple[Verdict, dict[str, int]]:
    """Check an exported log offline: the attestation's hash, the chain from it, the replayed limits and,
    once the session has ended, that the anchored head is the log's last entry."""
    verdict = Verdict()
    header = lines[0] if lines and lines[0].get("kind") == "attestation" else {}
    entries = lines[1:] if header else list(lines)
    receipt = entries.pop() if entries and entries[-1].get("kind") == "anchor" else None
    parameters = _check_attestation(header, verdict)
    verify_chain(entries, genesis_of(parameters), verdict)
    _check_consent(parameters, entries, verdict)
    if receipt is not None:
        _check_anchor(receipt, entries[-1] if entries else {}, verdict)
    return verdict, replay(entries, verdict)


def _check_attestation(header: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    from agent_sessions.infra.identity import parameters_hash

    parameters = dict(header.get("parameters") or {})
    verdict.checks["attestation"] = True
    if not header or "0x" + parameters_hash(parameters).hex() != header.get("parameters_hash"):
        verdict.fail("attestation", "the attestation line is missing or its parameters_hash is not its parameters'")
    return parameters


def _check_consent(parameters: dict[str, Any], entries: list[dict[str, Any]], verdict: Verdict) -> None:
    """A consent-bound session: the owner's signature is over the message its parameters make."""
    signature = parameters.get("consent_signature")
    consented = [entry.get("consent_signature") for entry in entries if entry.get("kind") == "consented"]
    if not parameters.get("require_consent") or (signature is None and not consented):
        return  # not consent-bound, or not consented yet
    verdict.checks["consent"] = True
    if not _owner_signed(parameters, signature):
        verdict.fail("consent", "the consent signature is not the wallet owner's over the session's parameters")
    elif consented[:1] not in ([], [signature]):
        verdict.fail("consent", "the log's consent is not the attested one")


def _owner_signed(parameters: dict[str, Any], signature: Any) -> bool:
    from agent_sessions.domain.consent import consent_message
    from agent_sessions.infra.consent_signatures import signature_is_the_wallets
    from agent_sessions.infra.identity import keccak256

    created = {name: value for name, value in parameters.items() if name != "consent_signature"}
    message, _, _ = consent_message(created, keccak256)
    return signature is not None and signature_is_the_wallets(str(parameters["user_wallet"]), message, str(signature))


def _check_anchor(receipt: dict[str, Any], last: dict[str, Any], verdict: Verdict) -> None:
    anchored = receipt.get("statement", {})
    verdict.checks["anchor"] = True
    if (anchored.get("seq"), anchored.get("head")) != (last.get("seq"), last.get("hash")):
        verdict.fail("anchor", "the anchored head is not the log's last entry: the log changed after it ended")


def record(store: DecisionLogStore, changes: list[Change], payment_of: PaymentLookup) -> int:
    """Append the entries `changes` call for, in order; how many were new.

    Each session's head is read once per batch and then known from the appends themselves.
    """
    appended = 0
    heads: dict[str, tuple[int, str] | None] = {}
    for change in changes:
        for session_id, source, fields in entries_for(change, payment_of):
            appended += _append(store, heads, (session_id, source, fields), change)
    return appended


def _append(store: DecisionLogStore, heads: dict[str, tuple[int, str] | None], source: Source, change: Change) -> int:
    session_id, marker, fields = source
    for _ in range(MAX_APPEND_ATTEMPTS):
        head = heads[session_id] if session_id in heads else store.log_head(session_id)
        if head is None and fields["kind"] != "session_created":
            return 0  # a session from before the log existed: nothing to chain to
        seq, prev = head if head is not None else (0, genesis(_session_of(change)))
        entry = chained(fields, seq + 1, prev)
        outcome = store.append_entry(session_id, marker, entry, seq)
        heads.pop(session_id, None)  # moved or duplicate: read it again next time
        if outcome == "appended":
            heads[session_id] = (seq + 1, str(entry["hash"]))
            _anchor_if_ended(store, change, entry, session_id)
        if outcome != "moved":
            return 1 if outcome == "appended" else 0
    raise RuntimeError(f"the decision log of {session_id} kept moving")  # the batch is retried


def _anchor_if_ended(store: DecisionLogStore, change: Change, entry: dict[str, Any], session_id: str) -> None:
    """Once a session has ended, each new head is anchored (the last one stands for the whole log).

    A session write says so by its status; a declined payment by its reason (an ended session is
    the first rule a payment meets, so any later decline says the session ended).
    """
    record = change.new
    ended = isinstance(record, SessionRecord) and record.stored_status in ("revoked", "expired")
    if isinstance(record, PaymentRecord) and record.decline is not None:
        ended = record.decline.code in ("SESSION_REVOKED", "SESSION_EXPIRED")
    if ended:
        receipt = LocalAnchor().anchor(statement(session_id, int(entry["seq"]), str(entry["hash"])))
        store.record_anchor(session_id, receipt.line())


def _session_of(change: Change) -> SessionRecord:
    assert isinstance(change.new, SessionRecord)
    return change.new


def entries_for(change: Change, payment_of: PaymentLookup) -> list[Source]:
    """The log entries one stream record calls for (often none)."""
    new, old = change.new, change.old
    if isinstance(new, PaymentRecord):
        return _declined(new) if old is None and new.stored_status == "declined" else []
    if not isinstance(new, SessionRecord):
        return []
    at = moment_of(new.changed_at_ns) if new.changed_at_ns else change.at
    source = f"v{new.version}"
    if not isinstance(old, SessionRecord):
        return [
            (
                new.id,
                source,
                {"kind": "session_created", "at": timestamp(new.created_at), "terms": _terms(new), "windows_after": {}},
            )
        ]
    found = _payment_entry(old, new, payment_of, at) + _session_entries(old, new, at)
    return [(new.id, f"{source}:{n}", fields) for n, fields in enumerate(found)]


def _declined(payment: PaymentRecord) -> list[Source]:
    decline = payment.decline
    rule = str(decline.details.get("limit") or decline.code.lower()) if decline else None
    fields = {
        "kind": "payment_declined",
        "at": timestamp(payment.created_at),
        "payment_id": payment.id,
        "amount": payment.amount_cents,
        "rule": rule,
    }
    return [(payment.session_id, f"declined:{payment.id}", fields)]


def _payment_entry(
    old: SessionRecord, new: SessionRecord, payment_of: PaymentLookup, at: datetime
) -> list[dict[str, Any]]:
    mark = new.last_payment_change
    if mark is None or old.last_payment_change == mark:
        return []
    payment = payment_of(mark.payment_id)
    kind = _PAYMENT_KINDS[mark.change]
    moment = payment.created_at if payment is not None and kind in ("payment_authorized", "payment_held") else at
    fields: dict[str, Any] = {"kind": kind, "at": timestamp(moment), "payment_id": mark.payment_id}
    if payment is not None:
        fields["amount"] = payment.amount_cents
    fields["windows_after"] = windows_after(new.committed_cents, new.created_at, moment)
    return [fields]


def _session_entries(old: SessionRecord, new: SessionRecord, at: datetime) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    if old.stored_status == "pending_consent" and new.stored_status == "active":
        entries.append({"kind": "consented", "at": timestamp(at), "consent_signature": new.consent_signature})
    if old.terms_rev != new.terms_rev:
        entries.append({"kind": "terms_changed", "at": timestamp(at), "terms": _terms(new)})
    if old.stored_status != new.stored_status and new.stored_status in ("revoked", "expired"):
        entries.append({"kind": new.stored_status, "at": timestamp(at)})
    return entries


def _terms(session: SessionRecord) -> dict[str, Any]:
    """The terms an entry records (integers and strings only, so the entry reads back as written)."""
    merchants = session.allowed_merchants
    return {
        "limits": dict(session.limits_cents),
        "velocity": dict(session.velocity),
        "allowed_merchants": list(merchants) if merchants is not None else None,
        "expires_at": timestamp(session.expires_at),
    }
