"""A range of days given as `from` and `to` query parameters (2026-11-24, UTC, both inclusive)."""

from __future__ import annotations

from datetime import date

from agent_sessions.domain.errors import ValidationFailed


def parse_days(first: str | None, last: str | None) -> tuple[date | None, date | None]:
    """`from` and `to` as dates (None when not given); 422 naming both if one is not a day, or if `from` > `to`."""
    start, end = _day(first), _day(last)
    if start and end and start > end:
        raise ValidationFailed({"from": "must be on or before `to`"})
    return start, end


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        shape = "must be a date like 2026-11-24"
        raise ValidationFailed({"from": shape, "to": shape}) from None
