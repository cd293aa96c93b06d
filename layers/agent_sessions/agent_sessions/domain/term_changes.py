"""Changes of a session's terms, and what the item keeps of the terms it was created with.

The attestation and the decision log's genesis are computed from the session as created (with
its owner's first consent), so the write that first changes a term keeps beside it what the term
was then (`was_*`): a change written blind (a PATCH of the limits, velocity limits or expiry
that names them without reading the session first) copies it from the item itself; a change
computed from the session read (or known) writes the value it knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_sessions.domain.records import LimitName, SessionRecord
from agent_sessions.domain.windows import VELOCITY_NAMES, VelocityName

# The names the item keeps a term's value at creation under, once a change first changes it.
# Short: every payment rewrites the session's item, and a name's bytes count in its size.
KEPT_LIMITS: dict[LimitName, str] = {
    "max_per_transaction": "was_tx",
    "max_per_day": "was_day",
    "max_per_week": "was_week",
    "max_per_month": "was_month",
    "require_approval_above": "was_approval",
}
KEPT_RATES: dict[VelocityName, str] = {"per_minute": "was_n_min", "per_hour": "was_n_hour", "per_day": "was_n_day"}
KEPT_EXPIRY = "was_expires"
KEPT_MERCHANTS = "was_merchants"
KEPT_CONSENT = "was_consent"
KEPT_NAMES = (*KEPT_LIMITS.values(), *KEPT_RATES.values(), KEPT_EXPIRY, KEPT_MERCHANTS, KEPT_CONSENT)


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


def kept_at_creation(changed: SessionRecord) -> dict[str, Any]:
    """What `changed` (a session with new terms, its attested parameters those it was created with)
    must keep of its creation: each term whose new value is not the one it was created with, by the
    name the item keeps it under (None for a velocity limit, merchant list or consent it had not)."""
    then, now = _terms_of(changed.attestation_parameters()), _terms_of(changed.attested_with_consent())
    return {name: then[name] for name in KEPT_NAMES if then[name] != now[name]}


def parameters_at_creation(current: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """A session's parameters as created: `current` (its parameters now, in their order) with each
    term a change kept put back (`kept`: the item's `was_*` values; None for a velocity limit,
    merchant list or consent signature the session did not have)."""
    terms = {**_terms_of(current), **kept}
    parameters = {name: value for name, value in current.items() if name not in _AFTER_EXPIRY}
    parameters.update(
        limits={name: int(terms[KEPT_LIMITS[name]]) for name in current["limits"]},
        allowed_merchants=terms[KEPT_MERCHANTS],
        expires_at=str(terms[KEPT_EXPIRY]),
    )
    velocity = {rate: int(terms[KEPT_RATES[rate]]) for rate in VELOCITY_NAMES if terms[KEPT_RATES[rate]] is not None}
    if velocity:
        parameters["velocity"] = velocity
    if "require_consent" in current:
        parameters["require_consent"] = current["require_consent"]
    if terms[KEPT_CONSENT] is not None:
        parameters["consent_signature"] = terms[KEPT_CONSENT]
    return parameters


def _terms_of(parameters: dict[str, Any]) -> dict[str, Any]:
    """The terms of a session's parameters by the names the item keeps them under (None: it has none)."""
    limits, velocity = parameters["limits"], parameters.get("velocity") or {}
    return {
        **{stored: limits.get(name) for name, stored in KEPT_LIMITS.items()},
        **{stored: velocity.get(rate) for rate, stored in KEPT_RATES.items()},
        KEPT_EXPIRY: parameters.get("expires_at"),
        KEPT_MERCHANTS: parameters.get("allowed_merchants"),
        KEPT_CONSENT: parameters.get("consent_signature"),
    }


# The parameters that follow the expiry, in their order (see SessionRecord.current_parameters).
_AFTER_EXPIRY = ("velocity", "require_consent", "consent_signature")
