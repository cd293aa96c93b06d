"""Domain errors, each carrying the contract's status and code; mapped to HTTP in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """An error the contract names. `details` is shown to the caller as is."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL"
    default_message: ClassVar[str] = "Something went wrong on our side."

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = details or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    """The body, query or path is invalid; `fields` maps each field path to what is wrong."""

    status = 422
    code = "VALIDATION_ERROR"
    default_message = "The request is invalid."

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        names = ", ".join(fields)
        super().__init__(message or f"Invalid request: {names}.", {"fields": fields})
        self.fields = fields


class Unauthenticated(DomainError):
    """One message for a missing, malformed or unknown key or token."""

    status = 401
    code = "UNAUTHENTICATED"
    default_message = "A valid API key or session token is required."


class Forbidden(DomainError):
    """The credential is genuine but may not call this endpoint."""

    status = 403
    code = "FORBIDDEN"
    default_message = "This credential may not call this endpoint."


class InsufficientScope(Forbidden):
    """An agent key without the scope a route needs (`details.required_scope` names it)."""

    code = "INSUFFICIENT_SCOPE"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This key lacks the {scope} scope this route needs.", {"required_scope": scope})


class SessionRevoked(DomainError):
    """A genuine token whose session was revoked."""

    status = 403
    code = "SESSION_REVOKED"
    default_message = "The session has been revoked."


class SessionExpired(DomainError):
    """A genuine token whose session is past its expires_at."""

    status = 403
    code = "SESSION_EXPIRED"
    default_message = "The session has expired."


class ConsentRequired(DomainError):
    """A consent-bound session whose wallet owner has not signed its consent yet."""

    status = 403
    code = "CONSENT_REQUIRED"
    default_message = "This session waits for its wallet owner's consent (GET and POST …/consent)."


class NotFound(DomainError):
    """No such object, or it belongs to another API key: never reveal which."""

    status = 404
    code = "NOT_FOUND"
    default_message = "No such object."


class LimitExceeded(DomainError):
    """A payment over max_per_transaction or over what a window has left.

    `details`: limit, limit_amount, remaining, attempted, resets_at (dollars, ISO time or null).
    """

    status = 402
    code = "LIMIT_EXCEEDED"
    default_message = "The payment exceeds a spending limit of this session."


class MerchantNotAllowed(DomainError):
    """The merchant is not in the session's allowed_merchants."""

    status = 403
    code = "MERCHANT_NOT_ALLOWED"
    default_message = "This session may not pay this merchant."


class InvalidState(DomainError):
    """Approve or reject of a payment that is not awaiting approval."""

    status = 409
    code = "INVALID_STATE"
    default_message = "The payment is not awaiting approval."


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key replayed with a different request."""

    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was already used with a different request."


class RateLimited(DomainError):
    """Throttled: too many requests, or too many payments awaiting approval at once."""

    status = 429
    code = "RATE_LIMITED"
    default_message = "Too many requests; retry later."


class VelocityLimited(RateLimited):
    """A session's payment count for a minute, hour or day is used up; `details.resets_at` says until when."""

    code = "VELOCITY_LIMIT"
    default_message = "This session has made as many payments as its rate limits allow for now."


class PreconditionFailed(DomainError):
    """If-Match named a version the object is no longer at."""

    status = 412
    code = "PRECONDITION_FAILED"
    default_message = "The object has changed since the version in If-Match."


class PreconditionRequired(DomainError):
    """A change that must name the version it applies to came without If-Match."""

    status = 428
    code = "PRECONDITION_REQUIRED"
    default_message = "This change needs an If-Match header with the version it applies to."


def retry_after_seconds(error: DomainError) -> int | None:
    """Seconds a 429 asks the caller to wait (the Retry-After header), when it knows."""
    value = error.details.get("retry_after_seconds")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# The refusals a payment can meet, by code: a replayed Idempotency-Key re-raises the stored one.
PAYMENT_REFUSALS: dict[str, type[DomainError]] = {
    error.code: error
    for error in (
        LimitExceeded,
        MerchantNotAllowed,
        SessionRevoked,
        SessionExpired,
        RateLimited,
        VelocityLimited,
        ConsentRequired,
    )
}
