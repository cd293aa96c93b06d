"""encode_json: exactly what json.dumps writes, Decimals as exact numbers, for any JSON-shaped value."""

import enum
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.jsonio import MAX_JSON_DEPTH, BodyTooDeep, encode_json, json_depth, parse_json_body

# Any text, lone surrogates and control characters included (metadata can carry them before checks).
TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25,
)
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False)
WITH_DECIMALS = st.recursive(
    SCALARS | DECIMALS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25,
)


@given(JSON_VALUES)
def test_without_decimals_it_writes_what_json_dumps_writes(value: Any) -> None:
    """Stored idempotency fingerprints hash this text, so it must never change."""
    assert encode_json(value) == json.dumps(value, separators=(",", ":"))


@given(WITH_DECIMALS)
def test_decimals_read_back_exactly(value: Any) -> None:
    text = encode_json(value)
    assert text.isascii()
    assert _same(json.loads(text, parse_float=Decimal, parse_int=Decimal), value)


@given(st.lists(DECIMALS, max_size=4).map(tuple), st.dictionaries(st.integers(), DECIMALS, max_size=3))
def test_tuples_and_non_string_keys_are_written_as_json_dumps_would(
    items: tuple[Decimal, ...], keyed: dict[int, Decimal]
) -> None:
    assert encode_json(items) == encode_json(list(items))
    assert json.loads(encode_json(keyed), parse_float=Decimal, parse_int=Decimal) == {
        str(k): v for k, v in keyed.items()
    }


class Colour(enum.StrEnum):
    RED = "red"


class Count(enum.IntEnum):
    TWO = 2


class Tagged(dict):  # type: ignore[type-arg]
    pass


def test_subclasses_of_the_json_types_are_written_as_their_values() -> None:
    value = Tagged({Colour.RED: [Colour.RED, Count.TWO, True, Decimal("1.50")]})
    assert encode_json(value) == '{"red":["red",2,true,1.50]}'


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), [Decimal("-Infinity")]])
def test_a_non_finite_decimal_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode_json(value)


@pytest.mark.parametrize("value", [1.5, {1, 2}, object(), {"a": b"bytes"}])
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        encode_json(value)


@given(WITH_DECIMALS)
def test_what_it_writes_parses_as_a_request_body_would(value: Any) -> None:
    text = encode_json({"value": value})
    assert _same(parse_json_body(text)["value"], value)


def _same(read: Any, written: Any) -> bool:
    if isinstance(written, dict):
        return (
            isinstance(read, dict)
            and read.keys() == written.keys()
            and all(_same(read[k], v) for k, v in written.items())
        )
    if isinstance(written, list):
        return isinstance(read, list) and len(read) == len(written) and all(map(_same, read, written))
    if isinstance(written, bool) or written is None:
        return read is written
    if isinstance(written, int | Decimal):
        return isinstance(read, int | Decimal) and not isinstance(read, bool) and Decimal(read) == Decimal(written)
    return bool(read == written)


@st.composite
def _nested_texts(draw: st.DrawFn) -> str:
    """JSON nested around the depth bound, with or without brackets inside its strings."""
    value: Any = draw(st.sampled_from(["[", "{x", "]]", "}", "", "plain", 1]))
    depth = draw(st.integers(min_value=MAX_JSON_DEPTH - 2, max_value=MAX_JSON_DEPTH + 2) | st.integers(0, 40))
    wraps = draw(st.sampled_from(["list", "object", "bracketed key", "mixed"]))
    for _ in range(depth):
        wrap = draw(st.sampled_from(["list", "object", "bracketed key"])) if wraps == "mixed" else wraps
        if wrap == "list":
            value = [value]
        elif wrap == "object":
            value = {"k": value}
        else:
            value = {"[{": value}
    return json.dumps(value)


@given(_nested_texts())
def test_a_body_is_refused_as_too_deep_exactly_when_it_nests_past_the_bound(text: str) -> None:
    if json_depth(text) > MAX_JSON_DEPTH:
        with pytest.raises(BodyTooDeep):
            parse_json_body(text)
    else:
        assert parse_json_body(text) == json.loads(text)
