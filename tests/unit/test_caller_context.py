"""The caller an event's authorizer context describes, read once per context and never stale.

resolve_json and then the route both ask who is calling; the second ask of the same, unchanged
context is answered from the first. A context changed in place (a test, a wrapper reusing an
event) must be read again.
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
