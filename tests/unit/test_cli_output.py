import argparse
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions_cli.client import encode_json
from agent_sessions_cli.limit_commands import count
from agent_sessions_cli.output import dollars, relative, table

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
