"""What the operations need from storage, one narrow Protocol per aggregate, and what it answers.

A service names only the Protocol it calls (a payment never sees webhook storage). Two
implementations satisfy all of them: `dal.dynamo.DynamoStore` (one DynamoDB table) and
`dal.memory.MemoryStore` (a dict and a lock, for fast unit tests); `tests/stores` runs one
behavioural suite against both so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from agent_sessions.dal.decision_ports import DecisionSettler
from agent_sessions.domain.agent_keys import AgentKeyRecord
from agent_sessions.domain.intents import IntentRecord, IntentStatus
from agent_sessions.domain.pages import Page
from agent_sessions.domain.payment_rules import PaymentChecks
from agent_sessions.domain.records import Decision, Hold, PaymentRecord, SessionRecord
from agent_sessions.domain.term_changes import NamedTermChanges
from agent_sessions.domain.webhook_records import WebhookRecord

DUE_SHARDS = 16


@dataclass(frozen=True)
class SessionFilter:
    """What a listing keeps: by agent, by wallet, and only sessions still able to spend."""

    agent_id: str | None = None
    user_wallet: str | None = None
    active_only: bool = False


@dataclass(frozen=True)
class PaymentCommitted:
    """The debit and the payment record were written together."""


@dataclass(frozen=True)
class PaymentAlreadyExists:
    """A payment with this id exists (a replayed Idempotency-Key); nothing was written."""

    payment: PaymentRecord


@dataclass(frozen=True)
class SessionRefused:
    """The session's conditions failed; `session` is how it stood then (None if it is gone)."""

    session: SessionRecord | None


@dataclass(frozen=True)
class IntentNotPayable:
    """The payment intent it pays no longer awaits payment (confirmed, canceled or expired); nothing was written."""


CommitOutcome = PaymentCommitted | PaymentAlreadyExists | SessionRefused | IntentNotPayable


@dataclass(frozen=True)
class TermsNotWritten:
    """A change written blind was refused; `session` is how it stood (None: not said, so read it)."""

    session: SessionRecord | None


@dataclass(frozen=True)
class DueItem:
    """Something the due index says has fallen due: a session to expire or a hold to lapse."""

    kind: str  # "session", "payment" or "resume" (then `id` is the window's counter key)
    id: str
    due_at: datetime
    # For a payment: what releasing its hold needs, projected onto the index.
    session_id: str | None = None
    amount_cents: int = 0
    window_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class DuePage:
    """Due items from one shard, oldest first, and where to go on."""

    items: list[DueItem]
    next_cursor: dict[str, Any] | None


class TransactionContended(Exception):
    """A transaction kept being cancelled by contention or throttling after every retry."""


class SessionReader(Protocol):
    """Reading one session."""

    def get_session(self, session_id: str) -> SessionRecord | None:
        """Read a session strongly consistently; None when there is none."""


class AgentKeyReader(Protocol):
    """Reading one agent key."""

    def get_agent_key(self, key_id: str) -> AgentKeyRecord | None:
        """Read an agent key strongly consistently; None when there is none."""


class CredentialStore(SessionReader, AgentKeyReader, Protocol):
    """What authenticating a bearer needs: API keys by hash, sessions and agent keys by id."""

    def find_account_for_api_key(self, key_hash: str) -> str | None:
        """The account an API key (by hash) belongs to, read strongly consistently."""


@dataclass(frozen=True)
class MeteredRequest:
    """An agent key's request counted in its hour: `count` of `limit` used (over: not counted)."""

    count: int
    limit: int
    over: bool = False


class AgentKeyStore(AgentKeyReader, Protocol):
    """Agent keys: created, listed, revoked, and each request counted against the key's hourly limit."""

    def insert_agent_key(self, key: AgentKeyRecord) -> AgentKeyRecord | None:
        """Write a new agent key (one conditional put); None, or the key already under that id."""

    def list_agent_keys(self, account_id: str) -> list[AgentKeyRecord]:
        """Every agent key of an account, newest first."""

    def revoke_agent_key(self, key_id: str, account_id: str, now: datetime) -> AgentKeyRecord | None:
        """Revoke an account's agent key (again: no change); None when the account has no such key."""

    def meter_agent_key(self, key_id: str, hour: int) -> MeteredRequest | None:
        """Count one request in `hour` if the key is live and under its limit (a conditional update,
        no read first); None when the key is revoked or gone."""


class ApiKeyStore(CredentialStore, Protocol):
    """API keys: stored only as hashes."""

    def put_api_key(self, key_hash: str, account_id: str, label: str, created_at: datetime) -> None:
        """Store a new API key's hash for an account; never overwrites."""


class SessionStore(SessionReader, Protocol):
    """Sessions: create, read, list, revoke."""

    def insert_session(self, session: SessionRecord) -> SessionRecord | None:
        """Write a new session (one PutItem); None, or the session already under that id, untouched."""

    def list_sessions(
        self, account_id: str, limit: int, cursor: str | None, session_filter: SessionFilter, now: datetime
    ) -> Page[SessionRecord]:
        """One Query over an account's sessions, newest first."""

    def revoke_session(self, session_id: str, account_id: str, now: datetime) -> SessionRecord | None:
        """Revoke an account's live session in one conditional write.

        Returns the session after the call: revoked now, or unchanged when it had already
        ended. None when there is no such session for that account.
        """


class SessionConsentStore(SessionReader, Protocol):
    """Consent-bound sessions: the one conditional write that makes one active."""

    def record_consent(self, consented: SessionRecord, now: datetime) -> SessionRecord | None:
        """pending_consent -> active with `consented`'s signature (and identity); None unless still waiting in time."""


class SessionTermsChanger(SessionReader, Protocol):
    """Changing a live session's terms (PATCH): one conditional write on the terms' revision."""

    def change_terms(self, changed: SessionRecord, expected_rev: int, now: datetime) -> SessionRecord | None:
        """Write `changed`'s limits, velocity, merchants and expiry if its terms are still `expected_rev`.

        The session after the write; None when it is not live, not the account's, or at another revision.
        """

    def change_terms_unread(
        self, account_id: str, session_id: str, changes: NamedTermChanges, expected_rev: int, now: datetime
    ) -> SessionRecord | TermsNotWritten:
        """Write only the terms `changes` names, without the session read first, if it is the
        account's, live, unconsented, at `expected_rev`, and the change fits it and changes something.

        The session after the write; refused, how it stood (when the store says).
        """


class HoldReleaser(DecisionSettler, Protocol):
    """Releasing a hold that has lapsed (its deadline passed or its session ended), or settling a decided one."""

    def release_lapsed_hold(self, session: SessionRecord, payment_id: str, hold: Hold) -> bool:
        """Mark a lapsed pending payment expired and release its hold, atomically; False if already done."""


class SessionRevoker(HoldReleaser, Protocol):
    """Revoking: the session's one conditional write, then its holds released."""

    def revoke_session(self, session_id: str, account_id: str, now: datetime) -> SessionRecord | None:
        """See SessionStore.revoke_session."""


class PaymentStore(SessionReader, HoldReleaser, Protocol):
    """Payments: the one-request debit, the ledger, decisions and lapsed holds."""

    def commit_payment(
        self,
        payment: PaymentRecord,
        checks: PaymentChecks,
        now: datetime,
        expected_version: int | None = None,
    ) -> CommitOutcome:
        """Debit the session and write the payment in one transaction, or say why not.

        With `expected_version`, only if the session is exactly that version.
        """

    def insert_declined_payment(self, payment: PaymentRecord) -> PaymentRecord | None:
        """Record a refused attempt; if its id exists already, write nothing and return that payment."""

    def get_payment(self, payment_id: str) -> PaymentRecord | None:
        """Read a payment strongly consistently; None when there is none."""

    def list_payments(self, session_id: str, limit: int, cursor: str | None) -> Page[PaymentRecord]:
        """One Query over a session's payments, newest first (declines are not listed)."""

    def get_payment_and_session(
        self, payment_id: str, session_id: str
    ) -> tuple[PaymentRecord | None, SessionRecord | None]:
        """Read a payment and a session together, in one strongly consistent snapshot."""

    def decide_payment(
        self,
        payment: PaymentRecord,
        decision: Decision,
        now: datetime,
        captured_cents: int | None = None,
        expected_version: int | None = None,
        decision_key: str | None = None,
    ) -> bool:
        """Approve (`authorized`: hold becomes spend) or reject (hold released) a pending payment, atomically.

        False when it is no longer awaiting approval (decided, lapsed, or its session ended), or,
        with `expected_version`, when the session is no longer exactly that version. The payment
        keeps `decision_key` (see idempotency.decision_key_digest).
        """


class DeclineLister(Protocol):
    """A session's declined attempts (the console's ledger shows them with the rule that refused them)."""

    def list_declined_payments(self, session_id: str, limit: int) -> list[PaymentRecord]:
        """The session's latest `limit` declined attempts, newest first."""


class PaymentBatchReader(Protocol):
    """The outbox's one read: the payments a batch of changes names."""

    def get_payments(self, payment_ids: list[str]) -> dict[str, PaymentRecord]:
        """Read payments strongly consistently (batched); those that exist, by id."""


class WindowAlertStore(SessionReader, Protocol):
    """Warnings and resumptions: recorded on the session once per window, resumptions as due tasks."""

    def mark_window(self, session_id: str, record: str, counter_key: str, at: datetime) -> bool:
        """Record `counter_key` in the session's `warned` or `resumed` (once: False if already there)."""

    def schedule_resume(self, session_id: str, counter_key: str, due_at: datetime) -> None:
        """Put a due task to check, at `due_at`, whether the session can spend again (idempotent)."""

    def reschedule_resume(self, session_id: str, counter_key: str, due_at: datetime) -> None:
        """Move that task to a later time."""

    def drop_resume(self, session_id: str, counter_key: str) -> None:
        """Remove that task."""


class DueStore(WindowAlertStore, DecisionSettler, Protocol):
    """The sweep: what has fallen due (sessions, holds, resumptions), and the writes that end it."""

    def due_items(self, shard: int, now: datetime, cursor: dict[str, Any] | None) -> DuePage:
        """One page of a due-index shard: everything due at or before `now`."""

    def expire_session(self, session_id: str, now: datetime) -> bool:
        """Mark a live session past its expiry as expired; False if it already ended."""

    def lapse_due_payment(self, item: DueItem) -> bool:
        """Mark a payment past its approval deadline expired and release its hold; False if decided."""


class WebhookLister(Protocol):
    """Reading an account's endpoints."""

    def list_webhooks(self, account_id: str) -> list[WebhookRecord]:
        """Every webhook endpoint of an account, newest first."""


class WebhookStore(WebhookLister, Protocol):
    """Webhook endpoints: register, list, delete."""

    def insert_webhook(self, webhook: WebhookRecord) -> WebhookRecord | None:
        """Write a new webhook endpoint; None, or the endpoint already under that id (deleted ones too)."""

    def delete_webhook(self, webhook_id: str, account_id: str, now: datetime) -> bool:
        """Delete an account's webhook endpoint; False when it has none by that id.

        Its record is kept a day (never listed or delivered to), so a replay of the request that
        created it finds it.
        """


class DeliveryStore(WebhookLister, Protocol):
    """Delivering events: which endpoints want them, which already have them, which are gone."""

    def disable_webhook(self, webhook_id: str, now: datetime) -> None:
        """Stop delivering to an endpoint."""

    def was_delivered(self, event_id: str, webhook_id: str) -> bool:
        """Whether this event already reached this endpoint."""

    def record_delivery(self, event_id: str, webhook_id: str, now: datetime) -> None:
        """Remember that this event reached this endpoint."""

    def note_delivery(self, webhook_id: str, event_id: str, outcome: str, now: datetime) -> None:
        """Keep the endpoint's last delivery attempt and its outcome."""


class DecisionLogStore(Protocol):
    """The log's items: a head per session, its entries, and a mark per source appended."""

    def log_head(self, session_id: str) -> tuple[int, str] | None:
        """The last entry's seq and hash; None before the first."""

    def append_entry(self, session_id: str, source: str, entry: dict[str, Any], after_seq: int) -> str:
        """Append if the head is still `after_seq` and `source` is new: appended, duplicate or moved."""

    def log_entries(self, session_id: str) -> list[dict[str, Any]]:
        """Every entry, in order."""

    def record_anchor(self, session_id: str, receipt: dict[str, Any]) -> None:
        """Keep the latest anchor receipt of a session's log (a later head replaces an earlier one)."""

    def anchor_receipt(self, session_id: str) -> dict[str, Any] | None:
        """The receipt kept, if the session has ended."""


@dataclass(frozen=True)
class PaymentFilter:
    """What an account's payment listing keeps: one session's, one agent's, one status, a time range."""

    session_id: str | None = None
    agent_id: str | None = None
    status: str | None = None
    after_ns: int | None = None  # created at or after (ns since the epoch)
    before_ns: int | None = None  # created before


class AccountPaymentLister(Protocol):
    """GET /api/v1/payments: an account's payments, newest first, one Query per page."""

    def list_account_payments(
        self, account_id: str, limit: int, cursor: str | None, payment_filter: PaymentFilter
    ) -> Page[PaymentRecord]:
        """A page of the account's payments (declines never listed), newest first."""


class IntentStore(Protocol):
    """Payment intents: created, read, listed, and cancelled before they are confirmed.

    Confirming one is a payment (PaymentStore.commit_payment with `intent_id`), and capturing or
    cancelling a confirmed one is deciding its payment (PaymentStore.decide_payment).
    """

    def insert_intent(self, intent: IntentRecord) -> IntentRecord | None:
        """Write a new intent (one conditional put); None, or the intent already under that id."""

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        """Read an intent strongly consistently; None when there is none."""

    def list_intents(
        self, account_id: str, status: IntentStatus | None, limit: int, cursor: str | None
    ) -> Page[IntentRecord]:
        """A page of an account's intents, newest first, with the stored status given."""

    def cancel_unconfirmed_intent(self, intent_id: str, account_id: str, now: datetime) -> bool:
        """requires_payment -> canceled; False if it is not the account's or no longer awaits payment."""
