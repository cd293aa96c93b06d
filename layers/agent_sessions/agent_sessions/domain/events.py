"""The events the service announces: the one list of their names."""

from __future__ import annotations

from typing import Literal, get_args

EventName = Literal[
    "agent.session.created",
    "agent.session.consented",
    "agent.session.revoked",
    "agent.session.expired",
    "agent.session.updated",
    "agent.session.limit_warning",
    "agent.session.limit_reached",
    "agent.session.resumed",
    "agent.payment.authorized",
    "agent.payment.pending_approval",
    "agent.payment.approved",
    "agent.payment.rejected",
    "agent.payment.expired",
    "agent.intent.created",
    "agent.intent.processing",
    "agent.intent.succeeded",
    "agent.intent.canceled",
]
EVENT_NAMES: tuple[EventName, ...] = get_args(EventName)
