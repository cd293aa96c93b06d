"""Changes to a live session other than payments: its owner's consent, and its terms (PATCH)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import due_attributes, session_key, session_record, to_attribute, velocity_attribute
from agent_sessions.dal.ports import TermsNotWritten
from agent_sessions.dal.table import TableAccess, session_write_marks, terms_rev_condition
from agent_sessions.domain.records import SessionRecord, format_timestamp
from agent_sessions.domain.term_changes import (
    KEPT_EXPIRY,
    KEPT_LIMITS,
    KEPT_RATES,
    NamedTermChanges,
    kept_at_creation,
)
from agent_sessions.domain.windows import VELOCITY_NAMES
from agent_sessions.infra.observability import logger


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

    def change_terms_unread(
        self, account_id: str, session_id: str, changes: NamedTermChanges, expected_rev: int, now: datetime
    ) -> SessionRecord | TermsNotWritten:
        """The named terms written without reading the session first: one UpdateItem.

        Its condition is every check a change needs that does not need the session read: the
        account's, active, not past expiry, the terms at `expected_rev`, no owner's consent (a
        consented session's loosening is checked against it), a new expiry within the longest
        lifetime from creation, and a named term that differs. Each term it changes first keeps
        what it was at creation (`was_*`, copied from the item itself before the new value is
        set, as the first clauses). Refused, it returns the session as it was, as DynamoDB sends
        it back with the refusal (None from an implementation that does not).
        """
        request = _named_terms_update(session_id, changes, expected_rev, now)
        request["ExpressionAttributeValues"][":account"] = {"S": account_id}
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(session_id),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **request,
            )
        except self._client.exceptions.ConditionalCheckFailedException as refused:
            item = refused.response.get("Item")
            return TermsNotWritten(session_record(item) if item else None)
        except self._client.exceptions.ClientError as invalid:
            if not _lacks_a_path(invalid.response.get("Error", {})):
                raise
            # Velocity stored as a map, as it first was: DynamoDB may find `velocity[0]` missing
            # before it evaluates the condition. The long way stores it as a list.
            logger.warning("terms not written blind: the item lacks a path", extra={"session_id": session_id})
            return TermsNotWritten(None)
        return session_record(response["Attributes"])


def _terms_update(changed: SessionRecord, expected_rev: int) -> dict[str, Any]:
    """The UpdateExpression (with its names and values) that writes a session's new terms, and only those."""
    marks, mark_values = session_write_marks()
    written, removed = _new_terms(changed, expected_rev)
    names, values, clauses = assignments(written)
    names.update({f"#drop{position}": name for position, name in enumerate(removed)})
    names["#status"] = "status"
    values.update(mark_values)
    for position, (stored, value) in enumerate(kept_at_creation(changed).items()):  # the first change of each keeps it
        names[f"#kept{position}"] = stored
        values[f":kept{position}"] = to_attribute(value)
        clauses.append(f"#kept{position} = if_not_exists(#kept{position}, :kept{position})")
    clauses.append(marks)
    if changed.velocity:  # payments are counted from now on
        values[":no_counts"] = {"M": {}}
        clauses.append("payment_counts = if_not_exists(payment_counts, :no_counts)")
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
        "velocity": velocity_attribute(changed.velocity),
        "allowed_merchants": changed.allowed_merchants,
        "consent_signature": changed.consent_signature,
    }
    written = {name: value for name, value in terms.items() if value is not None}
    return written, [name for name in terms if name not in written]


def _lacks_a_path(error: dict[str, Any]) -> bool:
    """Whether DynamoDB refused an update because a path it names is not in the item (nothing else:
    an expression of ours it cannot read is a defect, and must not pass for a refusal)."""
    message = str(error.get("Message", ""))
    return error.get("Code") == "ValidationException" and (
        "document path provided in the update expression is invalid" in message
        or "expression refers to an attribute that does not exist" in message
    )


def _named_terms_update(session_id: str, changes: NamedTermChanges, expected_rev: int, now: datetime) -> dict[str, Any]:
    """The UpdateExpression, condition, names and values of a change written blind (see change_terms_unread)."""
    names: dict[str, str] = {"#status": "status"}
    values: dict[str, Any] = {
        ":active": {"S": "active"},
        ":now": {"N": str(int(now.timestamp()))},
        ":next_rev": {"N": str(expected_rev + 1)},
    }
    kept: list[str] = []
    written: list[str] = []
    differs: list[str] = []
    needed: list[str] = []
    for position, (name, cents) in enumerate(changes.limits_cents.items()):
        names.update({f"#limit{position}": name, f"#kept_limit{position}": KEPT_LIMITS[name]})
        values[f":limit{position}"] = {"N": str(cents)}
        kept.append(f"#kept_limit{position} = if_not_exists(#kept_limit{position}, limits.#limit{position})")
        written.append(f"limits.#limit{position} = :limit{position}")
        differs.append(f"limits.#limit{position} <> :limit{position}")
    for position, (rate, count) in enumerate(changes.velocity.items()):
        stored = f"velocity[{VELOCITY_NAMES.index(rate)}]"  # see codec.velocity_attribute
        names[f"#kept_rate{position}"] = KEPT_RATES[rate]
        values[f":rate{position}"] = {"N": str(count)}
        kept.append(f"#kept_rate{position} = if_not_exists(#kept_rate{position}, {stored})")
        written.append(f"{stored} = :rate{position}")
        differs.append(f"{stored} <> :rate{position}")
        needed.append(f"attribute_exists({stored})")  # NULL when the session has none; absent if stored as a map
    if changes.velocity:  # payments are counted from now on
        values[":no_counts"] = {"M": {}}
        written.append("payment_counts = if_not_exists(payment_counts, :no_counts)")
    if changes.expires_at is not None and changes.earliest_creation is not None:  # both or neither
        names["#kept_expiry"] = KEPT_EXPIRY
        values.update(
            {
                ":expires_at": {"S": format_timestamp(changes.expires_at)},
                ":expires_epoch": {"N": str(int(changes.expires_at.timestamp()))},
                ":earliest_creation": {"S": format_timestamp(changes.earliest_creation)},
                ":due": {"S": due_attributes(f"SESS#{session_id}", changes.expires_at)["gsi2sk"]},
            }
        )
        kept.append("#kept_expiry = if_not_exists(#kept_expiry, expires_at)")
        written += ["expires_at = :expires_at", "expires_epoch = :expires_epoch", "gsi2sk = :due"]
        differs.append("expires_epoch <> :expires_epoch")
        needed.append("created_at >= :earliest_creation")
    marks, mark_values = session_write_marks()
    values.update(mark_values)
    clauses = [*kept, *written, "terms_rev = :next_rev"]
    condition = [
        "account_id = :account",
        "#status = :active",
        "expires_epoch > :now",
        "attribute_not_exists(consent_signature)",
        terms_rev_condition(expected_rev, values),
        *needed,
        "(" + " OR ".join(differs) + ")",
    ]
    return {
        "UpdateExpression": "SET " + ", ".join([*clauses, marks]),
        "ConditionExpression": " AND ".join(condition),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
