"""DynamoDB's billed item size, by its published rules (what write and read units are charged on).

- a name counts its UTF-8 bytes; a string its UTF-8 bytes; binary its bytes;
- a number about one byte per two significant digits, plus one;
- null and boolean 1 byte;
- a list or map 3 bytes plus its elements (a map's keys count like names), plus 1 byte per element.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any


def _number_bytes(text: str) -> int:
    digits = str(abs(Decimal(text))).replace(".", "").lstrip("0").rstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_value_bytes(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's wire form ({"S": ...}, {"M": ...}, ...)."""
    ((kind, inner),) = value.items()
    if kind not in _SIZE_OF:
        raise ValueError(f"unknown attribute type {kind}")
    return _SIZE_OF[kind](inner)


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


_SIZE_OF: dict[str, Callable[[Any], int]] = {
    "S": _utf8,
    "N": _number_bytes,
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "L": lambda items: 3 + sum(attribute_value_bytes(item) + 1 for item in items),
    "M": lambda items: 3 + sum(_utf8(key) + attribute_value_bytes(item) + 1 for key, item in items.items()),
    "SS": lambda items: sum(_utf8(item) for item in items),
    "NS": lambda items: sum(_number_bytes(item) for item in items),
}


def item_bytes(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The billed size of a whole item."""
    return sum(len(name.encode("utf-8")) + attribute_value_bytes(value) for name, value in item.items())


def write_units(item_size: int, transactional: bool = False) -> int:
    """Write request units for writing an item of this size: 1 per KB started, doubled in a transaction."""
    units = max(1, -(-item_size // 1024))
    return units * 2 if transactional else units
