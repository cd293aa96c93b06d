"""A session's decision log: every decision as an entry of a hash chain anyone can check offline.

Each entry is `{seq, at, kind, payment_id?, amount?, rule?, terms?, windows_after, prev, hash}` with
`hash = "0x" + sha256(prev ‖ RFC 8785 canonical entry without its hash)`; the first entry's `prev`
is the keccak-256 of the session's parameters at creation (the attestation's `parameters_hash`,
the consent message's `parameters_keccak256`). Amounts are integer cents and `windows_after` holds
the committed cents of the day, week and month current at `at`, as the write left them.

`verify` recomputes the chain and replays the limits, so a forged entry (a payment past a limit)
is caught even when the forger recomputed every hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent_sessions.domain.records import format_timestamp, parse_timestamp
from agent_sessions.domain.windows import WINDOW_KINDS, WINDOW_LIMIT_NAME, window_position

PAYMENT_KINDS = ("payment_authorized", "payment_held")
HOLD_ENDS = {"payment_approved": "spent", "payment_rejected": "released", "payment_lapsed": "released"}
END_KINDS = ("revoked", "expired")


def canonical(value: Any) -> bytes:
    """RFC 8785 for the values a log holds (strings, integers, booleans, null, lists, objects)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """`0x` + sha256(prev ‖ canonical entry without its hash)."""
    body = {name: value for name, value in entry.items() if name != "hash"}
    return "0x" + hashlib.sha256(str(entry["prev"]).encode() + canonical(body)).hexdigest()


def chained(fields: dict[str, Any], seq: int, prev: str) -> dict[str, Any]:
    """An entry with its place in the chain and its hash."""
    entry = {**fields, "seq": seq, "prev": prev}
    entry["hash"] = entry_hash(entry)
    return entry


@dataclass
class Verdict:
    """Each check's result (True passes), and what broke first, if anything."""

    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def fail(self, check: str, problem: str) -> None:
        self.checks[check] = False
        self.problems.append(problem)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())


def verify_chain(entries: list[dict[str, Any]], genesis: str, verdict: Verdict) -> None:
    """seq runs 1, 2, …; each entry's prev is the hash before it; each hash is its own; the start is `genesis`."""
    verdict.checks.update({"chain": True, "start": True})
    if entries and entries[0].get("prev") != genesis:
        verdict.fail("start", f"the first entry's prev {entries[0].get('prev')} is not the attestation's {genesis}")
    previous = genesis
    for position, entry in enumerate(entries, start=1):
        if entry.get("seq") != position:
            verdict.fail("chain", f"entry {position} has seq {entry.get('seq')}: removed, inserted or reordered")
            return
        if position > 1 and entry.get("prev") != previous:
            verdict.fail("chain", f"entry {position}'s prev is not entry {position - 1}'s hash")
            return
        if entry.get("hash") != entry_hash(entry):
            verdict.fail("chain", f"entry {position} was edited: its hash does not match its content")
            return
        previous = str(entry["hash"])


@dataclass
class _Replay:
    created_at: datetime
    limits: dict[str, int]
    committed: dict[str, int] = field(default_factory=dict)
    holds: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    ended: bool = False


def replay(entries: list[dict[str, Any]], verdict: Verdict) -> dict[str, int]:
    """Replay the limits: every payment fits every window when it is made, every hold ends once,
    no payment after the end, and each entry's windows_after is what the replay holds. The counters."""
    verdict.checks.update({"limits": True, "holds": True, "after_end": True, "windows": True})
    if not entries or entries[0].get("kind") != "session_created":
        verdict.fail("limits", "the log does not start with session_created")
        return {}
    state = _Replay(created_at=parse_timestamp(entries[0]["at"]), limits=dict(entries[0]["terms"]["limits"]))
    for entry in entries:
        _step(state, entry, verdict)
        for key, cents in entry.get("windows_after", {}).items():
            if state.committed.get(key, 0) != cents:
                verdict.fail(
                    "windows",
                    f"entry {entry.get('seq')}: {key} is {cents}, the replay has {state.committed.get(key, 0)}",
                )
    return {key: cents for key, cents in state.committed.items() if cents}


def _step(state: _Replay, entry: dict[str, Any], verdict: Verdict) -> None:
    kind = entry.get("kind")
    if kind == "terms_changed":
        state.limits = dict(entry["terms"]["limits"])
    elif kind in END_KINDS:
        state.ended = True
    elif kind in PAYMENT_KINDS:
        _pay(state, entry, verdict)
    elif kind in HOLD_ENDS:
        _end_hold(state, entry, verdict)


def _keys(state: _Replay, at: str) -> tuple[str, ...]:
    moment = parse_timestamp(at)
    return tuple(window_position(kind, state.created_at, moment).counter_key for kind in WINDOW_KINDS)


def _pay(state: _Replay, entry: dict[str, Any], verdict: Verdict) -> None:
    if state.ended:
        verdict.fail("after_end", f"entry {entry.get('seq')}: a payment after the session ended")
    amount, keys = int(entry["amount"]), _keys(state, entry["at"])
    for kind, key in zip(WINDOW_KINDS, keys, strict=True):
        state.committed[key] = state.committed.get(key, 0) + amount
        limit = state.limits[WINDOW_LIMIT_NAME[kind]]
        if state.committed[key] > limit:
            verdict.fail("limits", f"entry {entry.get('seq')}: {key} reaches {state.committed[key]} over {limit}")
    if amount > state.limits["max_per_transaction"]:
        verdict.fail("limits", f"entry {entry.get('seq')}: {amount} is over max_per_transaction")
    if entry["kind"] == "payment_held":
        state.holds[str(entry["payment_id"])] = (amount, keys)


def _end_hold(state: _Replay, entry: dict[str, Any], verdict: Verdict) -> None:
    hold = state.holds.pop(str(entry.get("payment_id")), None)
    if hold is None:
        verdict.fail("holds", f"entry {entry.get('seq')}: ends a hold that is not open")
        return
    if HOLD_ENDS[str(entry["kind"])] == "released":
        amount, keys = hold
        for key in keys:
            state.committed[key] -= amount


def windows_after(committed: dict[str, int], created_at: datetime, at: datetime) -> dict[str, int]:
    """The committed cents of the day, week and month current at `at`."""
    keys = (window_position(kind, created_at, at).counter_key for kind in WINDOW_KINDS)
    return {key: committed.get(key, 0) for key in keys}


def timestamp(moment: datetime) -> str:
    return format_timestamp(moment)
