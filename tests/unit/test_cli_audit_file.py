"""`agent-sessions agent sessions audit verify --file F` on any file: a verdict, or one INVALID_INPUT line.

The file is whatever the user points at: an export edited by hand, another tool's JSON Lines, a
binary, JSON nested past what Python parses. None of it may end in a traceback, nor in the error
that blames the API URL (the file never came from the API).
"""

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions_cli.audit_commands import verify_audit
from agent_sessions_cli.client import ApiError

_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.decimals(allow_nan=False)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_KEYS = st.sampled_from(["kind", "parameters", "parameters_hash", "seq", "prev", "hash", "windows", "amount", "limits"])
_LIKE_ENTRIES = st.dictionaries(_KEYS, _VALUES | st.sampled_from(["attestation", "anchor", "payment", "consented"]))
_LINES = st.lists(_LIKE_ENTRIES | _VALUES, min_size=1, max_size=5).map(
    lambda values: "\n".join(json.dumps(value, default=str) for value in values).encode()
)
_RAW = st.one_of(
    _LINES,
    st.binary(max_size=40),
    st.integers(1_000, 60_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from([b'{"a": NaN}', b"Infinity", b'{"amount": 1e999999999}', b'{"kind": "attestation"}\n-Infinity']),
)


def _verified(export: Path) -> Any:
    """The command's answer for `export`, or the ApiError it raised."""
    try:
        return verify_audit(argparse.Namespace(file=str(export)), None)  # type: ignore[arg-type]
    except ApiError as error:
        return error


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_RAW)
def test_any_file_gets_a_verdict_or_one_invalid_input_error(raw: bytes, tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    export.write_bytes(raw)
    outcome = _verified(export)
    if isinstance(outcome, ApiError):
        assert outcome.code == "INVALID_INPUT", outcome
        assert str(export) in outcome.message
    else:
        assert outcome["ok"] in (True, False)
        assert isinstance(outcome["problems"], list)


def test_a_file_that_is_not_there_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="cannot read"):
        verify_audit(argparse.Namespace(file=str(tmp_path / "missing.jsonl")), None)  # type: ignore[arg-type]
