"""A payment's answer built straight from its records is the PaymentOut model's, for any payment.

payment_body skips the pydantic model (it answers every payment) and remaining_cents
skips building the windows when no hold can have lapsed; both must agree with the full path they
shortcut: any status, decision, hold, window, revocation and metadata, drawn.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.records import DEFAULT_LIMITS_CENTS, Hold, PaymentRecord, SessionRecord
from agent_sessions.wire.answers import PaymentOut
from agent_sessions.wire.views import payment_body, payment_out, remaining_cents

CREATED = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
_CENTS = st.integers(min_value=0, max_value=10**11)
_MOMENTS = st.integers(min_value=-3600, max_value=40 * 24 * 3600).map(
    lambda seconds: CREATED + timedelta(seconds=seconds)
)
_KEYS = st.sampled_from(["d0", "d1", "d2", "d30", "w0", "w1", "w4", "m0", "m1", "n3", "x9"])
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def _sessions(draw: st.DrawFn) -> SessionRecord:
    limits = {name: draw(st.integers(min_value=1, max_value=10**11)) for name in DEFAULT_LIMITS_CENTS}
    holds = draw(
        st.dictionaries(
            st.sampled_from(["pay_a", "pay_b", "pay_c"]),
            st.builds(Hold, amount_cents=st.integers(min_value=1, max_value=10**9), taken_at=_MOMENTS),
            max_size=3,
        )
    )
    revoked_at = draw(st.none() | _MOMENTS)
    return SessionRecord(
        id="sess_aaaaaaaaaaaaaaaaaaaaaaaa",
        account_id="acct_x",
        agent_id="bot",
        agent_name=None,
        user_wallet="w",
        limits_cents=limits,
        allowed_merchants=None,
        stored_status="revoked" if revoked_at else "active",
        created_at=CREATED,
        expires_at=CREATED + timedelta(hours=draw(st.integers(min_value=1, max_value=168))),
        token_hash="0" * 64,
        revoked_at=revoked_at,
        committed_cents=draw(st.dictionaries(_KEYS, _CENTS, max_size=6)),
        held_cents=draw(st.dictionaries(_KEYS, _CENTS, max_size=6)),
        holds=holds,
    )


@st.composite
def _payments(draw: st.DrawFn) -> PaymentRecord:
    # Every status a payment is shown with (a declined attempt is never shown: it is a 404).
    status = draw(st.sampled_from(["authorized", "pending_approval", "rejected", "expired"]))
    created_at = draw(_MOMENTS)
    return PaymentRecord(
        id="pay_aaaaaaaaaaaaaaaaaaaaaaaa",
        session_id="sess_aaaaaaaaaaaaaaaaaaaaaaaa",
        account_id="acct_x",
        amount_cents=draw(st.integers(min_value=1, max_value=10**11)),
        currency="USD",
        merchant_id=draw(st.none() | st.text(max_size=10)),
        description=draw(st.none() | st.text(max_size=10)),
        metadata=draw(st.dictionaries(st.text(max_size=5), _JSON, max_size=4)),
        stored_status=status,
        created_at=created_at,
        request_fingerprint="f" * 64,
        approval_expires_at=draw(st.none() | st.just(created_at + timedelta(hours=1))),
        decided_at=draw(st.none() | _MOMENTS),
    )


@given(_sessions(), _MOMENTS)
def test_remaining_cents_is_what_the_windows_leave(session: SessionRecord, now: datetime) -> None:
    assert remaining_cents(session, now) == {kind: w.remaining_cents for kind, w in session.windows(now).items()}


@given(_payments(), _sessions(), _MOMENTS, st.booleans())
def test_payment_body_is_the_payment_models_dump(
    payment: PaymentRecord, session: SessionRecord, now: datetime, as_created: bool
) -> None:
    body = payment_body(payment, session, now, as_created)
    assert body == payment_out(payment, session, now, as_created).model_dump()
    assert list(body) == list(PaymentOut.model_fields)
    assert all(type(body[name]) is Decimal for name in ("amount", "remaining_today", "remaining_this_month"))
    if payment.metadata:
        assert body["metadata"] is not payment.metadata  # the answer never aliases the record
