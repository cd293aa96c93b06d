"""One behavioural suite for the store Protocols, run against MemoryStore and DynamoStore (moto).

Each test says what a port promises; both implementations must keep it, so the in-memory store
the fast operation tests use can never drift from what DynamoDB's conditions do.
"""

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions.dal.dynamo import DynamoStore
from agent_sessions.dal.memory import MemoryStore
from agent_sessions.dal.ports import (
    DUE_SHARDS,
    MeteredRequest,
    PaymentAlreadyExists,
    PaymentCommitted,
    SessionFilter,
    SessionRefused,
)
from agent_sessions.domain.agent_keys import AgentKeyRecord
from agent_sessions.domain.errors import ValidationFailed
from agent_sessions.domain.intents import IntentRecord
from agent_sessions.domain.payment_rules import approval_deadline, payment_checks, window_checks
from agent_sessions.domain.records import MAX_PENDING_APPROVALS, PaymentRecord, SessionRecord, utc_now
from agent_sessions.domain.webhook_records import WebhookRecord
from tests.conftest import moto_table
from tests.unit.test_records import CREATED, make_payment, make_session

NOW = CREATED + timedelta(hours=1)
Store = MemoryStore | DynamoStore


def _dynamo() -> Iterator[DynamoStore]:
    from agent_sessions.dal import dynamo

    for _client in moto_table():
        yield dynamo.default_store()


@pytest.fixture(params=["memory", "moto"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    else:
        yield from _dynamo()


ROOMY = {**make_session().limits_cents, "max_per_day": 5_000_00}


def session(n: int = 0, **changes: Any) -> SessionRecord:
    """A session with $5,000 a day, approval above $500 (changes override)."""
    return make_session(id=f"sess_{'a' * 23}{'abcdefghijklmnopqrstuvwxyz234567'[n]}", limits_cents=ROOMY).with_changes(
        **changes
    )


def pay(the_session: SessionRecord, cents: int, n: int = 0, approval: bool = False, **changes: Any) -> PaymentRecord:
    payment = make_payment(
        id="pay_" + base32_id(n),
        session_id=the_session.id,
        account_id=the_session.account_id,
        amount_cents=cents,
        created_at=NOW,
        approval_expires_at=approval_deadline(the_session.terms, NOW) if approval else None,
        stored_status="pending_approval" if approval else "authorized",
    )
    checks = window_checks(the_session.terms, cents, NOW)
    return payment.with_changes(**{"window_keys": tuple(check.counter_key for check in checks), **changes})


def base32_id(n: int) -> str:
    """24 characters of the ids' alphabet, distinct for each n."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    digits = ""
    for _ in range(24):
        n, digit = divmod(n, 32)
        digits = alphabet[digit] + digits
    return digits


def commit(store: Store, the_session: SessionRecord, payment: PaymentRecord, version: int | None = None) -> Any:
    return store.commit_payment(payment, payment_checks(the_session.terms, payment.amount_cents, NOW), NOW, version)


# ---- API keys and sessions ------------------------------------------------------------------------


def test_an_api_key_is_found_by_its_hash_and_never_overwritten(store: Store) -> None:
    store.put_api_key("h" * 64, "acct_1", "label", NOW)
    assert store.find_account_for_api_key("h" * 64) == "acct_1"
    assert store.find_account_for_api_key("x" * 64) is None
    with pytest.raises(Exception):  # noqa: B017, PT011 - each backend raises its own "exists"
        store.put_api_key("h" * 64, "acct_2", "label", NOW)
    assert store.find_account_for_api_key("h" * 64) == "acct_1"


def test_a_session_reads_back_as_written_and_is_never_overwritten(store: Store) -> None:
    written = session(metadata={"k": "v"}, allowed_merchants=["m1"], request_fingerprint="f" * 64)
    assert store.insert_session(written) is None
    assert store.get_session(written.id) == written
    assert store.get_session(session(1).id) is None
    assert store.insert_session(written.with_changes(agent_id="other")) == written  # the one already there
    read = store.get_session(written.id)
    assert read is not None
    assert read.agent_id == written.agent_id


def test_listing_pages_newest_first_through_every_session_once_with_filters(store: Store) -> None:
    for n in range(7):
        store.insert_session(session(n, agent_id=f"bot{n % 2}", account_id="acct_x"))
    store.insert_session(session(9, account_id="acct_other"))
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_sessions("acct_x", 3, cursor, SessionFilter(), NOW)
        seen += [s.id for s in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [session(n).id for n in reversed(range(7))]
    only_bot1 = store.list_sessions("acct_x", 10, None, SessionFilter(agent_id="bot1"), NOW)
    assert [s.id for s in only_bot1.items] == [session(n).id for n in (5, 3, 1)]
    # A filtered page is filled (DynamoDB filters after reading: the store reads on).
    first = store.list_sessions("acct_x", 2, None, SessionFilter(agent_id="bot1"), NOW)
    assert [s.id for s in first.items] == [session(n).id for n in (5, 3)]
    rest = store.list_sessions("acct_x", 2, first.next_cursor, SessionFilter(agent_id="bot1"), NOW)
    assert [s.id for s in rest.items] == [session(1).id]
    assert rest.next_cursor is None
    with pytest.raises(ValidationFailed):
        store.list_sessions("acct_x", 3, "not-a-cursor!", SessionFilter(), NOW)


def test_active_only_leaves_out_ended_sessions(store: Store) -> None:
    store.insert_session(session(0))
    store.insert_session(session(1, expires_at=NOW - timedelta(seconds=1)))
    store.insert_session(session(2))
    store.revoke_session(session(2).id, "acct_x", NOW)
    page = store.list_sessions("acct_x", 10, None, SessionFilter(active_only=True), NOW)
    assert [s.id for s in page.items] == [session(0).id]


def test_revoke_is_once_for_the_owner_only(store: Store) -> None:
    store.insert_session(session(0))
    assert store.revoke_session(session(0).id, "acct_other", NOW) is None
    assert store.revoke_session(session(5).id, "acct_x", NOW) is None
    revoked = store.revoke_session(session(0).id, "acct_x", NOW)
    assert revoked is not None
    assert (revoked.stored_status, revoked.revoked_at, revoked.version) == ("revoked", NOW, 1)
    again = store.revoke_session(session(0).id, "acct_x", NOW + timedelta(minutes=1))
    assert again is not None
    assert (again.revoked_at, again.version) == (NOW, 1)


# ---- payments --------------------------------------------------------------------------------------


def test_a_commit_debits_every_window_and_bumps_the_version(store: Store) -> None:
    the_session = session()
    store.insert_session(the_session)
    payment = pay(the_session, 29_99)
    assert isinstance(commit(store, the_session, payment), PaymentCommitted)
    after = store.get_session(the_session.id)
    assert after is not None
    assert after.committed_cents == {"d0": 29_99, "w0": 29_99, "m0": 29_99}
    assert after.version == 1
    assert store.get_payment(payment.id) == payment


def test_a_commit_refused_by_any_rule_writes_nothing_and_shows_the_session(store: Store) -> None:
    the_session = session(
        allowed_merchants=["m1"],
        limits_cents={**ROOMY, "max_per_day": 200_00},
        committed_cents={"d0": 190_00, "w0": 190_00, "m0": 190_00},
    )
    store.insert_session(the_session)
    refusals = [
        pay(the_session, 10_01, 1, merchant_id="m1"),  # over the day's room
        pay(the_session, 1_00, 2, merchant_id="m2"),  # merchant not allowed
        pay(the_session, 1_00, 3, merchant_id=None),  # no merchant, allow-list
        pay(the_session, 1_000_01, 4, merchant_id="m1"),  # over max_per_transaction
    ]
    for payment in refusals:
        outcome = commit(store, the_session, payment)
        assert isinstance(outcome, SessionRefused)
        assert outcome.session == the_session
        assert store.get_payment(payment.id) is None
    assert isinstance(commit(store, the_session, pay(the_session, 10_00, 5, merchant_id="m1")), PaymentCommitted)


def test_a_commit_on_an_ended_missing_or_other_version_session_is_refused(store: Store) -> None:
    store.insert_session(session(0, stored_status="revoked", revoked_at=NOW))
    store.insert_session(session(1, expires_at=NOW))
    store.insert_session(session(2))
    for n in (0, 1):
        assert isinstance(commit(store, session(n), pay(session(n), 1_00, n)), SessionRefused)
    assert commit(store, session(3), pay(session(3), 1_00, 3)) == SessionRefused(None)
    assert isinstance(commit(store, session(2), pay(session(2), 1_00, 4), version=7), SessionRefused)
    assert isinstance(commit(store, session(2), pay(session(2), 1_00, 5), version=0), PaymentCommitted)


def test_a_replayed_payment_id_finds_the_first_payment_and_debits_nothing(store: Store) -> None:
    the_session = session()
    store.insert_session(the_session)
    first = pay(the_session, 5_00)
    commit(store, the_session, first)
    assert commit(store, the_session, pay(the_session, 7_00)) == PaymentAlreadyExists(first)
    after = store.get_session(the_session.id)
    assert after is not None
    assert after.committed_cents["d0"] == 5_00


def test_a_declined_attempt_is_kept_once_and_never_listed(store: Store) -> None:
    the_session = session()
    store.insert_session(the_session)
    declined = pay(the_session, 1_00, stored_status="declined", window_keys=())
    assert store.insert_declined_payment(declined) is None
    assert store.insert_declined_payment(declined.with_changes(amount_cents=2_00)) == declined
    assert store.list_payments(the_session.id, 10, None).items == []


def test_payments_list_newest_first_in_pages(store: Store) -> None:
    the_session = session()
    store.insert_session(the_session)
    for n in range(5):
        commit(store, the_session, pay(the_session, 1_00, n))
    first = store.list_payments(the_session.id, 3, None)
    assert first.next_cursor is not None
    rest = store.list_payments(the_session.id, 3, first.next_cursor)
    assert [p.id for p in first.items + rest.items] == [pay(the_session, 1, n).id for n in reversed(range(5))]


def test_a_hold_is_decided_once(store: Store) -> None:
    the_session = session()
    store.insert_session(the_session)
    approved, rejected = pay(the_session, 600_00, 1, approval=True), pay(the_session, 700_00, 2, approval=True)
    commit(store, the_session, approved)
    commit(store, the_session, rejected)
    held = store.get_session(the_session.id)
    assert held is not None
    assert (held.committed_cents["d0"], held.held_cents["d0"], set(held.holds)) == (
        1300_00,
        1300_00,
        {approved.id, rejected.id},
    )
    assert store.decide_payment(approved, "authorized", NOW)
    assert store.decide_payment(rejected, "rejected", NOW)
    assert not store.decide_payment(approved, "rejected", NOW)
    after = store.get_session(the_session.id)
    assert after is not None
    assert (after.committed_cents["d0"], after.held_cents["d0"], after.holds) == (600_00, 0, {})
    decided = store.get_payment(approved.id)
    assert decided is not None
    assert (decided.stored_status, decided.decided_at) == ("authorized", NOW)


def test_a_hold_past_its_deadline_cannot_be_decided_and_lapses_once(store: Store) -> None:
    the_session = session()
    store.insert_session(the_session)
    payment = pay(the_session, 600_00, approval=True)
    commit(store, the_session, payment)
    later = NOW + timedelta(hours=1)
    assert not store.decide_payment(payment, "authorized", later)
    stored = store.get_session(the_session.id)
    assert stored is not None
    hold = stored.holds[payment.id]
    assert store.release_lapsed_hold(stored, payment.id, hold)
    assert not store.release_lapsed_hold(stored, payment.id, hold)
    after = store.get_session(the_session.id)
    lapsed = store.get_payment(payment.id)
    assert after is not None
    assert lapsed is not None
    assert (after.committed_cents["d0"], after.held_cents["d0"], after.holds) == (0, 0, {})
    assert lapsed.stored_status == "expired"


def test_no_more_than_the_maximum_of_payments_wait_for_approval(store: Store) -> None:
    the_session = session(limits_cents={**ROOMY, "require_approval_above": 0})
    store.insert_session(the_session)
    for n in range(MAX_PENDING_APPROVALS):
        assert isinstance(commit(store, the_session, pay(the_session, 1, n, approval=True)), PaymentCommitted)
    assert isinstance(commit(store, the_session, pay(the_session, 1, 99, approval=True)), SessionRefused)


# ---- the sweep -------------------------------------------------------------------------------------


def all_due(store: Store, now: Any) -> list[tuple[str, str]]:
    found = []
    for shard in range(DUE_SHARDS):
        cursor = None
        while True:
            page = store.due_items(shard, now, cursor)
            found += [(item.kind, item.id) for item in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    return sorted(found)


def test_the_due_index_lists_what_fell_due_and_the_sweep_writes_end_it_once(store: Store) -> None:
    short = session(0, expires_at=NOW + timedelta(minutes=30))
    store.insert_session(short)
    store.insert_session(session(1))
    payment = pay(session(1), 600_00, approval=True)
    commit(store, session(1), payment)
    assert all_due(store, NOW) == []
    assert all_due(store, NOW + timedelta(hours=1)) == sorted([("session", short.id), ("payment", payment.id)])
    items = [
        item for shard in range(DUE_SHARDS) for item in store.due_items(shard, NOW + timedelta(hours=1), None).items
    ]
    for item in items:
        if item.kind == "session":
            assert store.expire_session(item.id, NOW + timedelta(hours=1))
            assert not store.expire_session(item.id, NOW + timedelta(hours=1))
        else:
            assert item.amount_cents == 600_00
            assert store.lapse_due_payment(item)
            assert not store.lapse_due_payment(item)
    assert all_due(store, NOW + timedelta(hours=1)) == []
    assert not store.expire_session(session(1).id, NOW)  # not yet due


# ---- terms, velocity, warnings and resumptions -----------------------------------------------------


def test_terms_change_once_per_revision_and_keep_the_counters(store: Store) -> None:
    original = session(0)
    store.insert_session(original)
    commit(store, original, pay(original, 100_00))
    lowered = original.with_changes(
        limits_cents={**original.limits_cents, "max_per_day": 50_00},
        velocity={"per_minute": 2},
        allowed_merchants=["m"],
        expires_at=original.expires_at - timedelta(hours=1),
        attested_parameters=original.attestation_parameters(),
    )
    changed = store.change_terms(lowered, 0, NOW)
    assert changed is not None
    assert (changed.terms_rev, changed.limits_cents["max_per_day"], changed.velocity) == (1, 50_00, {"per_minute": 2})
    assert changed.committed_cents["d0"] == 100_00  # what was spent stays
    assert changed.attestation_parameters() == original.attestation_parameters()
    assert store.change_terms(lowered, 0, NOW) is None  # a stale revision
    assert store.change_terms(lowered.with_changes(account_id="acct_other"), 1, NOW) is None
    raised = {**changed.limits_cents, "max_per_day": 200_00}
    lifted = store.change_terms(changed.with_changes(allowed_merchants=None, velocity={}, limits_cents=raised), 1, NOW)
    assert lifted is not None
    assert (lifted.allowed_merchants, lifted.velocity) == (None, {})
    # A payment checked against revision 0 is refused; against revision 1 it counts.
    assert not isinstance(commit(store, original, pay(original, 1_00, n=1)), PaymentCommitted)
    assert isinstance(commit(store, lifted, pay(lifted, 1_00, n=2)), PaymentCommitted)


def test_a_count_limit_admits_exactly_its_count(store: Store) -> None:
    counted = session(0, velocity={"per_minute": 3})
    store.insert_session(counted)
    outcomes = [commit(store, counted, pay(counted, 1_00, n=n)) for n in range(5)]
    assert [isinstance(outcome, PaymentCommitted) for outcome in outcomes] == [True, True, True, False, False]
    stored = store.get_session(counted.id)
    assert stored is not None
    assert stored.payment_counts == {"n60": 3}  # minute 60 after creation: NOW is an hour in


def test_a_window_is_marked_once_and_a_resumption_task_falls_due_once(store: Store) -> None:
    store.insert_session(session(0))
    assert store.mark_window(session(0).id, "warned", "d0", NOW)
    assert not store.mark_window(session(0).id, "warned", "d0", NOW)
    assert store.mark_window(session(0).id, "resumed", "d0", NOW)
    assert not store.mark_window("sess_" + "z" * 24, "warned", "d0", NOW)
    marked = store.get_session(session(0).id)
    assert marked is not None
    assert (marked.warned, marked.resumed) == ({"d0": int(NOW.timestamp())}, {"d0": int(NOW.timestamp())})
    due_at = NOW + timedelta(hours=2)
    store.schedule_resume(session(0).id, "d0", due_at)
    store.schedule_resume(session(0).id, "d0", due_at + timedelta(hours=5))  # a redelivery changes nothing
    assert ("resume", "d0") not in all_due(store, due_at - timedelta(seconds=1))
    assert ("resume", "d0") in all_due(store, due_at)
    store.reschedule_resume(session(0).id, "d0", due_at + timedelta(hours=1))
    assert ("resume", "d0") not in all_due(store, due_at)
    store.drop_resume(session(0).id, "d0")
    assert ("resume", "d0") not in all_due(store, due_at + timedelta(hours=2))


def test_a_log_appends_in_order_once_per_source_and_keeps_the_highest_anchor(store: Store) -> None:
    from agent_sessions.domain.decision_log import chained

    first = chained({"kind": "session_created", "at": "2026-11-24T10:00:00Z"}, 1, "0xgenesis")
    assert store.log_head("sess_x") is None
    assert store.append_entry("sess_x", "v0", first, 0) == "appended"
    assert store.append_entry("sess_x", "v0", first, 0) == "duplicate"  # a redelivery
    second = chained({"kind": "revoked", "at": "2026-11-24T11:00:00Z"}, 2, first["hash"])
    assert store.append_entry("sess_x", "v1", second, 0) == "moved"  # the head moved on meanwhile
    assert store.append_entry("sess_x", "v1", second, 1) == "appended"
    assert store.log_head("sess_x") == (2, second["hash"])
    assert store.log_entries("sess_x") == [first, second]
    assert store.log_entries("sess_y") == []
    for seq in (2, 1):
        store.record_anchor("sess_x", {"kind": "anchor", "statement": {"seq": seq}, "anchor": "local", "proof": None})
    assert store.anchor_receipt("sess_x")["statement"]["seq"] == 2  # an older head never replaces a newer one
    assert store.anchor_receipt("sess_y") is None


def test_analytics_counters_count_each_source_once_per_day_and_agent(store: Store) -> None:
    from agent_sessions.dal.analytics_ports import DayTally

    assert store.add_tally("p1:authorized", "acct_a", DayTally("2026-11-24", "bot", 1, 12_50, 0, "USD")) == 1
    assert store.add_tally("p1:authorized", "acct_a", DayTally("2026-11-24", "bot", 1, 12_50, 0, "USD")) == 0
    assert store.add_tally("p2:rejected", "acct_a", DayTally("2026-11-24", "other", 0, 0, 1, "USD")) == 1
    assert store.add_live_sessions("s1:created", "acct_a", "bot", 1) == 1
    assert store.add_live_sessions("s1:created", "acct_a", "bot", 1) == 0
    days, live, agents = store.read_tallies("acct_a", None, ["2026-11-23", "2026-11-24"])
    assert [(d.succeeded, d.volume_cents, d.failed) for d in days] == [(0, 0, 0), (1, 12_50, 1)]
    assert days[1].tokens == {"USD": 12_50}
    assert (live, agents) == (1, 1)
    bot_days, bot_live, _ = store.read_tallies("acct_a", "bot", ["2026-11-24"])
    assert (bot_days[0].succeeded, bot_days[0].failed, bot_live) == (1, 0, 1)
    assert store.read_tallies("acct_b", None, ["2026-11-24"])[0][0].succeeded == 0  # another account's


def test_an_accounts_payments_list_newest_first_filtered_and_never_declined(store: Store) -> None:
    from agent_sessions.dal.ports import PaymentFilter

    store.insert_session(session(0))
    store.insert_session(session(1, account_id="acct_other"))
    mine = [pay(session(0), 10_00, n=n, agent_id="bot") for n in range(3)]
    for payment in mine:
        commit(store, session(0), payment)
    store.insert_declined_payment(pay(session(0), 1, n=9, stored_status="declined"))
    commit(store, session(1, account_id="acct_other"), pay(session(1, account_id="acct_other"), 5_00, n=7))
    listed = store.list_account_payments("acct_x", 10, None, PaymentFilter())
    assert [p.id for p in listed.items] == [p.id for p in reversed(mine)]
    first = store.list_account_payments("acct_x", 2, None, PaymentFilter())
    rest = store.list_account_payments("acct_x", 2, first.next_cursor, PaymentFilter())
    assert [p.id for p in first.items + rest.items] == [p.id for p in reversed(mine)]
    assert store.list_account_payments("acct_x", 10, None, PaymentFilter(agent_id="nobody")).items == []
    assert len(store.list_account_payments("acct_x", 10, None, PaymentFilter(status="authorized")).items) == 3
    later = int((max(NOW, utc_now()) + timedelta(days=1)).timestamp()) * 10**9  # after any write and created_at
    assert store.list_account_payments("acct_x", 10, None, PaymentFilter(after_ns=later)).items == []


# ---- webhooks --------------------------------------------------------------------------------------


def webhook(n: int, account: str = "acct_x") -> WebhookRecord:
    return WebhookRecord(
        id=f"wh_{n:024d}",
        account_id=account,
        url="https://example.com/h",
        events=None,
        sealed_secret=b"s",
        created_at=NOW,
    )


def _agent_key(n: int, account: str = "acct_a", limit: int = 2) -> AgentKeyRecord:
    return AgentKeyRecord(
        id=f"ak_{'a' * 23}{'abcdefghijklmnopqrstuvwxyz234567'[n]}",
        account_id=account,
        name=f"key {n}",
        agent_id="bot",
        agent_name=None,
        scopes=("read_only",),
        rate_limit_per_hour=limit,
        metadata={"n": n},
        key_prefix="zai_test_x",
        key_hash="h" * 64,
        created_at=NOW,
    )


def test_agent_keys_list_newest_first_revoke_for_the_owner_and_meter_per_hour(store: Store) -> None:
    first, second, foreign = _agent_key(0), _agent_key(1), _agent_key(2, account="acct_b")
    assert [store.insert_agent_key(key) for key in (first, second, foreign)] == [None, None, None]
    assert store.insert_agent_key(replace(first, name="again")) == first
    assert [key.id for key in store.list_agent_keys("acct_a")] == [second.id, first.id]
    assert store.get_agent_key(foreign.id) == foreign
    metered = [store.meter_agent_key(first.id, 10) for _ in range(3)]
    assert [(m.count, m.over) for m in metered if m] == [(1, False), (2, False), (2, True)]
    assert store.meter_agent_key(first.id, 11) == MeteredRequest(count=1, limit=2)
    assert store.meter_agent_key(first.id, 10) == MeteredRequest(count=2, limit=2)  # a clock behind: the later hour
    assert store.revoke_agent_key(first.id, "acct_b", NOW) is None
    revoked = store.revoke_agent_key(first.id, "acct_a", NOW)
    assert revoked is not None
    assert revoked.revoked_at == NOW
    assert store.revoke_agent_key(first.id, "acct_a", NOW + timedelta(hours=1)) == revoked  # again: no change
    assert store.meter_agent_key(first.id, 11) is None
    assert store.meter_agent_key("ak_" + "b" * 24, 11) is None


def test_intents_list_newest_first_a_page_at_a_time_for_their_account(store: Store) -> None:
    def intent(n: int, account: str = "acct_a") -> IntentRecord:
        return IntentRecord(
            id=f"pi_{'a' * 23}{'abcdefghijklmnopqrstuvwxyz234567'[n]}", account_id=account, amount_cents=100 + n,
            currency="USD", description=None, capture_method="automatic", agent_id=None, agent_name=None,
            metadata={}, stored_status="requires_payment", client_secret_hash="h" * 64, created_at=NOW,
            expires_at=NOW + timedelta(days=1),
        )  # fmt: skip

    made = [intent(n) for n in range(5)]
    for record in [*made, intent(9, account="acct_b")]:
        assert store.insert_intent(record) is None
    first = store.list_intents("acct_a", None, 2, None)
    assert [i.id for i in first.items] == [made[4].id, made[3].id]
    assert first.next_cursor is not None
    rest = store.list_intents("acct_a", None, 10, first.next_cursor)
    assert [i.id for i in rest.items] == [made[2].id, made[1].id, made[0].id]
    assert store.cancel_unconfirmed_intent(made[0].id, "acct_b", NOW) is False
    assert store.cancel_unconfirmed_intent(made[0].id, "acct_a", NOW) is True
    assert [i.id for i in store.list_intents("acct_a", "canceled", 10, None).items] == [made[0].id]


def test_webhooks_list_newest_first_delete_for_the_owner_and_remember_deliveries(store: Store) -> None:
    for n in range(3):
        store.insert_webhook(webhook(n))
    store.insert_webhook(webhook(9, "acct_other"))
    assert [w.id for w in store.list_webhooks("acct_x")] == [webhook(n).id for n in (2, 1, 0)]
    assert not store.delete_webhook(webhook(0).id, "acct_other", NOW)
    assert store.delete_webhook(webhook(0).id, "acct_x", NOW)
    assert not store.delete_webhook(webhook(0).id, "acct_x", NOW)
    # A deleted endpoint is unlisted, but an insert under its id finds it (an Idempotency-Key replay).
    assert [w.id for w in store.list_webhooks("acct_x")] == [webhook(n).id for n in (2, 1)]
    assert store.insert_webhook(webhook(0)) == replace(webhook(0), deleted_at=NOW)
    store.disable_webhook(webhook(1).id, NOW)
    store.disable_webhook(webhook(1).id, NOW + timedelta(hours=1))
    assert [w.disabled_at for w in store.list_webhooks("acct_x")] == [None, NOW]
    assert not store.was_delivered("evt_1", webhook(1).id)
    store.record_delivery("evt_1", webhook(1).id, NOW)
    assert store.was_delivered("evt_1", webhook(1).id)
    assert not store.was_delivered("evt_1", webhook(2).id)


# ---- the two never drift: one drawn story, both stores ---------------------------------------------

step = st.tuples(st.integers(min_value=1, max_value=300_00), st.booleans(), st.sampled_from(["commit", "decide"]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_the_same_story_ends_the_same_in_memory_and_in_dynamodb(steps: list[tuple[int, bool, str]]) -> None:
    def tell(store: Store) -> tuple[list[str], SessionRecord | None]:
        the_session = session(limits_cents={**ROOMY, "require_approval_above": 100_00})
        store.insert_session(the_session)
        outcomes = []
        for n, (cents, flag, action) in enumerate(steps):
            payment = pay(the_session, cents, n, approval=cents > 100_00)
            if action == "decide" and n:
                earlier = store.get_payment(pay(the_session, 1, n - 1).id)
                decision = "authorized" if flag else "rejected"
                outcomes.append(str(earlier is not None and store.decide_payment(earlier, decision, NOW)))
            else:
                outcomes.append(type(commit(store, the_session, payment)).__name__)
        return outcomes, store.get_session(the_session.id)

    in_memory = tell(MemoryStore())
    in_dynamodb = next(tell(store) for store in _dynamo())
    assert in_memory == in_dynamodb
