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


class NotFound(DomainError):
    """No such object, or it belongs to another API key: never reveal which."""

    status = 404
    code = "NOT_FOUND"
    default_message = "No such object."
