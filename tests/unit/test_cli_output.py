import argparse
import contextlib
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions_cli.client import ApiError, encode_json
from agent_sessions_cli.commands import amount, show_error
from agent_sessions_cli.limit_commands import count
from agent_sessions_cli.output import dollars, fields, relative, shown, table

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def test_dollars_are_exact_with_thousands() -> None:
    assert dollars(Decimal("1234.5")) == "$1,234.50"
    assert dollars(0) == "$0.00"
    assert dollars(None) == "-"


def test_times_read_relative_to_now() -> None:
    assert relative("2026-11-26T09:00:00Z", NOW) == "in 23 h"
    assert relative("2026-11-25T10:05:00Z", NOW) == "in 5 min"
    assert relative("2026-11-25T10:00:00Z", NOW) == "now"
    assert relative("2026-11-22T10:00:00Z", NOW) == "3 d ago"
    assert relative(None, NOW) == "-"


def test_tables_align_columns_and_amounts_right() -> None:
    out = io.StringIO()
    table(["ID", "LEFT"], [["a", "$5.00"], ["bbb", "$150.00"]], out)
    assert out.getvalue().splitlines() == ["ID      LEFT", "a      $5.00", "bbb  $150.00"]


def test_amounts_leave_the_cli_digit_for_digit() -> None:
    assert encode_json({"amount": Decimal("0.10"), "n": [1, None]}) == '{"amount":0.10,"n":[1,null]}'


@given(text=st.text(max_size=6) | st.sampled_from(["\u0663", "\u00b9", "1\u0663", "\uff13", "0", "-1", "12"]))
def test_a_count_flag_takes_ascii_digits_only(text: str) -> None:
    if text.isascii() and text.isdigit() and int(text) >= 1:
        assert count(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            count(text)


@given(
    text=st.text(max_size=8)
    | st.sampled_from(["\u0661\u0662", "\uff11\uff12", "1_000", " 12", "12\n", "+5", "NaN", "-Infinity", "0x10", "1e5"])
)
def test_an_amount_flag_takes_a_number_in_ascii_digits_only(text: str) -> None:
    """Decimal() reads Arabic-Indic or fullwidth digits, `1_000` and padded text as numbers; money must not."""
    if text.isascii() and re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        assert amount(text) == Decimal(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="is not an amount in dollars"):
            amount(text)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2))
def test_every_amount_written_as_python_writes_it_is_read_exactly(value: Decimal) -> None:
    assert amount(str(value)) == value


_HOSTILE_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["\x1b", "\n", "\r", "\x07", "\x9b", "\u202e", "\u2066", "\u2028", "\u200b", "\ufeff"]),
    ),
    min_size=1,
    max_size=20,
)


def _one_printable_line_each(printed: str, lines: int) -> None:
    assert printed.endswith("\n")
    shown_lines = printed[:-1].split("\n")
    assert len(shown_lines) == lines
    for line in shown_lines:
        assert line.isprintable(), repr(line)


@given(st.lists(st.tuples(_HOSTILE_TEXT, _HOSTILE_TEXT), min_size=1, max_size=4))
def test_no_value_can_break_a_row_or_drive_the_terminal(rows: list[tuple[str, str]]) -> None:
    """Agent ids, wallets, merchants and descriptions are any non-blank text: an ESC, a newline or
    a bidirectional override in one is printed as its escape, and printable text as it is."""
    out = io.StringIO()
    table(["AGENT", "MERCHANT"], [list(row) for row in rows], out)
    _one_printable_line_each(out.getvalue(), len(rows) + 1)
    out = io.StringIO()
    fields([(f"name{number}", value) for number, (value, _) in enumerate(rows)], out)
    _one_printable_line_each(out.getvalue(), len(rows))
    for value, _ in rows:
        assert shown(value).isprintable()
        if value.isprintable():
            assert shown(value) == value


def test_an_unprintable_character_is_shown_as_its_escape() -> None:
    assert shown("agent\x1b[31m\u202eevil\nline") == "agent\\x1b[31m\\u202eevil\\nline"
    assert shown(Decimal("1.50")) == "1.50"


@given(field_name=_HOSTILE_TEXT, message=_HOSTILE_TEXT)
def test_an_error_naming_a_hostile_field_prints_one_line_per_field(field_name: str, message: str) -> None:
    """A 422 names the unknown fields a request sent, so a field's name is whatever was sent."""
    error = ApiError(422, "VALIDATION_ERROR", message, {"fields": {field_name: "Extra inputs are not permitted"}})
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        show_error(error, as_json=False)
    _one_printable_line_each(printed.getvalue(), 2)
