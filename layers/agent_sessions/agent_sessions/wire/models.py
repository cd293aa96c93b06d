"""Pydantic models of the wire shapes. Amounts arrive as dollars and are held as integer cents."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from agent_sessions.domain.agent_keys import DEFAULT_RATE_LIMIT_PER_HOUR, MAX_RATE_LIMIT_PER_HOUR
from agent_sessions.domain.credentials import INTENT_ID_SHAPE, PAYMENT_ID_SHAPE, SESSION_ID_SHAPE
from agent_sessions.domain.endpoint_policy import MAX_URL_CHARS
from agent_sessions.domain.events import EVENT_NAMES, EventName
from agent_sessions.domain.intents import DEFAULT_INTENT_SECONDS, MAX_INTENT_SECONDS, CaptureMethod
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.money import dollars_to_cents
from agent_sessions.domain.records import DEFAULT_WARN_AT_PERCENT
from agent_sessions.domain.scopes import DEFAULT_AGENT_KEY_SCOPE, ScopeName

# The statuses a Payment shows on the wire (a declined attempt is never shown as a Payment).
WirePaymentStatus = Literal["authorized", "pending_approval", "rejected", "expired"]

MAX_ID_CHARS = 128
MAX_NAME_CHARS = 256
MAX_ALLOWED_MERCHANTS = 100
MAX_METADATA_BYTES = 8 * 1024
MAX_METADATA_DEPTH = 8
MAX_DURATION_HOURS = 168
# The shortest session: just over one second (the schema states exactly this bound).
MIN_DURATION_HOURS = Decimal("0.00027778")
MAX_PAGE_SIZE = 100
MAX_PAYMENT_COUNT = 1_000_000
# A consent-bound session lapses unless its wallet owner consents within this many minutes.
DEFAULT_CONSENT_MINUTES = 15
MAX_CONSENT_MINUTES = 24 * 60
MAX_DESCRIPTION_CHARS = 1000
SESSION_ID_PATTERN = f"^{SESSION_ID_SHAPE}$"
PAYMENT_ID_PATTERN = f"^{PAYMENT_ID_SHAPE}$"
WEBHOOK_ID_PATTERN = r"^wh_[a-z2-7]{24}$"
AGENT_KEY_ID_PATTERN = r"^ak_[a-z2-7]{24}$"
INTENT_ID_PATTERN = f"^{INTENT_ID_SHAPE}$"
# An http(s) URL of printable ASCII without spaces (a webhook endpoint, the SDK's redirect_url).
HTTP_URL_PATTERN = r"^https?://[!-~]+$"

# An email's shape: no @, space or control character on either side of one @. Every excluded
# character is named, so the document's pattern means the same to every regex engine: `\s` is not
# (ECMA-262, what a client validates with, lets U+0085 and U+001C-U+001F through; Python and
# pydantic's Rust engine each refuse some of them).
_NOT_IN_AN_EMAIL = r"@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
EMAIL_SHAPE_PATTERN = rf"^[^{_NOT_IN_AN_EMAIL}]+@[^{_NOT_IN_AN_EMAIL}]+$"

# "Not blank": some character other than ASCII whitespace. The schema states the same pattern, which
# means the same in every regex engine (a Unicode \s would not).
NOT_BLANK_PATTERN = "[^ \t\n\r\f\v]"


def _not_blank(text: str) -> str:
    if not re.search(NOT_BLANK_PATTERN, text):
        raise ValueError("must not be empty or blank")
    return text


def _metadata_within_bounds(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    if metadata is None:
        return None
    if _depth(metadata) > MAX_METADATA_DEPTH:
        raise ValueError(f"must nest at most {MAX_METADATA_DEPTH} levels deep")
    if not _valid_unicode(metadata):
        raise ValueError("must be valid Unicode text (no unpaired surrogate escapes such as \\ud800)")
    if len(encode_json(metadata).encode("utf-8")) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return metadata


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a pair never survives json.loads as two: it is one character


def _valid_unicode(value: Any) -> bool:
    """Whether every key and string in `value` is text UTF-8 can carry (JSON lets `\\ud800` through)."""
    if isinstance(value, str):
        return value.isascii() or _LONE_SURROGATE.search(value) is None
    if isinstance(value, dict):
        return all(_valid_unicode(key) and _valid_unicode(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_valid_unicode(item) for item in value)
    return True


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


# A wire amount: a JSON number of dollars (at most 2 decimals, > 0, <= 1e9), held as cents.
AmountCents = Annotated[
    int,
    BeforeValidator(dollars_to_cents),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000_000, "multipleOf": 0.01}),
]
Identifier = Annotated[
    str,
    Field(min_length=1, max_length=MAX_ID_CHARS, json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
    AfterValidator(_not_blank),
]
Metadata = Annotated[dict[str, Any] | None, AfterValidator(_metadata_within_bounds)]
# The same, optional: null or absent means "use the default" (no union, so errors name the field).
OptionalAmountCents = Annotated[
    int | None,
    BeforeValidator(lambda raw: None if raw is None else dollars_to_cents(raw)),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000_000, "multipleOf": 0.01},
                {"type": "null"},
            ]
        }
    ),
]


def _duration_hours(raw: Any) -> Decimal:
    """A JSON number of hours, fractions allowed, lasting at least one second; never a float."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise ValueError("must be a number of hours")
    hours = Decimal(raw)
    if not hours.is_finite() or hours <= 0 or hours > MAX_DURATION_HOURS:
        raise ValueError(f"must be more than 0 and at most {MAX_DURATION_HOURS}")
    if hours < MIN_DURATION_HOURS:
        raise ValueError(f"must be at least {MIN_DURATION_HOURS} (about one second)")
    return hours


# Hours a session lasts: (0, 168], fractions allowed (0.5 is 30 minutes), to the second.
DurationHours = Annotated[
    Decimal,
    BeforeValidator(_duration_hours),
    WithJsonSchema({"type": "number", "minimum": float(MIN_DURATION_HOURS), "maximum": MAX_DURATION_HOURS}),
]
# An amount going out: exact dollars.
Dollars = Annotated[Decimal, WithJsonSchema({"type": "number"})]


class _Strict(BaseModel):
    # Built on first use, not at import (as the answers): a handler validates one or two of these.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


def _whole_number(raw: Any) -> Any:
    """A JSON number without a fraction (`10`, `10.0`) as an int; anything else is left to fail."""
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value() and abs(raw) < 10**12:
        return int(raw)
    return raw


# A count of payments a velocity limit allows in its window.
PaymentCount = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(ge=1, le=MAX_PAYMENT_COUNT),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_PAYMENT_COUNT}),
]


# A whole percentage, 1 to 100.
Percent = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(ge=1, le=100),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 100}),
]


class LimitsIn(_Strict):
    """Limits a caller may set; each one omitted takes the SDK's default (no count limit by default)."""

    max_per_transaction: OptionalAmountCents = None
    max_per_day: OptionalAmountCents = None
    max_per_week: OptionalAmountCents = None
    max_per_month: OptionalAmountCents = None
    require_approval_above: OptionalAmountCents = None
    max_payments_per_day: PaymentCount | None = None


class PaymentRatesIn(_Strict):
    """How many payments a session may make per minute and per hour (each omitted: no limit)."""

    per_minute: PaymentCount | None = None
    per_hour: PaymentCount | None = None


class RateLimitsIn(_Strict):
    """`rate_limits`, in the shape ZendFi's security guide shows."""

    payments: PaymentRatesIn | None = None


class CreateSessionRequest(_Strict):
    """Body of POST /api/v1/ai/sessions."""

    agent_id: Identifier
    agent_name: Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None = None
    user_wallet: Identifier
    limits: LimitsIn | None = None
    allowed_merchants: Annotated[list[Identifier], Field(max_length=MAX_ALLOWED_MERCHANTS)] | None = None
    rate_limits: RateLimitsIn | None = None
    warn_at_percent: Percent = DEFAULT_WARN_AT_PERCENT
    require_consent: bool = False
    consent_within_minutes: Annotated[
        int,
        BeforeValidator(_whole_number),
        Field(ge=1, le=MAX_CONSENT_MINUTES),
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_CONSENT_MINUTES}),
    ] = DEFAULT_CONSENT_MINUTES
    duration_hours: DurationHours = Decimal(24)
    mint_pkp: bool = False
    metadata: Metadata = None


class UpdateSessionRequest(_Strict):
    """Body of PATCH /api/v1/ai/sessions/{id}: what to change (each omitted stays as it is).

    `limits` and `rate_limits` change only the limits named; `allowed_merchants: null` lifts the
    merchant list; `expires_at` is ISO-8601 UTC (`2026-11-24T10:00:00Z`), never more than 168
    hours after the session's creation.
    """

    limits: LimitsIn | None = None
    rate_limits: RateLimitsIn | None = None
    allowed_merchants: Annotated[list[Identifier], Field(max_length=MAX_ALLOWED_MERCHANTS)] | None = None
    expires_at: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")] | None = None
    consent_signature: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[0-9A-Za-z]+$")] | None = None


class ConsentIn(_Strict):
    """Body of POST /api/v1/ai/sessions/{id}/consent: the wallet owner's signature of the consent message.

    0x-hex (65 bytes, EIP-191 personal_sign) for an 0x wallet; base58 or 0x-hex (64 bytes, ed25519)
    for a Solana wallet.
    """

    signature: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[0-9A-Za-z]+$")]


def _no_split(recipients: list[Any] | None) -> None:
    if recipients:
        raise ValueError("is not supported: a session's payment goes to its merchant whole")
    return None


class CreatePaymentRequest(_Strict):
    """Body of POST /api/v1/payments. `token: "USDC"` (what the SDK sends) is accepted; USD is settled.

    The SDK's other createPayment fields are accepted so its calls work unchanged: `customer_email`
    and `redirect_url` (a checkout's receipt and return page; an agent's payment has neither, so
    they are checked and not kept), and `split_recipients` only when empty (splits are not made,
    and a payment must never look split when it is not).
    """

    amount: AmountCents
    currency: Literal["USD"] = "USD"
    token: Literal["USDC"] | None = None
    merchant_id: Identifier | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)] | None = None
    metadata: Metadata = None
    customer_email: Annotated[str, Field(max_length=254, pattern=EMAIL_SHAPE_PATTERN)] | None = None
    redirect_url: Annotated[str, Field(max_length=MAX_URL_CHARS, pattern=HTTP_URL_PATTERN)] | None = None
    split_recipients: Annotated[
        list[Any] | None,
        AfterValidator(_no_split),
        WithJsonSchema({"anyOf": [{"type": "array", "maxItems": 0}, {"type": "null"}], "title": "Split Recipients"}),
    ] = None


class SmartPaymentRequest(_Strict):
    """Body of POST /api/v1/ai/smart-payment, as the ZendFi SDK's smartPayment / agent.pay send it.

    The platform's API key is the bearer; the session's token is in the body. `agent_id` and
    `user_wallet` must be the session's (the SDK's `agent.pay` sends `"session"` and `""`, meaning
    "the session's own"). Settlement on a chain is out of scope: `auto_detect_gasless`,
    `instant_settlement` and `enable_escrow` are accepted and ignored; `product_details` is kept in
    the payment's metadata.
    """

    session_token: Annotated[str, Field(min_length=1, max_length=512)]
    agent_id: Annotated[str, Field(max_length=MAX_ID_CHARS)] | None = None
    user_wallet: Annotated[str, Field(max_length=MAX_ID_CHARS)] | None = None
    amount_usd: AmountCents
    merchant_id: Identifier | None = None
    token: Literal["USDC", "USD"] | None = None
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)] | None = None
    metadata: Metadata = None
    product_details: Metadata = None
    auto_detect_gasless: bool | None = None
    instant_settlement: bool | None = None
    enable_escrow: bool | None = None

    def as_payment(self) -> CreatePaymentRequest:
        """The same payment as POST /api/v1/payments takes it (product_details kept in metadata)."""
        metadata = dict(self.metadata or {})
        if self.product_details is not None:
            metadata["product_details"] = self.product_details
        return CreatePaymentRequest.model_construct(  # already validated: amount_usd is in cents
            amount=self.amount_usd,
            currency="USD",
            token=None,
            merchant_id=self.merchant_id,
            description=self.description,
            metadata=metadata or None,
        )


class CreateWebhookRequest(_Strict):
    """Body of POST /api/v1/webhooks: where to POST events, and which (all when omitted)."""

    # Printable ASCII without spaces, http(s) (the server also requires a host that resolves to a
    # public address, https outside the local runtime; see the README).
    url: Annotated[str, Field(min_length=10, max_length=MAX_URL_CHARS, pattern=HTTP_URL_PATTERN)]
    events: Annotated[list[EventName], Field(min_length=1, max_length=len(EVENT_NAMES))] | None = None


# Requests an agent key may make in an hour.
RequestsPerHour = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(ge=1, le=MAX_RATE_LIMIT_PER_HOUR),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_RATE_LIMIT_PER_HOUR}),
]


class CreateAgentKeyRequest(_Strict):
    """Body of POST /api/v1/agent-keys (the SDK's `agent.createKey`)."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_not_blank)]
    agent_id: Identifier
    agent_name: Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None = None
    scopes: Annotated[list[ScopeName], Field(min_length=1, max_length=32)] = Field(
        default_factory=lambda: [DEFAULT_AGENT_KEY_SCOPE]
    )
    rate_limit_per_hour: RequestsPerHour = DEFAULT_RATE_LIMIT_PER_HOUR
    metadata: Metadata = None


# Seconds an intent waits for its confirmation.
IntentSeconds = Annotated[
    int,
    BeforeValidator(_whole_number),
    Field(ge=60, le=MAX_INTENT_SECONDS),
    WithJsonSchema({"type": "integer", "minimum": 60, "maximum": MAX_INTENT_SECONDS}),
]


class CreateIntentRequest(_Strict):
    """Body of POST /api/v1/payment-intents (the SDK's `intents.create`). `metadata.merchant_id`, if
    given, is the merchant its payment names (a session with a merchant whitelist checks it)."""

    amount: AmountCents
    currency: Literal["USD"] = "USD"
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION_CHARS)] | None = None
    capture_method: CaptureMethod = "automatic"
    agent_id: Annotated[str, Field(max_length=MAX_ID_CHARS)] | None = None
    agent_name: Annotated[str, Field(max_length=MAX_NAME_CHARS)] | None = None
    metadata: Metadata = None
    expires_in_seconds: IntentSeconds = DEFAULT_INTENT_SECONDS


class ConfirmIntentRequest(_Strict):
    """Body of POST /api/v1/payment-intents/{id}/confirm. The paying session's token goes in
    `session_token` (as ZendFi's docs show) or in X-Session-Token (what an SDK interceptor adds);
    a session token as the bearer pays from its own session. Settlement on a chain is out of
    scope: `payment_type` and `customer_wallet` are kept on the payment, `auto_gasless` is ignored."""

    client_secret: Annotated[str, Field(min_length=1, max_length=256)]
    customer_wallet: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
    payment_type: Annotated[str, Field(max_length=64)] | None = None
    auto_gasless: bool | None = None
    metadata: Metadata = None
    session_token: Annotated[str, Field(min_length=1, max_length=512)] | None = None


class CaptureIntentRequest(_Strict):
    """Body of POST /api/v1/payment-intents/{id}/capture: how much of the hold to spend (all of it if absent)."""

    amount_to_capture: OptionalAmountCents = None
