"""Copies of the domain's frozen records with some fields changed, cheaper than `dataclasses.replace`."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def copy_with(record: Any, changes: dict[str, Any]) -> Any:
    """`dataclasses.replace` for the records of domain/records.py, without its per-field work: a copy of `record`
    with `changes` (names that are not its fields are a TypeError, as with replace).

    Only for frozen dataclasses whose fields are all set by __init__ and that have no __post_init__
    (tests/unit/test_records.py holds every record type to that, and the copy to replace's).
    """
    kind = type(record)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES.setdefault(kind, frozenset(f.name for f in fields(kind)))
    if not names.issuperset(changes):
        raise TypeError(f"{kind.__name__} has no field {sorted(set(changes) - names)}")
    copied = object.__new__(kind)
    state = copied.__dict__
    state.update(record.__dict__)
    state.update(changes)
    return copied


_FIELD_NAMES: dict[type, frozenset[str]] = {}
