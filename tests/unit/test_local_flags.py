"""The local runtime's flags: a port is 0 to 65535 (`--port 99999` served on 34463), seconds are positive."""

import argparse
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions_cli.main import build_parser
from agent_sessions_local.commands import port_number, seconds


@given(port=st.integers(min_value=0, max_value=65535))
def test_every_port_reads_as_itself(port: int) -> None:
    assert port_number(str(port)) == port


@given(text=st.text(max_size=8) | st.integers().map(str) | st.sampled_from(["\u0663", "99999", "-5", "3000.0"]))
def test_anything_else_is_a_usage_error(text: str) -> None:
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and int(stripped) <= 65535:
        assert port_number(text) == int(stripped)
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            port_number(text)


@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6))
def test_seconds_are_positive_and_finite(value: float | str) -> None:
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if 0 < number < 10**6:
        assert seconds(text) == number
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            seconds(text)


def test_a_bad_port_stops_the_command_at_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["local", "--port", "99999"])
    assert stopped.value.code == 2
    assert "is not a port (0 to 65535)" in capsys.readouterr().err
