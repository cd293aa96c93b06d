"""A change of a session's terms named without reading the session: a PATCH written blind.

Only the terms a request names change: amount limits, velocity limits and the expiry. What each
one was at creation is kept by the write that first changes it (the attestation and the decision
log's genesis are computed from the session as it was created), so nothing needs reading first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_sessions.domain.records import LimitName, SessionRecord
from agent_sessions.domain.windows import VELOCITY_NAMES, VelocityName

# What the item keeps of a term's value at creation, once a change written blind first changes it.
CREATED_LIMIT_PREFIX = "created_limit_"
CREATED_RATE_PREFIX = "created_rate_"
CREATED_EXPIRY = "created_expires_at"


@dataclass(frozen=True)
class NamedTermChanges:
    """The terms a PATCH names, each with its new value, and what the write must find to apply it.

    `earliest_creation` comes with a new expiry: the session must have been created at or after it
    (so the expiry is within the longest lifetime from its creation).
    """

    limits_cents: dict[LimitName, int]
    velocity: dict[VelocityName, int]
    expires_at: datetime | None = None
    earliest_creation: datetime | None = None

    def __post_init__(self) -> None:
        if (self.expires_at is None) != (self.earliest_creation is None):
            raise ValueError("a new expiry comes with the earliest creation it allows, and only then")

    def applies_to(self, session: SessionRecord) -> bool:
        """Whether the write may change `session` (live checks aside): no expiry past its longest
        lifetime, and at least one named term that differs from what it is now."""
        if self.earliest_creation is not None and session.created_at < self.earliest_creation:
            return False
        return (
            any(session.limits_cents[name] != cents for name, cents in self.limits_cents.items())
            or any(session.velocity.get(name) != count for name, count in self.velocity.items())
            or (self.expires_at is not None and int(self.expires_at.timestamp()) != int(session.expires_at.timestamp()))
        )

    def applied_to(self, session: SessionRecord) -> SessionRecord:
        """`session` with the named terms changed; what it was created with is kept (see module doc)."""
        return session.with_changes(
            limits_cents={**session.limits_cents, **self.limits_cents},
            velocity={**session.velocity, **self.velocity},
            expires_at=self.expires_at or session.expires_at,
            attested_parameters=session.attestation_parameters(),
            terms_rev=session.terms_rev + 1,
            version=session.version + 1,
        )


def parameters_at_creation(current: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """A session's parameters as created: `current` (its parameters now, in their order) with each
    term that a change written blind kept put back (`kept`: the item's `created_*` values; None for
    a velocity limit the session did not have)."""
    parameters = {name: value for name, value in current.items() if name not in _AFTER_EXPIRY}
    parameters["limits"] = {
        name: int(kept.get(CREATED_LIMIT_PREFIX + name, cents)) for name, cents in current["limits"].items()
    }
    if CREATED_EXPIRY in kept:
        parameters["expires_at"] = str(kept[CREATED_EXPIRY])
    velocity = _velocity_at_creation(current.get("velocity") or {}, kept)
    if velocity:
        parameters["velocity"] = velocity
    parameters.update({name: current[name] for name in _AFTER_EXPIRY[1:] if name in current})
    return parameters


def _velocity_at_creation(current: dict[str, int], kept: dict[str, Any]) -> dict[str, int]:
    """The velocity limits as created, in their order: each one kept (None: none) or else as it is."""
    velocity = {rate: kept.get(CREATED_RATE_PREFIX + rate, current.get(rate)) for rate in VELOCITY_NAMES}
    return {rate: int(count) for rate, count in velocity.items() if count is not None}


# The parameters that follow the expiry, in their order (see SessionRecord.current_parameters).
_AFTER_EXPIRY = ("velocity", "require_consent", "consent_signature")
