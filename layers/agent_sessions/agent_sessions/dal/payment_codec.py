"""Payments as items: the ledger record, its listings on both indexes, and back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from agent_sessions.dal.codec import (
    due_attributes,
    epoch_or_none,
    from_item,
    newest_first_key,
    parse_or_none,
    timestamp_or_none,
    to_item,
)
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.records import (
    Decline,
    PaymentRecord,
    PaymentStatus,
    format_timestamp,
    parse_timestamp,
)


def payment_key(payment_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PAY#{payment_id}"}}


def payments_partition(session_id: str) -> str:
    return f"SESS#{session_id}#PAY"


def payment_item(payment: PaymentRecord) -> dict[str, Any]:
    listed = payment.stored_status != "declined"
    decline = payment.decline
    return to_item(
        {
            "pk": f"PAY#{payment.id}",
            "type": "payment",
            "id": payment.id,
            "session_id": payment.session_id,
            "account_id": payment.account_id,
            "amount": payment.amount_cents,
            "currency": payment.currency,
            "merchant_id": payment.merchant_id,
            "description": payment.description,
            "metadata": encode_json(payment.metadata) if payment.metadata else None,
            "status": payment.stored_status,
            "created_at": format_timestamp(payment.created_at),
            "fingerprint": payment.request_fingerprint,
            "windows": list(payment.window_keys) or None,
            "approval_expires_at": timestamp_or_none(payment.approval_expires_at),
            "approval_expires_epoch": epoch_or_none(payment.approval_expires_at),
            "decided_at": timestamp_or_none(payment.decided_at),
            "decision_key": payment.decision_key,
            "decline": encode_json({"code": decline.code, "message": decline.message, "details": decline.details})
            if decline
            else None,
            "agent_id": payment.agent_id,
            "intent_id": payment.intent_id,
            **(_payment_listings(payment) if listed else _decline_listing(payment)),
            **(
                due_attributes(f"PAY#{payment.id}", payment.approval_expires_at)
                if payment.stored_status == "pending_approval" and payment.approval_expires_at
                else {}
            ),
        }
    )


def _payment_listings(payment: PaymentRecord) -> dict[str, str]:
    """Listed under its session (by_owner) and its account (by_account), newest first in both."""
    key = newest_first_key(payment.id)
    return {"gsi1pk": payments_partition(payment.session_id), "gsi1sk": key, "gsi3pk": account_payments_partition(
        payment.account_id), "gsi3sk": key}  # fmt: skip


def _decline_listing(payment: PaymentRecord) -> dict[str, str]:
    """A declined attempt is listed apart, under its session's declines (the console shows them)."""
    return {"gsi1pk": declines_partition(payment.session_id), "gsi1sk": newest_first_key(payment.id)}


def declines_partition(session_id: str) -> str:
    return f"SESS#{session_id}#DECLINED"


def account_payments_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#PAY"


def payment_record(item: Mapping[str, Any]) -> PaymentRecord:
    values = from_item(item)
    decline = json.loads(values["decline"], parse_float=Decimal) if values.get("decline") else None
    return PaymentRecord(
        id=values["id"],
        session_id=values["session_id"],
        account_id=values["account_id"],
        amount_cents=int(values["amount"]),
        currency=values["currency"],
        merchant_id=values.get("merchant_id"),
        description=values.get("description"),
        metadata=json.loads(values["metadata"], parse_float=Decimal) if values.get("metadata") else {},
        stored_status=cast(PaymentStatus, values["status"]),
        created_at=parse_timestamp(values["created_at"]),
        request_fingerprint=values.get("fingerprint"),
        window_keys=tuple(values.get("windows") or ()),
        approval_expires_at=parse_or_none(values.get("approval_expires_at")),
        decided_at=parse_or_none(values.get("decided_at")),
        decision_key=values.get("decision_key"),
        agent_id=values.get("agent_id"),
        intent_id=values.get("intent_id"),
        decline=Decline(code=decline["code"], message=decline["message"], details=decline["details"])
        if decline
        else None,
    )
