"""If-Match on PATCH: the session's version in ASCII digits, or a contract error; never anything else."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.errors import PreconditionFailed, PreconditionRequired
from agent_sessions.logic.session_updates import parse_if_match

# Characters str.isdigit() calls digits that are not 0-9: superscripts, other scripts, full width.
UNICODE_DIGITS = st.sampled_from(["\u00b9", "\u00b2", "\u0663", "\u06f5", "\u0967", "\uff13", "\U0001d7d9"])


@given(version=st.integers(min_value=0, max_value=10**12 - 1), form=st.sampled_from(["{}", '"{}"', 'W/"{}"', " {} "]))
def test_a_version_in_any_of_its_forms_reads_as_itself(version: int, form: str) -> None:
    assert parse_if_match(form.format(version)) == version


@given(header=st.text(max_size=20) | st.builds("".join, st.lists(st.sampled_from("0123456789") | UNICODE_DIGITS)))
def test_any_header_is_a_version_or_a_precondition_error(header: str) -> None:
    try:
        version = parse_if_match(header)
    except (PreconditionFailed, PreconditionRequired):
        return
    assert str(version) == header.strip().removeprefix("W/").strip('"').lstrip("0") or version == 0


@given(before=st.text("0123456789", max_size=3), digit=UNICODE_DIGITS, after=st.text("0123456789", max_size=3))
def test_a_digit_other_than_0_to_9_is_a_412(before: str, digit: str, after: str) -> None:
    with pytest.raises(PreconditionFailed):
        parse_if_match(before + digit + after)
