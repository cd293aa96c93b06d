"""A session's holds as stored, and the counters a reader sees once decided holds are settled.

A hold is `{"a": amount, "t": epoch seconds taken}`. A plain payment's hold also has `c`: the
payment's copy as JSON (domain/held_decisions.py), or "" when it was too large to keep; its
presence says the hold may be decided by a write to the session alone. That write adds `d`:
`{"s": decision, "at": epoch seconds, "k": the Idempotency-Key's digest}`, until the outbox
settles it (the hold then leaves the item).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from agent_sessions.domain.held_decisions import copy_from_text, copy_text, settled_counters
from agent_sessions.domain.holds import DecidedHold, Decision, Hold


def hold_attribute(hold: Hold) -> dict[str, Any]:
    """A hold as stored (undecided)."""
    stored: dict[str, Any] = {"a": hold.amount_cents, "t": int(hold.taken_at.timestamp())}
    if hold.session_decidable:
        stored["c"] = copy_text(hold.copy, hold.taken_at)
    return stored


def decision_attribute(decision: Decision, decided_at: datetime, decision_key: str | None) -> dict[str, Any]:
    """What a decision by the session's write adds to the hold (`d`)."""
    stored: dict[str, Any] = {"s": decision, "at": int(decided_at.timestamp())}
    if decision_key is not None:
        stored["k"] = decision_key
    return stored


def session_holds(values: Mapping[str, Any], created_at: datetime) -> dict[str, Any]:
    """The SessionRecord fields of a session's holds: committed, held, holds and decided holds.

    Holds decided but not yet settled are shown settled: out of `holds`, and out of the counters
    as their settlement will take them (see settled_counters).
    """
    holds: dict[str, Hold] = {}
    decided: dict[str, DecidedHold] = {}
    for payment_id, stored in (values.get("holds") or {}).items():
        hold = _hold(stored)
        decision = stored.get("d")
        if decision is None:
            holds[payment_id] = hold
            continue
        decided[payment_id] = DecidedHold(
            hold=hold,
            decision=cast(Decision, decision["s"]),
            decided_at=datetime.fromtimestamp(int(decision["at"]), UTC),
            decision_key=decision.get("k"),
        )
    committed, held = stored_counts(values.get("committed")), stored_counts(values.get("held"))
    if decided:  # every session read: the counters are fresh dicts already, copied again only when settling
        committed, held = settled_counters(created_at, committed, held, decided)
    return {"committed_cents": committed, "held_cents": held, "holds": holds, "decided_holds": decided}


def _hold(stored: Mapping[str, Any]) -> Hold:
    copy = stored.get("c")
    taken_at = datetime.fromtimestamp(int(stored["t"]), UTC)
    return Hold(
        amount_cents=int(stored["a"]),
        taken_at=taken_at,
        session_decidable=copy is not None,
        copy=copy_from_text(json.loads(copy, parse_float=Decimal), taken_at) if copy else None,
    )


def stored_counts(value: Any) -> dict[str, int]:
    """A stored map of counters (`{"d3": 1250}`), as ints; absent is empty."""
    return {str(key): int(count) for key, count in (value or {}).items()}
