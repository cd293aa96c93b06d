"""Changes written blind: what they change, when they apply, and the parameters put back from what they kept."""

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.records import LIMIT_NAMES, SessionRecord
from agent_sessions.domain.term_changes import (
    KEPT_EXPIRY,
    KEPT_LIMITS,
    KEPT_RATES,
    NamedTermChanges,
    kept_at_creation,
    parameters_at_creation,
)
from agent_sessions.domain.windows import VELOCITY_NAMES
from tests.unit.test_records import CREATED, make_session

cents = st.integers(min_value=1, max_value=10**9)
rates = st.dictionaries(st.sampled_from(VELOCITY_NAMES), st.integers(min_value=1, max_value=1000))
limits = st.dictionaries(st.sampled_from(LIMIT_NAMES), cents)
expiries = st.one_of(
    st.none(), st.integers(min_value=1, max_value=168).map(lambda hours: CREATED + timedelta(hours=hours))
)
changes = st.builds(
    lambda named_limits, velocity, expires_at: NamedTermChanges(
        named_limits, velocity, expires_at, expires_at - timedelta(hours=168) if expires_at else None
    ),
    limits,
    rates,
    expiries,
)


def _kept_by(change: NamedTermChanges, before: SessionRecord, kept: dict[str, Any]) -> None:
    """What the table's write keeps: each term it changes, as it was, unless kept before (if_not_exists)."""
    for name in change.limits_cents:
        kept.setdefault(KEPT_LIMITS[name], before.limits_cents[name])
    for rate in change.velocity:
        kept.setdefault(KEPT_RATES[rate], before.velocity.get(rate))
    if change.expires_at is not None:
        kept.setdefault(KEPT_EXPIRY, before.current_parameters()["expires_at"])


@given(initial_limits=limits, initial_rates=rates, steps=st.lists(changes, max_size=6))
def test_what_changes_keep_puts_back_the_parameters_the_session_was_created_with(
    initial_limits: dict[str, int], initial_rates: dict[str, int], steps: list[NamedTermChanges]
) -> None:
    session = make_session().with_changes(
        limits_cents={**make_session().limits_cents, **initial_limits}, velocity=initial_rates
    )
    created = session.current_parameters()
    kept: dict[str, Any] = {}
    for change in steps:
        if not change.applies_to(session):
            continue
        _kept_by(change, session, kept)
        session = change.applied_to(session)
        assert session.attestation_parameters() == created  # what the record keeps (MemoryStore)
        assert parameters_at_creation(session.current_parameters(), kept) == created  # what the item keeps
    assert list(parameters_at_creation(session.current_parameters(), kept)) == list(created)  # in their order


merchant_lists = st.one_of(st.none(), st.lists(st.sampled_from(["m1", "m2", "m3"]), max_size=3, unique=True))
signatures = st.one_of(st.none(), st.text(alphabet="0123456789abcdef", min_size=4, max_size=8))
computed_changes = st.fixed_dictionaries(  # what a change computed from the session read may set
    {},
    optional={
        "limits": limits,
        "velocity": rates,
        "allowed_merchants": merchant_lists,
        "expires_at": expiries.filter(lambda moment: moment is not None),
        "consent_signature": signatures,
    },
)


def _computed(session: SessionRecord, change: dict[str, Any]) -> SessionRecord:
    """The session after a change computed from it, as logic.session_updates makes one."""
    return session.with_changes(
        limits_cents={**session.limits_cents, **change.get("limits", {})},
        velocity={**session.velocity, **change.get("velocity", {})},
        allowed_merchants=change.get("allowed_merchants", session.allowed_merchants),
        expires_at=change.get("expires_at", session.expires_at),
        consent_signature=change.get("consent_signature", session.consent_signature),
        attested_parameters=session.attestation_parameters(),
    )


@given(
    merchants=merchant_lists,
    consent=signatures,
    steps=st.lists(st.one_of(changes, computed_changes), max_size=6),
)
def test_blind_and_computed_changes_together_keep_the_parameters_of_creation(
    merchants: list[str] | None, consent: str | None, steps: list[Any]
) -> None:
    """The item keeps only `was_*` values (if_not_exists: the first write of each wins); the
    parameters they put back are the creation's, whichever kind of change came first."""
    session = make_session(allowed_merchants=merchants, consent_signature=consent)
    created = session.attestation_parameters()
    kept: dict[str, Any] = {}
    for step in steps:
        if isinstance(step, NamedTermChanges):
            if not step.applies_to(session):
                continue
            _kept_by(step, session, kept)
            session = step.applied_to(session)
        else:
            session = _computed(session, step)
            for stored, value in kept_at_creation(session).items():
                kept.setdefault(stored, value)
        item_view = session.with_changes(attested_parameters=None)  # what the item holds besides was_*
        assert parameters_at_creation(item_view.attested_with_consent(), kept) == created


@given(change=changes)
def test_a_change_applies_only_if_it_changes_something_within_the_longest_lifetime(change: NamedTermChanges) -> None:
    session = make_session()
    differs = (
        any(session.limits_cents[name] != value for name, value in change.limits_cents.items())
        or any(session.velocity.get(rate) != count for rate, count in change.velocity.items())
        or (change.expires_at is not None and change.expires_at != session.expires_at)
    )
    assert change.applies_to(session) == differs
    if change.earliest_creation is not None:  # an expiry more than the longest lifetime after creation
        too_old = session.with_changes(created_at=change.earliest_creation - timedelta(seconds=1))
        assert not change.applies_to(too_old)
    changed = change.applied_to(session)
    assert (changed.terms_rev, changed.version) == (session.terms_rev + 1, session.version + 1)
    assert changed.limits_cents == {**session.limits_cents, **change.limits_cents}
    assert changed.velocity == {**session.velocity, **change.velocity}
    assert changed.expires_at == (change.expires_at or session.expires_at)
