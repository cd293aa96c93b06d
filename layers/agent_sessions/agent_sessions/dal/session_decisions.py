"""A held payment decided by one write to its session, and its settlement (domain/held_decisions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import session_key, session_record, to_attribute
from agent_sessions.dal.decision_ports import HoldNotDecided
from agent_sessions.dal.hold_codec import decision_attribute
from agent_sessions.dal.payment_codec import payment_key
from agent_sessions.dal.table import NOT_DUE, TableAccess, session_write_marks
from agent_sessions.domain.held_decisions import hold_window_keys
from agent_sessions.domain.records import HOLD_LIFETIME, Decision, SessionRecord, format_timestamp

_DECIDE_CONDITION = " AND ".join(
    (
        "account_id = :account",
        "#status = :active",
        "expires_epoch > :now",
        "attribute_exists(holds.#payment.c)",  # a plain payment's hold (see hold_codec)
        "attribute_not_exists(holds.#payment.d)",
        "holds.#payment.t > :taken_after",  # not lapsed: taken less than HOLD_LIFETIME ago
    )
)


class DynamoSessionDecisions(TableAccess):
    """SessionDecider and DecisionSettler over the table."""

    def decide_on_session(
        self,
        session_id: str,
        payment_id: str,
        account_id: str,
        decision: Decision,
        now: datetime,
        decision_key: str | None,
    ) -> SessionRecord | HoldNotDecided:
        """One UpdateItem: the hold marked decided (`d`), the session's version and last payment change."""
        marks, mark_values = session_write_marks(payment_id, "approved" if decision == "authorized" else "rejected")
        now_epoch = int(now.timestamp())
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(session_id),
                UpdateExpression=f"SET holds.#payment.d = :decision, {marks}",
                ConditionExpression=_DECIDE_CONDITION,
                ExpressionAttributeNames={"#payment": payment_id, "#status": "status"},
                ExpressionAttributeValues={
                    **mark_values,
                    ":decision": to_attribute(decision_attribute(decision, now, decision_key)),
                    ":account": {"S": account_id},
                    ":active": {"S": "active"},
                    ":now": {"N": str(now_epoch)},
                    ":taken_after": {"N": str(now_epoch - int(HOLD_LIFETIME.total_seconds()))},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as refused:
            item = refused.response.get("Item")
            return HoldNotDecided(session_record(item) if item else None)
        return session_record(response["Attributes"])

    def settle_decided_hold(self, session: SessionRecord, payment_id: str) -> bool:
        """The payment takes its decision and the session's counters let the hold go, in one transaction."""
        decided = session.decided_holds[payment_id]
        values: dict[str, Any] = {
            ":decided": {"S": decided.decision},
            ":decided_at": {"S": format_timestamp(decided.decided_at)},
            ":pending": {"S": "pending_approval"},
        }
        also_set = ""
        if decided.decision_key is not None:
            also_set, values[":decision_key"] = ", decision_key = :decision_key", {"S": decided.decision_key}
        payment_update = {
            "Update": {
                "TableName": self._table,
                "Key": payment_key(payment_id),
                "UpdateExpression": f"SET #status = :decided, decided_at = :decided_at{also_set} {NOT_DUE}",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }
        session_update = self.hold_release(
            session.id,
            payment_id,
            decided.hold.amount_cents,
            hold_window_keys(session.created_at, decided.hold),
            released_cents=decided.hold.amount_cents if decided.decision == "rejected" else 0,
            payment_change=None,
            settling=True,
        )
        return self.transact([payment_update, session_update]) is None
