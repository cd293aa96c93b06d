"""moto's DynamoDB answers serialised without walking the model for every attribute value.

moto builds each JSON answer by walking the operation's output shape member by member, looking
each member up through four alias providers. An attribute value (`{"S": ...}`, `{"M": {...}}`)
is a structure of ten members, so an item of nested maps costs thousands of lookups: reading
one session item took several milliseconds, and a test reading the ledger spent most of its
time there. The backend already hands over attribute values in their wire form, except binary
ones (raw bytes, base64-encoded by the serializer), so here an attribute value without bytes is
copied as it is; anything else (binary values, a shape moto may add) takes moto's own path.
"""

from __future__ import annotations

from typing import Any

_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_SETS = {"SS", "NS"}


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
    """The attribute value as DynamoDB's JSON carries it; None when moto's serializer must do it."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in _SCALARS:
        return {kind: inner} if isinstance(inner, _SCALARS[kind]) else None
    if kind in _SETS:
        return {kind: list(inner)} if isinstance(inner, list) and all(isinstance(v, str) for v in inner) else None
    if kind == "M" and isinstance(inner, dict):
        members = {}
        for name, member in inner.items():
            members[name] = attribute_value_on_the_wire(member)
            if members[name] is None:
                return None
        return {"M": members}
    if kind == "L" and isinstance(inner, list):
        items = [attribute_value_on_the_wire(item) for item in inner]
        return None if any(item is None for item in items) else {"L": items}
    return None  # B, BS (bytes the serializer encodes) or anything unexpected
