"""The API's answers: what each route returns, amounts in exact dollars (built by wire.views)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from agent_sessions.domain.records import SessionStatus
from agent_sessions.wire.models import Dollars, WirePaymentStatus


class _Answer(BaseModel):
    """An answer's shape. Its validator and serializer are built on first use, not at import: a
    handler uses two or three of these, and building all of them cost every cold start about 4 ms."""

    model_config = ConfigDict(defer_build=True)


class LimitsOut(_Answer):
    """All five amount limits, in dollars, and the count of payments a day (null: none)."""

    max_per_transaction: Dollars
    max_per_day: Dollars
    max_per_week: Dollars
    max_per_month: Dollars
    require_approval_above: Dollars
    max_payments_per_day: int | None = None


class PaymentRatesOut(_Answer):
    """Payments a session may make per minute and per hour (null: no limit)."""

    per_minute: int | None
    per_hour: int | None


class RateLimitsOut(_Answer):
    """`rate_limits` as set."""

    payments: PaymentRatesOut


class WindowOut(_Answer):
    """One spending window as it stands now."""

    limit: Dollars
    spent: Dollars
    held: Dollars
    remaining: Dollars
    resets_at: str


class WindowsOut(_Answer):
    """The day, week and month windows."""

    day: WindowOut
    week: WindowOut
    month: WindowOut


class SessionOut(_Answer):
    """A session as the API shows it; `session_token` only in the answer to create."""

    id: str
    session_token: str | None = Field(default=None, description="Only in the response to create.")
    agent_id: str
    agent_name: str | None
    user_wallet: str
    limits: LimitsOut
    rate_limits: RateLimitsOut
    allowed_merchants: list[str] | None
    status: SessionStatus
    is_active: bool
    created_at: str
    expires_at: str
    revoked_at: str | None
    remaining_today: Dollars
    remaining_this_week: Dollars
    remaining_this_month: Dollars
    windows: WindowsOut
    pkp_address: str | None
    metadata: dict[str, Any]
    consent_deadline: str | None = Field(
        default=None, description="A consent-bound session lapses at this time unless its owner consents first."
    )
    warn_at_percent: int = Field(
        description="agent.session.limit_warning when a window first reaches this % of its limit."
    )
    version: int = Field(description="The version of the session's terms: send it as If-Match to PATCH it.")


class ConsentOut(_Answer):
    """What the wallet's owner signs to make a consent-bound session active."""

    session_id: str
    status: SessionStatus
    consent_deadline: str | None
    wallet_kind: Literal["ethereum", "solana"] | None = Field(
        description="ethereum: EIP-191 personal_sign of `message`; solana: ed25519 over its UTF-8 bytes."
    )
    message: str
    parameters: dict[str, Any]
    parameters_sha256: str
    parameters_keccak256: str
    consent_signature: str | None


class SessionListOut(_Answer):
    """A page of sessions, newest first."""

    sessions: list[SessionOut]
    next_cursor: str | None


class RevokeOut(_Answer):
    """The answer to revoke."""

    success: bool
    session: SessionOut


class PaymentOut(_Answer):
    """A payment as the API shows it; remaining_* are its session's amounts as of this answer."""

    id: str
    session_id: str
    amount: Dollars
    currency: str
    merchant_id: str | None
    description: str | None
    status: WirePaymentStatus
    created_at: str
    decided_at: str | None
    approval_expires_at: str | None
    remaining_today: Dollars
    remaining_this_week: Dollars
    remaining_this_month: Dollars
    metadata: dict[str, Any]


class RemainingOut(_Answer):
    """What each window would have left."""

    remaining_today: Dollars
    remaining_this_week: Dollars
    remaining_this_month: Dollars


class PaymentCheckOut(_Answer):
    """What POST /api/v1/payments would answer now for the same body (nothing was written)."""

    would: Literal["authorize", "hold_for_approval", "decline"]
    rule: str | None = Field(description="What would refuse it: the limit's name, or the refusal's code in lower case.")
    code: str | None = Field(description="The error code the payment would get (LIMIT_EXCEEDED, VELOCITY_LIMIT, ...).")
    message: str | None
    details: dict[str, Any] | None
    remaining_after: RemainingOut
    resets_at: str | None = Field(description="When the deciding window resets: the refusing one, else the day.")


class PaymentListOut(_Answer):
    """A page of a session's payments, newest first."""

    payments: list[PaymentOut]
    next_cursor: str | None


class WebhookOut(_Answer):
    """A webhook endpoint; `secret` only in the answer to create."""

    id: str
    url: str
    events: list[str]
    secret: str | None = Field(default=None, description="Only in the response to create.")
    created_at: str
    disabled_at: str | None


class WebhookListOut(_Answer):
    """An account's webhook endpoints, newest first."""

    webhooks: list[WebhookOut]


class DeletedOut(_Answer):
    """The answer to a delete."""

    success: bool
    id: str


class AttestationOut(_Answer):
    """A session's parameters and their keccak-256; with mint_pkp, recover `signature` over the hash to `address`.

    `address` and `signature` are null for a session created without mint_pkp (no identity signed it).
    """

    address: str | None
    parameters: dict[str, Any]
    parameters_hash: str
    signature: str | None


class ErrorBody(_Answer):
    """The inside of every error answer."""

    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(_Answer):
    """Every error answer: {"error": {...}}."""

    error: ErrorBody


class SmartPaymentOut(_Answer):
    """The SDK's SmartPaymentResponse: `confirmed` (authorized) or `pending` (awaiting approval).

    Nothing is signed or settled on a chain here: `requires_signature` and `gasless_used` are
    always false; `settlement_complete` is true exactly when the payment is authorized.
    `payment` is the payment as POST /api/v1/payments answers it (exact remaining amounts).
    """

    payment_id: str
    status: Literal["confirmed", "pending"]
    amount_usd: Dollars
    gasless_used: bool
    settlement_complete: bool
    requires_signature: bool
    receipt_url: str
    next_steps: str
    created_at: str
    session_id: str
    payment: PaymentOut


class DayOut(_Answer):
    """One day of an agent's payments."""

    date: str
    count: int
    volume_usd: Dollars


class AnalyticsOut(_Answer):
    """The ZendFi SDK's AgentAnalytics (ppp_savings_usd is 0: no purchasing-power pricing here)."""

    total_payments: int
    total_volume_usd: Dollars
    average_payment_usd: Dollars
    success_rate: Annotated[Decimal, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]
    active_sessions: int
    active_delegates: int
    ppp_savings_usd: Dollars
    payments_by_token: dict[str, Dollars]
    payments_by_day: list[DayOut]


class AccountPaymentOut(_Answer):
    """A payment in an account-wide listing: the payment and whose it is (no session amounts)."""

    id: str
    session_id: str
    agent_id: str | None
    amount: Dollars
    currency: str
    merchant_id: str | None
    description: str | None
    status: WirePaymentStatus
    created_at: str
    decided_at: str | None
    approval_expires_at: str | None
    metadata: dict[str, Any]


class AccountPaymentListOut(_Answer):
    """A page of an account's payments, newest first."""

    payments: list[AccountPaymentOut]
    next_cursor: str | None


class AgentKeyOut(_Answer):
    """An agent key as listed: never its secret (`full_key` only in the answer to create)."""

    id: str
    key_prefix: str
    name: str
    agent_id: str
    agent_name: str | None
    scopes: list[str]
    rate_limit_per_hour: int
    agent_metadata: dict[str, Any]
    is_active: bool
    created_at: str
    revoked_at: str | None
    full_key: str | None = Field(default=None, description="Only in the response to create: shown once.")


class AgentKeyListOut(_Answer):
    """An account's agent keys, newest first, revoked ones included."""

    keys: list[AgentKeyOut]


class AgentKeyRevokedOut(_Answer):
    """The answer to revoke: the key now refuses every request."""

    success: bool
    key: AgentKeyOut


class IntentOut(_Answer):
    """A payment intent; `client_secret` only for the key that created it."""

    id: str
    client_secret: str | None
    amount: Dollars
    currency: str
    description: str | None
    status: Literal["requires_payment", "processing", "succeeded", "canceled", "failed"]
    capture_method: Literal["automatic", "manual"]
    agent_id: str | None
    agent_name: str | None
    payment_id: str | None
    session_id: str | None
    amount_captured: Dollars | None = Field(description="What its payment spent (after a capture, at most the amount).")
    metadata: dict[str, Any]
    created_at: str
    expires_at: str


class IntentListOut(_Answer):
    """A page of the account's payment intents, newest first."""

    intents: list[IntentOut]
    next_cursor: str | None
