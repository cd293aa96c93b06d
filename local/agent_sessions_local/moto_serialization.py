"""moto's DynamoDB answers serialised without walking the model for every attribute value.

moto builds each JSON answer by walking the operation's output shape member by member, looking
each member up through four alias providers. An attribute value (`{"S": ...}`, `{"M": {...}}`)
is a structure of ten members, so an item of nested maps costs thousands of lookups: reading
a session item with a few payments from the in-process moto took 5.7 ms (1.6 ms with this), and
the property test of the payment ledger spent most of its time there. The backend already hands
over attribute values in their wire form, except binary ones (raw bytes, base64-encoded by the
serializer), so here an attribute value without bytes is copied as it is; anything else (binary
values, a shape moto may add) takes moto's own path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def install() -> None:
    """Serialise attribute values directly in every moto JSON answer of this process (idempotent)."""
    from moto.core.serialize import BaseJSONSerializer

    moto_structure = BaseJSONSerializer._serialize_type_structure
    if getattr(moto_structure, "attribute_values_copied", False):
        return

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            wire = attribute_value_on_the_wire(value)
            if wire is not None:
                self._default_serialize(serialized, wire, shape, key)
                return
        moto_structure(self, serialized, value, shape, key)

    serialize_structure.attribute_values_copied = True  # type: ignore[attr-defined]
    serialize_structure.moto_serialize_structure = moto_structure  # type: ignore[attr-defined]  # for the tests
    BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]


def attribute_value_on_the_wire(value: Any) -> dict[str, Any] | None:
    """The attribute value as DynamoDB's JSON carries it; None when moto's serializer must do it
    (B and BS hold bytes the serializer encodes; anything unexpected is left to moto too)."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    convert = _CONVERTERS.get(kind)
    return None if convert is None else convert(kind, inner)


def _scalar(kind: str, inner: Any) -> dict[str, Any] | None:
    return {kind: inner} if isinstance(inner, _SCALAR_TYPES[kind]) else None


def _set(kind: str, inner: Any) -> dict[str, Any] | None:
    strings = isinstance(inner, list) and all(isinstance(member, str) for member in inner)
    return {kind: list(inner)} if strings else None


def _map(kind: str, inner: Any) -> dict[str, Any] | None:
    if not isinstance(inner, dict):
        return None
    members = {name: attribute_value_on_the_wire(member) for name, member in inner.items()}
    return None if any(member is None for member in members.values()) else {kind: members}


def _list(kind: str, inner: Any) -> dict[str, Any] | None:
    if not isinstance(inner, list):
        return None
    items = [attribute_value_on_the_wire(item) for item in inner]
    return None if any(item is None for item in items) else {kind: items}


_SCALAR_TYPES: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_CONVERTERS: dict[str, Callable[[str, Any], dict[str, Any] | None]] = {
    **dict.fromkeys(_SCALAR_TYPES, _scalar),
    "SS": _set,
    "NS": _set,
    "M": _map,
    "L": _list,
}
