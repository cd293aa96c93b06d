"""The item codec's attribute values: the table-driven to_attribute holds to the plain definition."""

from decimal import Decimal
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.dal.codec import from_attribute, to_attribute


def reference_attribute(value: Any) -> dict[str, Any]:
    """What a DynamoDB attribute value is, spelled out by isinstance (bool before int)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [reference_attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {str(k): reference_attribute(v) for k, v in value.items()}}
    if value is None:
        return {"NULL": True}
    raise TypeError(type(value).__name__)


class Level(IntEnum):
    LOW = 1


class Label(str):
    pass


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(),
    st.just(Level.LOW),
    st.text().map(Label),
)
values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
)


@given(value=values)
def test_to_attribute_is_the_plain_definition_for_any_value(value: Any) -> None:
    assert to_attribute(value) == reference_attribute(value)


@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.decimals(allow_nan=False, allow_infinity=False, places=2),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    )
)
def test_an_attribute_reads_back_as_the_value_it_was_made_from(value: Any) -> None:
    assert from_attribute(to_attribute(value)) == value


@pytest.mark.parametrize("value", [1.5, b"bytes", {1, 2}, (1, 2), object()])
def test_what_the_table_cannot_store_is_a_type_error(value: Any) -> None:
    with pytest.raises(TypeError):
        to_attribute(value)
    with pytest.raises(TypeError):
        to_attribute({"nested": [value]})


def test_a_session_item_names_its_session_once_and_its_last_payment_by_its_own_part() -> None:
    """Written: no `id` beside `pk`, and `last_payment` as "<change> <the payment's 16 characters>".
    Read: those, and items as first stored (an `id`, a `{"id", "change"}` map) alike."""
    from agent_sessions.dal.codec import session_item, session_record
    from agent_sessions.dal.table import session_write_marks
    from agent_sessions.domain.credentials import new_payment_id
    from agent_sessions.domain.records import PaymentChange
    from tests.unit.test_records import make_session

    session = make_session(id="sess_" + "k" * 24)
    item = session_item(session)
    assert "id" not in item
    payment_id = new_payment_id(session.id)
    _, values = session_write_marks(payment_id, "approved")
    assert values[":last_payment"] == {"S": f"approved {payment_id[-16:]}"}
    as_written = session_record({**item, "last_payment": values[":last_payment"]})
    as_first_stored = session_record(
        {
            **item,
            "id": {"S": session.id},
            "last_payment": {"M": {"id": {"S": payment_id}, "change": {"S": "approved"}}},
        }
    )
    assert as_written.id == as_first_stored.id == session.id
    assert (
        as_written.last_payment_change == as_first_stored.last_payment_change == PaymentChange(payment_id, "approved")
    )
    older = "pay_" + "m" * 24  # an id from before ids named their session is kept whole
    _, values = session_write_marks(older, "rejected")
    assert session_record({**item, "last_payment": values[":last_payment"]}).last_payment_change == PaymentChange(
        older, "rejected"
    )
