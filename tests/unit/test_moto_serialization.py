"""Attribute values copied as they are (moto_serialization) make the very bytes moto's serializer makes."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core.responses import get_service_model
from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class

from agent_sessions_local import moto_serialization

moto_serialization.install()
MOTO_STRUCTURE = BaseJSONSerializer._serialize_type_structure.moto_serialize_structure  # type: ignore[attr-defined]

names = st.text(min_size=1, max_size=8)
numbers = st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)
texts = st.text(max_size=12)
scalars = st.one_of(
    texts.map(lambda text: {"S": text}),
    numbers.map(lambda number: {"N": number}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
    st.lists(texts, min_size=1, max_size=4, unique=True).map(lambda values: {"SS": values}),
    st.lists(numbers, min_size=1, max_size=4, unique=True).map(lambda values: {"NS": values}),
    st.binary(max_size=8).map(lambda raw: {"B": raw}),  # raw bytes, as moto hands them to the serializer
    st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=3, unique=True).map(lambda raw: {"BS": raw}),
)
attribute_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.dictionaries(names, inner, max_size=4).map(lambda members: {"M": members}),
        st.lists(inner, max_size=4).map(lambda items: {"L": items}),
    ),
    max_leaves=20,
)
items = st.dictionaries(names, attribute_values, min_size=1, max_size=6)

ANSWERS = {
    ("dynamodb", "GetItem"): lambda item: {"Item": item},
    ("dynamodb", "UpdateItem"): lambda item: {"Attributes": item},
    ("dynamodb", "Query"): lambda item: {"Items": [item, item], "Count": 2, "ScannedCount": 2},
    ("dynamodb", "TransactGetItems"): lambda item: {"Responses": [{"Item": item}, {}]},
    ("dynamodb", "BatchGetItem"): lambda item: {"Responses": {"table": [item]}, "UnprocessedKeys": {}},
    ("dynamodbstreams", "GetRecords"): lambda item: {
        "Records": [{"eventName": "MODIFY", "dynamodb": {"Keys": item, "NewImage": item, "OldImage": item}}]
    },
}


def serialized(service: str, operation: str, answer: dict[str, Any]) -> Any:
    """The body moto answers with for `answer` (an action's result), as its ActionResult makes it."""
    model = get_service_model(service)
    serializer_class = get_serializer_class(model.service_name, "json")
    serializer = serializer_class(
        operation_model=model.operation_model(operation), pretty_print=False, value_picker=XFormedAttributePicker()
    )
    return serializer.serialize(answer)


@pytest.mark.parametrize(("service", "operation"), list(ANSWERS))
@settings(max_examples=60, deadline=None)
@given(item=items)
def test_any_item_is_answered_as_moto_answers_it(service: str, operation: str, item: dict[str, Any]) -> None:
    answer = ANSWERS[(service, operation)](item)
    fast = serialized(service, operation, answer)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseJSONSerializer, "_serialize_type_structure", MOTO_STRUCTURE)
        moto = serialized(service, operation, answer)
    assert fast == moto


def test_only_values_without_bytes_are_copied() -> None:
    copied = {"M": {"a": {"L": [{"S": "x"}, {"N": "1.5"}, {"NULL": True}]}, "b": {"SS": ["y"]}}}
    assert moto_serialization.attribute_value_on_the_wire(copied) == copied
    for left_to_moto in ({"B": b"x"}, {"M": {"a": {"BS": [b"x"]}}}, {"L": [{"B": b""}]}, {"S": 1}, {"N": 2}, {}):
        assert moto_serialization.attribute_value_on_the_wire(left_to_moto) is None
