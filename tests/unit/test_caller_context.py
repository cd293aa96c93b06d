"""The caller an event's authorizer context describes, read once per context and never stale.

resolve_json and then the route both ask who is calling, and a warm instance's next request
usually carries an equal context; an ask of a context equal to the last one read is answered from
it. A context changed in place (a test, a wrapper reusing an event) or any other context must be
read again.
"""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.http.caller_context import caller_from_context
from agent_sessions.http.resolver import _caller_in

_CONTEXTS = st.one_of(
    st.fixed_dictionaries({"credential": st.just("api_key"), "account_id": st.sampled_from(["acct_a", "acct_b"])}),
    st.fixed_dictionaries(
        {
            "credential": st.just("session_token"),
            "account_id": st.sampled_from(["acct_a", "acct_b"]),
            "session_id": st.sampled_from(["sess_one", "sess_two"]),
        }
    ),
    st.fixed_dictionaries(  # with the terms an authorizer passes, differing in one limit or the revision
        {
            "credential": st.just("session_token"),
            "account_id": st.just("acct_a"),
            "session_id": st.just("sess_one"),
            "created_at": st.just("2026-11-24T10:00:00Z"),
            "expires_at": st.just("2026-11-25T10:00:00Z"),
            "terms_rev": st.sampled_from(["0", "1"]),
            "agent_id": st.just("agent"),
            "limit_max_per_transaction": st.sampled_from(["5000", "5001"]),
            "limit_max_per_day": st.just("20000"),
            "limit_max_per_week": st.just("100000"),
            "limit_max_per_month": st.just("300000"),
            "limit_require_approval_above": st.just("2500"),
        }
    ),
    st.just({}),
)


def _event(context: dict[str, Any]) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"lambda": context}}}


@given(st.lists(st.tuples(_CONTEXTS, st.booleans()), min_size=1, max_size=8))
def test_the_caller_is_always_the_one_the_context_describes_now(steps: list[tuple[dict[str, Any], bool]]) -> None:
    event = _event({})
    for context, in_place in steps:
        if in_place:  # the same dict, changed
            described = event["requestContext"]["authorizer"]["lambda"]
            described.clear()
            described.update(context)
        else:
            event = _event(dict(context))
        expected = caller_from_context(dict(context))
        assert _caller_in(event) == expected
        assert _caller_in(event) == expected  # asked again, as the route does


@given(_CONTEXTS)
def test_an_equal_context_in_a_new_event_is_answered_from_the_last_read(context: dict[str, Any]) -> None:
    first = _caller_in(_event(dict(context)))
    assert _caller_in(_event(dict(context))) is first
    assert first == caller_from_context(dict(context))


@given(st.sampled_from([True, 1, 1.0, "1", "True"]), st.sampled_from([True, 1, 1.0, "1", "True"]))
def test_values_that_compare_equal_across_types_are_read_apart(first: Any, second: Any) -> None:
    """API Gateway passes strings, numbers and booleans; `True == 1 == 1.0`, but each reads as other text."""
    context = {"credential": "api_key", "account_id": "acct_a", "key_id": "ak_1", "rate_limit_per_hour": "100"}
    _caller_in(_event({**context, "scopes": first}))
    expected = caller_from_context({**context, "scopes": second})
    assert _caller_in(_event({**context, "scopes": second})) == expected
