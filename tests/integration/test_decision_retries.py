"""A retried approve or reject is answered as its first request was, and decides nothing more.

The ZendFi SDK sends an Idempotency-Key on every POST and retries one whose answer was lost (a
network error, a gateway's 5xx) with the same key. Without this, the retry of an approve that
succeeded got 409 INVALID_STATE, and the SDK's caller was told the approve had failed.
"""

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Invoke
from tests.integration.test_payment_handlers import decide, get_session, open_session, pay

_KEYS = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=255)
_CENTS = st.integers(1, 499).map(lambda cents: Decimal(cents) / 100)
_HELD = st.integers(5001, 9999).map(lambda cents: Decimal(cents) / 100)
_OTHER = {"approve": "reject", "reject": "approve"}


def without_remaining(payment: dict[str, Any]) -> dict[str, Any]:
    """A payment's answer without its remaining amounts (the session's now, which a retry answers anew)."""
    return {name: value for name, value in payment.items() if not name.startswith("remaining_")}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    verb=st.sampled_from(["approve", "reject"]),
    key=_KEYS,
    held=_HELD,
    between=st.lists(_CENTS, max_size=3),
    retries=st.integers(1, 3),
)
def test_a_retried_decision_is_answered_again_and_decides_nothing_more(
    invoke: Invoke, verb: str, key: str, held: Decimal, between: list[Decimal], retries: int
) -> None:
    session = open_session(invoke, limits={"max_per_day": 1000, "require_approval_above": 50})
    pending = pay(invoke, session, float(held))  # a JSON number, as a client sends it
    assert pending["statusCode"] == 202, pending["body"]
    payment_id = pending["json"]["id"]

    first = decide(invoke, verb, payment_id, idempotency_key=key)
    assert first["statusCode"] == 200, first["body"]
    for amount in between:  # the session moves on between the first request and its retries
        assert pay(invoke, session, float(amount))["statusCode"] == 201
    spent = (held if verb == "approve" else Decimal(0)) + sum(between, Decimal(0))
    for _ in range(retries):
        again = decide(invoke, verb, payment_id, idempotency_key=key)
        assert again["statusCode"] == 200, again["body"]
        assert without_remaining(again["json"]) == without_remaining(first["json"])
        assert Decimal(str(again["json"]["remaining_today"])) == 1000 - spent  # the remaining amounts now

    reused = decide(
        invoke, _OTHER[verb], payment_id, idempotency_key=key
    )  # the key of one decision, sent with the other
    assert (reused["statusCode"], reused["json"]["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    another_key = key[:-1] if len(key) > 1 else key + "x"
    for other_key in (None, another_key):
        for other_verb in ("approve", "reject"):
            refused = decide(invoke, other_verb, payment_id, idempotency_key=other_key)
            assert (refused["statusCode"], refused["json"]["error"]["code"]) == (409, "INVALID_STATE")
            assert refused["json"]["error"]["details"]["status"] == first["json"]["status"]

    day = get_session(invoke, session["id"])["windows"]["day"]
    assert Decimal(str(day["spent"])) == spent  # decided once: the hold spent or released once
    assert Decimal(str(day["held"])) == 0


def test_a_key_that_did_not_decide_the_payment_is_refused_as_before(invoke: Invoke) -> None:
    """A request that lost the race (409) and retried with its key is refused again, not answered 200."""
    session = open_session(invoke, limits={"max_per_day": 1000, "require_approval_above": 50})
    payment_id = pay(invoke, session, 75.25)["json"]["id"]
    assert decide(invoke, "reject", payment_id, idempotency_key="the-winner")["statusCode"] == 200
    for _ in range(2):
        lost = decide(invoke, "approve", payment_id, idempotency_key="the-loser")
        assert (lost["statusCode"], lost["json"]["error"]["details"]["status"]) == (409, "rejected")
    assert get_session(invoke, session["id"])["windows"]["day"]["spent"] == 0  # rejected: nothing spent
