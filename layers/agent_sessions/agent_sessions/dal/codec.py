"""The item codec: attribute values, keys, item <-> record, cursors and stream images.

Single table, string partition key `pk`:
- `APIKEY#<sha256 of key>`: an API key's account.
- `SESS#<session id>`: a session, its limits and its per-window counters. GSI `by_owner`
  (`gsi1pk` = `ACCT#<account>#SESS`, `gsi1sk` = `<written at, ns>#<id>`) lists an account's sessions
  newest first.
- `PAY#<payment id>`: a payment, authorized, awaiting approval, decided, or declined. The same
  GSI (`gsi1pk` = `SESS#<session id>#PAY`) lists a session's payments newest first; declines
  carry no gsi1 attributes, so they stay in the ledger without being listed.
- `WH#<webhook id>`: a webhook endpoint (`gsi1pk` = `ACCT#<account>#WH`); `DLV#<event>#<webhook>`:
  a delivery already made (kept a week by TTL).

GSI `by_due` is sparse and sharded: a live session and a payment awaiting approval carry
`gsi2pk` = `DUE#<shard>` and `gsi2sk` = `<due epoch, 10 digits>#<pk>`, removed by the write that
ends them, so the expiry sweep reads only what is due.

A session's counters are maps keyed by window index (`d3` is day 3): `committed` (spent plus
held, what the limit conditions compare), `held` (the part awaiting approval) and `holds`
(payment id -> amount and time taken, for each payment awaiting approval; see dal/hold_codec.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from agent_sessions.dal.hold_codec import hold_attribute, session_holds, stored_counts
from agent_sessions.dal.ports import DUE_SHARDS, DueItem
from agent_sessions.domain.credentials import (
    INTENT_ID_SHAPE,
    PAYMENT_ID_SHAPE,
    SESSION_ID_SHAPE,
    payment_id_in_session,
)
from agent_sessions.domain.errors import ValidationFailed
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import (
    DEFAULT_WARN_AT_PERCENT,
    LIMIT_NAMES,
    LimitName,
    PaymentChange,
    PaymentChangeKind,
    SessionRecord,
    StoredSessionStatus,
    format_timestamp,
    parse_timestamp,
)
from agent_sessions.domain.term_changes import (
    KEPT_NAMES,
    parameters_at_creation,
)
from agent_sessions.domain.windows import VELOCITY_NAMES, VelocityName

OWNER_INDEX = "by_owner"
ACCOUNT_INDEX = "by_account"
DUE_INDEX = "by_due"
# A cursor is the listing sort key of a page's last item: when it was written (ns) and its id.
SESSION_CURSOR_PATTERN = rf"^[0-9]{{20}}#{SESSION_ID_SHAPE}$"
PAYMENT_CURSOR_PATTERN = rf"^[0-9]{{20}}#{PAYMENT_ID_SHAPE}$"
INTENT_CURSOR_PATTERN = rf"^[0-9]{{20}}#{INTENT_ID_SHAPE}$"
_CURSOR_PATTERNS = {"SESS#": SESSION_CURSOR_PATTERN, "PAY#": PAYMENT_CURSOR_PATTERN, "INTENT#": INTENT_CURSOR_PATTERN}

# ---- item <-> record --------------------------------------------------------------------


def to_attribute(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value: by its exact type, else the first it is an instance of."""
    write = _ATTRIBUTE_WRITERS.get(type(value))
    if write is None:  # a subclass (an IntEnum, a str subclass): bool comes before int in the table
        write = next((writer for kind, writer in _ATTRIBUTE_WRITERS.items() if isinstance(value, kind)), None)
        if write is None:
            raise TypeError(f"cannot store {type(value).__name__}")
    return write(value)


_ATTRIBUTE_WRITERS: dict[type, Callable[[Any], dict[str, Any]]] = {
    str: lambda value: {"S": value},
    bool: lambda value: {"BOOL": value},
    int: lambda value: {"N": str(value)},
    Decimal: lambda value: {"N": str(value)},
    list: lambda value: {"L": [to_attribute(item) for item in value]},
    dict: lambda value: {"M": {str(k): to_attribute(v) for k, v in value.items()}},
    type(None): lambda value: {"NULL": True},
}


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else Decimal(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [from_attribute(item) for item in value]
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    raise TypeError(f"unexpected attribute type {kind}")


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as an item's attributes, those that are None left out (strings first: most are)."""
    return {
        name: {"S": value} if type(value) is str else to_attribute(value)
        for name, value in values.items()
        if value is not None
    }


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: from_attribute(attribute) for name, attribute in item.items()}


def session_key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SESS#{session_id}"}}


def owner_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#SESS"


def due_attributes(pk: str, due_at: datetime) -> dict[str, str]:
    """The due-index attributes of an item that falls due at `due_at` (its shard from its key)."""
    shard = int(hashlib.sha256(pk.encode()).hexdigest()[:8], 16) % DUE_SHARDS
    return {"gsi2pk": f"DUE#{shard}", "gsi2sk": f"{int(due_at.timestamp()):010d}#{pk}"}


def newest_first_key(object_id: str) -> str:
    """A listing sort key: the write time in nanoseconds, so objects made in one second keep their order."""
    return f"{time.time_ns():020d}#{object_id}"


def session_item(session: SessionRecord) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"SESS#{session.id}",  # the session's id is read from here (an `id` as first stored is read too)
            "type": "session",
            "account_id": session.account_id,
            "agent_id": session.agent_id,
            "agent_name": session.agent_name,
            "user_wallet": session.user_wallet,
            "limits": dict(session.limits_cents),
            "allowed_merchants": session.allowed_merchants,
            "status": session.stored_status,
            "created_at": format_timestamp(session.created_at),
            "expires_at": format_timestamp(session.expires_at),
            "expires_epoch": int(session.expires_at.timestamp()),
            "revoked_at": format_timestamp(session.revoked_at) if session.revoked_at else None,
            "token_hash": session.token_hash,
            "pkp_address": session.pkp_address,
            "metadata": encode_json(session.metadata),
            "committed": dict(session.committed_cents),
            "held": dict(session.held_cents),
            "holds": {payment_id: hold_attribute(hold) for payment_id, hold in session.holds.items()},
            "version": session.version,
            "warn_at": session.warn_at_percent,
            "warned": dict(session.warned),
            "resumed": dict(session.resumed),
            "velocity": velocity_attribute(session.velocity),
            # Counted only under a velocity limit (a change that sets one adds the map).
            "payment_counts": dict(session.payment_counts) if session.velocity or session.payment_counts else None,
            "terms_rev": session.terms_rev or None,
            "attested": session.attested_parameters,
            "attestation_signature": session.attestation_signature,
            "fingerprint": session.request_fingerprint,
            "gsi1pk": owner_partition(session.account_id),
            "gsi1sk": newest_first_key(session.id),
            "consent_deadline": timestamp_or_none(session.consent_deadline),
            "consent_deadline_epoch": epoch_or_none(session.consent_deadline),
            "consent_signature": session.consent_signature,
            "mint_pkp_on_consent": session.mint_pkp_on_consent or None,
            **_session_due(session),
        }
    )


def _session_due(session: SessionRecord) -> dict[str, str]:
    """A live session is due at its expiry; one waiting for consent at its consent deadline."""
    if session.stored_status == "active":
        return due_attributes(f"SESS#{session.id}", session.expires_at)
    if session.stored_status == "pending_consent" and session.consent_deadline is not None:
        return due_attributes(f"SESS#{session.id}", min(session.consent_deadline, session.expires_at))
    return {}


def velocity_attribute(velocity: Mapping[VelocityName, int]) -> list[int | None]:
    """The velocity limits in VELOCITY_NAMES' order, None (NULL) for one the session does not have.

    A list, as small as it can be (17 bytes with none), with every position present: a change
    written blind can then set any of them and keep what it was at creation (a path that is
    absent can be neither set nor copied).
    """
    return [velocity.get(name) for name in VELOCITY_NAMES]


def _velocity(value: Any) -> dict[VelocityName, int]:
    """The stored velocity limits: a list (velocity_attribute), or a map by name as first stored."""
    pairs = zip(VELOCITY_NAMES, value, strict=False) if isinstance(value, list) else (value or {}).items()
    return {name: int(count) for name, count in pairs if count is not None}


def session_record(item: Mapping[str, Any]) -> SessionRecord:
    values = from_item(item)
    record = _session_record(values)
    kept = {name: values[name] for name in KEPT_NAMES if name in values}  # what changes kept of the creation
    if kept and record.attested_parameters is None:
        return record.with_changes(attested_parameters=parameters_at_creation(record.attested_with_consent(), kept))
    return record


def _session_record(values: Mapping[str, Any]) -> SessionRecord:
    limits = cast(dict[LimitName, int], {name: int(values["limits"][name]) for name in LIMIT_NAMES})
    session_id = _id_of(values)
    return SessionRecord(
        id=session_id,
        account_id=values["account_id"],
        agent_id=values["agent_id"],
        agent_name=values.get("agent_name"),
        user_wallet=values["user_wallet"],
        limits_cents=limits,
        allowed_merchants=values.get("allowed_merchants"),
        stored_status=cast(StoredSessionStatus, values["status"]),
        created_at=parse_timestamp(values["created_at"]),
        expires_at=parse_timestamp(values["expires_at"]),
        token_hash=values["token_hash"],
        revoked_at=parse_timestamp(values["revoked_at"]) if values.get("revoked_at") else None,
        pkp_address=values.get("pkp_address"),
        metadata=json.loads(values.get("metadata") or "{}", parse_float=Decimal),
        **_session_counters(values),
        **_session_terms(values),
        attestation_signature=values.get("attestation_signature"),
        request_fingerprint=values.get("fingerprint"),
        changed_at_ns=int(values["changed_ns"]) if "changed_ns" in values else None,
        last_payment_change=_payment_change(values.get("last_payment"), session_id),
    )


def _id_of(values: Mapping[str, Any]) -> str:
    """An item's id: its `id`, or (a session's, which is not stored twice) what follows the `pk`'s prefix."""
    return str(values.get("id") or values["pk"].split("#", 1)[1])


def _session_counters(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a session's writes count: committed, held and holds, payments per window, warnings and resumptions."""
    return {
        **session_holds(values, parse_timestamp(values["created_at"])),
        "payment_counts": stored_counts(values.get("payment_counts")),
        "warned": stored_counts(values.get("warned")),
        "resumed": stored_counts(values.get("resumed")),
        "version": int(values.get("version", 0)),
    }


def _session_terms(values: Mapping[str, Any]) -> dict[str, Any]:
    """The terms beyond the amounts: velocity, their revision, what was attested, the warning threshold."""
    return {
        "velocity": _velocity(values.get("velocity")),
        "terms_rev": int(values.get("terms_rev") or 0),
        "attested_parameters": _attested(values.get("attested")),
        "warn_at_percent": int(values.get("warn_at", DEFAULT_WARN_AT_PERCENT)),
        "consent_deadline": parse_or_none(values.get("consent_deadline")),
        "consent_signature": values.get("consent_signature"),
        "mint_pkp_on_consent": bool(values.get("mint_pkp_on_consent", False)),
    }


def _attested(value: Any) -> dict[str, Any] | None:
    """The stored parameters an identity signed (kept once a PATCH changed the session's own)."""
    return dict(value) if isinstance(value, dict) and value else None


def _payment_change(value: str | Mapping[str, Any] | None, session_id: str) -> PaymentChange | None:
    """The last payment change a session's write recorded: `"<change> <short id>"`, or as first
    stored, `{"id", "change"}`."""
    if not value:
        return None
    if isinstance(value, str):
        change, short = value.split(" ", 1)
        return PaymentChange(
            payment_id=payment_id_in_session(short, session_id), change=cast(PaymentChangeKind, change)
        )
    return PaymentChange(payment_id=str(value["id"]), change=cast(PaymentChangeKind, value["change"]))


def timestamp_or_none(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment else None


def epoch_or_none(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def parse_or_none(text: str | None) -> datetime | None:
    return parse_timestamp(text) if text else None


def encode_cursor(last_evaluated_key: Mapping[str, Any]) -> str:
    """A page's cursor: the listing sort key of its last item (`<20 digits>#<id>`)."""
    return str(last_evaluated_key["gsi1sk"]["S"])


def checked_cursor(cursor: str, pk_prefix: str) -> str:
    """The cursor, if it has the pattern of its listing (`SESS#` sessions, `PAY#` payments, ...); else a 422."""
    if not re.fullmatch(_CURSOR_PATTERNS[pk_prefix], cursor):
        raise ValidationFailed({"cursor": "is not a cursor this API returned"})
    return cursor


def decode_cursor(cursor: str, partition: str, pk_prefix: str) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for; its partition is always the one being listed.

    Every string of the cursor's pattern is a position in the listing (the page starts after it),
    so the API document's pattern is exactly what the server accepts.
    """
    object_id = checked_cursor(cursor, pk_prefix).split("#", 1)[1]
    return {"pk": {"S": pk_prefix + object_id}, "gsi1pk": {"S": partition}, "gsi1sk": {"S": cursor}}


def api_key_key(key_hash: str) -> dict[str, Any]:
    return {"pk": {"S": f"APIKEY#{key_hash}"}}


def due_sort_key_bound(now: datetime) -> str:
    """The largest due-index sort key due at `now` ("~" sorts after every pk)."""
    return f"{int(now.timestamp()):010d}#~"


def due_item(item: Mapping[str, Any]) -> DueItem:
    """A due-index entry as the DueItem it stands for (its due time from the sort key)."""
    values = from_item(item)
    return DueItem(
        kind=values.get("type", ""),
        id=_id_of(values),
        due_at=datetime.fromtimestamp(int(values["gsi2sk"].split("#", 1)[0]), UTC),
        session_id=values.get("session_id"),
        amount_cents=int(values.get("amount", 0)),
        window_keys=tuple(values.get("windows") or ()),
    )
