"""Changes to a live session other than payments: its owner's consent, and its terms (PATCH)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import due_attributes, session_key, session_record, to_attribute
from agent_sessions.dal.table import TableAccess, session_write_marks, terms_rev_condition
from agent_sessions.domain.records import SessionRecord, format_timestamp


def assignments(written: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """`#wN = :wN` for each attribute written: the names, the values and the clauses."""
    names = {f"#w{position}": name for position, name in enumerate(written)}
    values = {f":w{position}": to_attribute(value) for position, value in enumerate(written.values())}
    return names, values, [f"#w{position} = :w{position}" for position in range(len(written))]


class DynamoSessionChanges(TableAccess):
    """SessionConsentStore and SessionTermsChanger over the table."""

    def record_consent(self, consented: SessionRecord, now: datetime) -> SessionRecord | None:
        """pending_consent -> active with the owner's signature (and an identity, if minted), in one write.

        Only while it waits for consent and its deadline has not passed; None otherwise.
        """
        marks, mark_values = session_write_marks()
        identity = {"pkp_address": consented.pkp_address, "attestation_signature": consented.attestation_signature}
        names, values, clauses = assignments(
            {
                "consent_signature": consented.consent_signature,
                "gsi2sk": due_attributes(f"SESS#{consented.id}", consented.expires_at)["gsi2sk"],
                **{name: value for name, value in identity.items() if value is not None},
            }
        )
        names["#status"] = "status"
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(consented.id),
                UpdateExpression=f"SET #status = :active, {', '.join(clauses)}, {marks}",
                ConditionExpression="account_id = :account AND #status = :pending AND consent_deadline_epoch > :now",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **values,
                    **mark_values,
                    ":active": {"S": "active"},
                    ":pending": {"S": "pending_consent"},
                    ":account": {"S": consented.account_id},
                    ":now": {"N": str(int(now.timestamp()))},
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return session_record(response["Attributes"])

    def change_terms(self, changed: SessionRecord, expected_rev: int, now: datetime) -> SessionRecord | None:
        """Write a live session's new terms in one conditional write, if they are still revision `expected_rev`.

        Only the terms are written (limits, velocity, merchants, expiry and its due-index entry),
        so payments committed meanwhile are kept. The parameters the identity signed at creation
        are kept the first time they change. Returns the session after the write, or None when
        the condition failed (the caller reads it to say why).
        """
        request = _terms_update(changed, expected_rev)
        request["ExpressionAttributeValues"].update(
            {
                ":account": {"S": changed.account_id},
                ":active": {"S": "active"},
                ":now": {"N": str(int(now.timestamp()))},
            }
        )
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(changed.id),
                ConditionExpression="account_id = :account AND #status = :active AND expires_epoch > :now AND "
                + terms_rev_condition(expected_rev, request["ExpressionAttributeValues"]),
                ReturnValues="ALL_NEW",
                **request,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return session_record(response["Attributes"])


def _terms_update(changed: SessionRecord, expected_rev: int) -> dict[str, Any]:
    """The UpdateExpression (with its names and values) that writes a session's new terms, and only those."""
    marks, mark_values = session_write_marks()
    written, removed = _new_terms(changed, expected_rev)
    names, values, clauses = assignments(written)
    names.update({f"#drop{position}": name for position, name in enumerate(removed)})
    names["#status"] = "status"
    values.update({**mark_values, ":attested": to_attribute(changed.attestation_parameters()), ":no_counts": {"M": {}}})
    clauses += [
        "attested = if_not_exists(attested, :attested)",
        "payment_counts = if_not_exists(payment_counts, :no_counts)",
        marks,
    ]
    removals = [f"#drop{position}" for position in range(len(removed))]
    return {
        "UpdateExpression": "SET " + ", ".join(clauses) + (" REMOVE " + ", ".join(removals) if removals else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _new_terms(changed: SessionRecord, expected_rev: int) -> tuple[dict[str, Any], list[str]]:
    """The attributes a change of terms writes, and those it removes (no velocity, no merchant list)."""
    terms: dict[str, Any] = {
        "limits": dict(changed.limits_cents),
        "expires_at": format_timestamp(changed.expires_at),
        "expires_epoch": int(changed.expires_at.timestamp()),
        "terms_rev": expected_rev + 1,
        "gsi2sk": due_attributes(f"SESS#{changed.id}", changed.expires_at)["gsi2sk"],
        "velocity": dict(changed.velocity) or None,
        "allowed_merchants": changed.allowed_merchants,
        "consent_signature": changed.consent_signature,
    }
    written = {name: value for name, value in terms.items() if value is not None}
    return written, [name for name in terms if name not in written]
