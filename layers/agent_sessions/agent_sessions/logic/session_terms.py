"""A session's terms as a request sets them: all of them at creation, some of them by PATCH."""

from __future__ import annotations

from agent_sessions.domain.records import LIMIT_NAMES, LimitName
from agent_sessions.domain.windows import VelocityName
from agent_sessions.wire.models import LimitsIn, PaymentRatesIn, RateLimitsIn


def limits_with(base: dict[LimitName, int], given: LimitsIn | None) -> dict[LimitName, int]:
    """`base` with each amount limit `given` names replaced (cents)."""
    named = named_limits(given)
    return {name: named.get(name, base[name]) for name in LIMIT_NAMES}


def named_limits(given: LimitsIn | None) -> dict[LimitName, int]:
    """The amount limits `given` names (cents); one sent as null names none."""
    values = given.model_dump() if given else {}
    return {name: values[name] for name in LIMIT_NAMES if values.get(name) is not None}


def velocity_with(
    base: dict[VelocityName, int], limits: LimitsIn | None, rate_limits: RateLimitsIn | None
) -> dict[VelocityName, int]:
    """`base` with each velocity limit the request names replaced: per minute, per hour, per day."""
    rates = (rate_limits.payments if rate_limits else None) or PaymentRatesIn()
    given: dict[VelocityName, int | None] = {
        "per_minute": rates.per_minute,
        "per_hour": rates.per_hour,
        "per_day": (limits or LimitsIn()).max_payments_per_day,
    }
    return {**base, **{name: count for name, count in given.items() if count is not None}}
