"""Every store Protocol in memory: the same conditions as the DynamoDB expressions, under one lock.

For fast unit tests of the operations (no emulator, no network). `tests/stores` runs one behavioural
suite against this and DynamoDB (moto), so the two keep the same meaning: a write here succeeds
exactly when its condition expression would, and changes what the update expression would.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from agent_sessions.dal.memory_analytics import MemoryAnalytics
from agent_sessions.dal.memory_conditions import (
    admits,
    debited,
    decidable,
    due_entry,
    due_to_expire,
    epoch,
    kept,
    session_due_at,
    to_second,
)
from agent_sessions.dal.memory_decisions import MemorySessionDecisions
from agent_sessions.dal.memory_intents import MemoryIntents
from agent_sessions.dal.memory_keys import MemoryAgentKeys
from agent_sessions.dal.memory_listing import MemoryAccountPayments, newest_first_page
from agent_sessions.dal.memory_log import MemoryDecisionLog
from agent_sessions.dal.memory_webhooks import MemoryWebhooks
from agent_sessions.dal.ports import (
    CommitOutcome,
    DueItem,
    DuePage,
    IntentNotPayable,
    PaymentAlreadyExists,
    PaymentCommitted,
    SessionFilter,
    SessionRefused,
    TermsNotWritten,
)
from agent_sessions.domain.held_decisions import hold_window_keys
from agent_sessions.domain.pages import Page
from agent_sessions.domain.payment_rules import PaymentChecks, session_after_hold_ends, spent_by_decision
from agent_sessions.domain.records import Decision, Hold, PaymentRecord, SessionRecord
from agent_sessions.domain.term_changes import NamedTermChanges

DUE_PAGE_SIZE = 100


class AlreadyExists(Exception):
    """An insert found its key taken (DynamoDB: ConditionalCheckFailedException)."""


class MemoryStore(
    MemoryDecisionLog,
    MemoryAnalytics,
    MemoryAccountPayments,
    MemoryAgentKeys,
    MemoryIntents,
    MemoryWebhooks,
    MemorySessionDecisions,
):
    """Every store Protocol in memory (the decision log, analytics, listings and agent keys from mixins)."""

    def __init__(self) -> None:
        super().__init__()  # the decision log's and the analytics' state
        self._lock = threading.RLock()
        self._sequence = itertools.count(1)
        self._api_keys: dict[str, str] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._resume_tasks: dict[tuple[str, str], datetime] = {}
        self._payments: dict[str, PaymentRecord] = {}
        self._written_at: dict[str, int] = {}  # listing order: newest first

    # ---- API keys ------------------------------------------------------------------------------

    def find_account_for_api_key(self, key_hash: str) -> str | None:
        with self._lock:
            return self._api_keys.get(key_hash)

    def put_api_key(self, key_hash: str, account_id: str, label: str, created_at: datetime) -> None:
        with self._lock:
            if key_hash in self._api_keys:
                raise AlreadyExists(key_hash)
            self._api_keys[key_hash] = account_id

    # ---- sessions ------------------------------------------------------------------------------

    def insert_session(self, session: SessionRecord) -> SessionRecord | None:
        with self._lock:
            if session.id in self._sessions:
                return self._sessions[session.id]
            self._sessions[session.id] = session
            self._written_at[session.id] = next(self._sequence)
            return None

    def get_session(self, session_id: str) -> SessionRecord | None:
        with self._lock:
            return self._sessions.get(session_id)

    def list_sessions(
        self, account_id: str, limit: int, cursor: str | None, session_filter: SessionFilter, now: datetime
    ) -> Page[SessionRecord]:
        with self._lock:
            ordered = sorted(
                (
                    (self._written_at[s.id], s)
                    for s in self._sessions.values()
                    if s.account_id == account_id and kept(s, session_filter, now)
                ),
                key=lambda entry: -entry[0],
            )
        items, next_cursor = newest_first_page(ordered, limit, cursor, "SESS#")
        return Page(items, next_cursor)

    def revoke_session(self, session_id: str, account_id: str, now: datetime) -> SessionRecord | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.account_id != account_id:
                return None
            live = session.stored_status in ("active", "pending_consent")
            if not live or epoch(session.expires_at) <= epoch(now):
                return session
            revoked = replace(session, stored_status="revoked", revoked_at=now, version=session.version + 1)
            self._sessions[session_id] = revoked
            return revoked

    def record_consent(self, consented: SessionRecord, now: datetime) -> SessionRecord | None:
        with self._lock:
            session = self._sessions.get(consented.id)
            deadline = session.consent_deadline if session is not None else None
            if (
                session is None
                or session.account_id != consented.account_id
                or session.stored_status != "pending_consent"
                or deadline is None
                or epoch(deadline) <= epoch(now)
            ):
                return None
            updated = replace(
                session,
                stored_status="active",
                consent_signature=consented.consent_signature,
                pkp_address=consented.pkp_address,
                attestation_signature=consented.attestation_signature,
                version=session.version + 1,
            )
            self._sessions[session.id] = updated
            return updated

    def change_terms(self, changed: SessionRecord, expected_rev: int, now: datetime) -> SessionRecord | None:
        with self._lock:
            session = self._sessions.get(changed.id)
            if session is None or not _terms_changeable(session, changed.account_id, expected_rev, now):
                return None
            updated = replace(
                session,
                limits_cents=dict(changed.limits_cents),
                velocity=dict(changed.velocity),
                allowed_merchants=changed.allowed_merchants,
                expires_at=changed.expires_at,
                consent_signature=changed.consent_signature,
                terms_rev=expected_rev + 1,
                attested_parameters=session.attested_parameters or changed.attestation_parameters(),
                version=session.version + 1,
            )
            self._sessions[session.id] = updated
            return updated

    def change_terms_unread(
        self, account_id: str, session_id: str, changes: NamedTermChanges, expected_rev: int, now: datetime
    ) -> SessionRecord | TermsNotWritten:
        with self._lock:
            session = self._sessions.get(session_id)
            if (
                session is None
                or not _terms_changeable(session, account_id, expected_rev, now)
                or session.consent_signature is not None
                or not changes.applies_to(session)
            ):
                return TermsNotWritten(session)
            updated = changes.applied_to(session)
            self._sessions[session.id] = updated
            return updated

    # ---- payments ------------------------------------------------------------------------------

    def commit_payment(
        self,
        payment: PaymentRecord,
        checks: PaymentChecks,
        now: datetime,
        expected_version: int | None = None,
    ) -> CommitOutcome:
        with self._lock:
            existing = self._payments.get(payment.id)
            if existing is not None:
                return PaymentAlreadyExists(existing)
            session = self._sessions.get(payment.session_id)
            if session is None or not admits(session, payment, checks, now, expected_version):
                return SessionRefused(session)
            if not self._intent_payable(payment, now):
                return IntentNotPayable()
            self._sessions[session.id] = debited(session, payment, checks)
            self._store_payment(payment)
            self._confirm_intent(payment, now)
            return PaymentCommitted()

    def insert_declined_payment(self, payment: PaymentRecord) -> PaymentRecord | None:
        with self._lock:
            existing = self._payments.get(payment.id)
            if existing is not None:
                return existing
            self._store_payment(payment)
            return None

    def get_payments(self, payment_ids: list[str]) -> dict[str, PaymentRecord]:
        with self._lock:
            return {pid: self._payments[pid] for pid in payment_ids if pid in self._payments}

    def get_payment(self, payment_id: str) -> PaymentRecord | None:
        with self._lock:
            return self._payments.get(payment_id)

    def list_payments(self, session_id: str, limit: int, cursor: str | None) -> Page[PaymentRecord]:
        with self._lock:
            ordered = sorted(
                (
                    (self._written_at[p.id], p)
                    for p in self._payments.values()
                    if p.session_id == session_id and p.stored_status != "declined"
                ),
                key=lambda entry: -entry[0],
            )
        items, next_cursor = newest_first_page(ordered, limit, cursor, "PAY#")
        return Page(items, next_cursor)

    def get_payment_and_session(
        self, payment_id: str, session_id: str
    ) -> tuple[PaymentRecord | None, SessionRecord | None]:
        with self._lock:
            return self._payments.get(payment_id), self._sessions.get(session_id)

    def decide_payment(
        self,
        payment: PaymentRecord,
        decision: Decision,
        now: datetime,
        captured_cents: int | None = None,
        expected_version: int | None = None,
        decision_key: str | None = None,
    ) -> bool:
        with self._lock:
            stored = self._payments.get(payment.id)
            session = self._sessions.get(payment.session_id)
            if not decidable(stored, session, now, expected_version) or not self._intent_settleable(payment):
                return False
            assert stored is not None  # decidable() checked it
            assert session is not None
            approve = decision == "authorized"
            spent = spent_by_decision(payment.amount_cents, decision, captured_cents)
            self._payments[payment.id] = replace(
                stored,
                stored_status=decision,
                decided_at=now,
                amount_cents=spent if approve else stored.amount_cents,
                decision_key=decision_key,
            )
            self._sessions[session.id] = session_after_hold_ends(
                session,
                payment.id,
                payment.amount_cents,
                payment.window_keys,
                released_cents=payment.amount_cents - spent,
            )
            self._settle_intent(payment, decision, now)
            return True

    def release_lapsed_hold(self, session: SessionRecord, payment_id: str, hold: Hold) -> bool:
        window_keys = hold_window_keys(session.created_at, hold)
        return self._lapse(session.id, payment_id, hold.amount_cents, window_keys, session.hold_lapses_at(hold))

    # ---- the expiry sweep ----------------------------------------------------------------------

    def due_items(self, shard: int, now: datetime, cursor: dict[str, Any] | None) -> DuePage:
        with self._lock:
            due = sorted(
                (sort_key, item)
                for sort_key, item in self._due_entries(shard)
                if int(sort_key.split("#", 1)[0]) <= epoch(now)
            )
        after = cursor["gsi2sk"] if cursor else None
        remaining = [(key, item) for key, item in due if after is None or key > after]
        page = remaining[:DUE_PAGE_SIZE]
        more = len(remaining) > DUE_PAGE_SIZE
        return DuePage(items=[item for _, item in page], next_cursor={"gsi2sk": page[-1][0]} if more else None)

    def expire_session(self, session_id: str, now: datetime) -> bool:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not due_to_expire(session, now):
                return False
            self._sessions[session_id] = replace(session, stored_status="expired", version=session.version + 1)
            return True

    def lapse_due_payment(self, item: DueItem) -> bool:
        assert item.session_id is not None
        return self._lapse(item.session_id, item.id, item.amount_cents, item.window_keys, item.due_at)

    # ---- warnings and resumptions --------------------------------------------------------------

    def mark_window(self, session_id: str, record: str, counter_key: str, at: datetime) -> bool:
        with self._lock:
            session = self._sessions.get(session_id)
            marked: dict[str, int] | None = getattr(session, record) if session is not None else None
            if session is None or marked is None or counter_key in marked:
                return False
            marks = {**marked, counter_key: epoch(at)}
            warned, resumed = (marks, session.resumed) if record == "warned" else (session.warned, marks)
            self._sessions[session_id] = replace(session, warned=warned, resumed=resumed, version=session.version + 1)
            return True

    def schedule_resume(self, session_id: str, counter_key: str, due_at: datetime) -> None:
        with self._lock:
            self._resume_tasks.setdefault((session_id, counter_key), to_second(due_at))

    def reschedule_resume(self, session_id: str, counter_key: str, due_at: datetime) -> None:
        with self._lock:
            if (session_id, counter_key) in self._resume_tasks:
                self._resume_tasks[(session_id, counter_key)] = to_second(due_at)

    def drop_resume(self, session_id: str, counter_key: str) -> None:
        with self._lock:
            self._resume_tasks.pop((session_id, counter_key), None)

    # ---- helpers -------------------------------------------------------------------------------

    def _store_payment(self, payment: PaymentRecord) -> None:
        self._payments[payment.id] = payment
        self._written_at[payment.id] = next(self._sequence)

    def _lapse(
        self, session_id: str, payment_id: str, amount_cents: int, window_keys: tuple[str, ...], lapsed_at: datetime
    ) -> bool:
        with self._lock:
            payment = self._payments.get(payment_id)
            session = self._sessions.get(session_id)
            if (
                payment is None
                or payment.stored_status != "pending_approval"
                or session is None
                or payment_id not in session.holds
            ):
                return False
            self._payments[payment_id] = replace(payment, stored_status="expired", decided_at=lapsed_at)
            self._sessions[session_id] = session_after_hold_ends(
                session, payment_id, amount_cents, window_keys, released_cents=amount_cents
            )
            return True

    def _due_entries(self, shard: int) -> list[tuple[str, DueItem]]:
        """What the due index holds for a shard: live sessions and payments awaiting approval."""
        entries = [
            due_entry(f"SESS#{s.id}", DueItem("session", s.id, to_second(due)))
            for s in self._sessions.values()
            if (due := session_due_at(s)) is not None
        ]
        entries += [
            due_entry(
                f"PAY#{p.id}",
                DueItem("payment", p.id, to_second(p.approval_expires_at), p.session_id, p.amount_cents, p.window_keys),
            )
            for p in self._payments.values()
            if p.stored_status == "pending_approval" and p.approval_expires_at is not None
        ]
        entries += [
            due_entry(f"RESUME#{sid}#{key}", DueItem("resume", key, due_at, sid))
            for (sid, key), due_at in self._resume_tasks.items()
        ]
        return [(key, item) for key, item, item_shard in entries if item_shard == shard]


def _terms_changeable(session: SessionRecord, account_id: str, expected_rev: int, now: datetime) -> bool:
    """What both writes of terms require: the account's session, active, not past expiry, at `expected_rev`."""
    return (
        session.account_id == account_id
        and session.stored_status == "active"
        and epoch(session.expires_at) > epoch(now)
        and session.terms_rev == expected_rev
    )
