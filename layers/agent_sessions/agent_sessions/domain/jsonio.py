"""JSON in and out without floats: numbers parse to Decimal and Decimals print exactly."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quoted
from typing import Any

MAX_BODY_BYTES = 64 * 1024
# Bounds checked before parsing, so no body can make anything recurse deeply or convert a huge number.
MAX_JSON_DEPTH = 32
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class BodyTooLarge(ValueError):
    """The request body is over MAX_BODY_BYTES."""


class BodyTooDeep(ValueError):
    """The request body nests arrays and objects deeper than MAX_JSON_DEPTH."""


class BodyHasDuplicateKey(ValueError):
    """An object in the request body names the same key twice (parsers disagree on which one counts)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"The body names the key {key!r} twice in one object.")
        self.key = key


class BodyNotAnObject(ValueError):
    """The request body is JSON but not an object (every body this API takes is one)."""


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def parse_json_body(text: str) -> Any:
    """Parse a request body: numbers with a fraction become Decimal; NaN, Infinity and a key named
    twice in one object are refused (one reader taking the first and another the last is how a
    proxy and a service come to see different requests)."""
    if len(text) > MAX_BODY_BYTES or len(text.encode("utf-8")) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    # A text cannot nest deeper than it has opening brackets (counted fast, in strings too).
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
        raise BodyTooDeep(f"The body must nest at most {MAX_JSON_DEPTH} levels deep.")
    return json.loads(
        text,
        parse_float=Decimal,
        parse_int=_parse_int,
        parse_constant=_reject_constant,
        object_pairs_hook=_object_without_repeats,
    )


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    parsed = dict(pairs)
    if len(parsed) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BodyHasDuplicateKey(key)
            seen.add(key)
    return parsed


def json_depth(text: str) -> int:
    """How deep a JSON text nests arrays and objects, counted without parsing (no recursion)."""
    skeleton = _STRING_LITERAL.sub("", text)
    steps = (1 if c in "[{" else -1 for c in skeleton if c in "[]{}")
    return max(itertools.accumulate(steps), default=0)


def _parse_int(digits: str) -> int | Decimal:
    """Integers as int; one too long for int() (thousands of digits) as Decimal, for the field to refuse."""
    return int(digits) if len(digits) <= 640 else Decimal(digits)


def parse_json_object_body(text: str) -> dict[str, Any]:
    """parse_json_body for endpoints that take a JSON object; arrays and scalars are refused."""
    parsed = parse_json_body(text)
    if not isinstance(parsed, dict):
        raise BodyNotAnObject("The body must be a JSON object.")
    return parsed


def encode_json(value: Any) -> str:
    """Serialise dicts, lists, str, int, bool, None and Decimal (as an exact JSON number).

    The output is exactly `json.dumps(value, separators=(",", ":"))` for values without a Decimal
    (ASCII, escaped as json escapes it), so stored fingerprints of requests never change. The
    exact built-in types take a fast path (this runs on every answer); subclasses take the general one.
    """
    write = _WRITERS.get(type(value))
    return write(value) if write is not None else _encode_subclass(value)


def _object_text(value: dict[Any, Any]) -> str:
    return (
        "{"
        + ",".join(
            [
                _quoted(k if type(k) is str else str(k))
                + ":"
                + (_quoted(v) if type(v) is str else "null" if v is None else encode_json(v))
                for k, v in value.items()
            ]
        )
        + "}"
    )


def _array_text(value: list[Any] | tuple[Any, ...]) -> str:
    return "[" + ",".join([encode_json(item) for item in value]) + "]"


def _decimal_text(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("cannot encode a non-finite Decimal")
    return str(value)  # always a valid JSON number for a finite Decimal, e.g. 29.99 or 1E+400


_WRITERS: dict[type, Callable[[Any], str]] = {
    str: _quoted,
    dict: _object_text,
    list: _array_text,
    tuple: _array_text,
    Decimal: _decimal_text,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda value: "null",
}


def _encode_subclass(value: Any) -> str:
    """encode_json for instances of subclasses of the JSON types (an enum of strings, a dict subclass)."""
    if isinstance(value, dict):
        return _object_text(value)
    if isinstance(value, list | tuple):
        return _array_text(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, str | int | bool):
        return json.dumps(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
