"""The decision log: built from the stream by publish_events, exported, verified, and every tampering caught."""

import copy
from typing import Any

import pytest

from agent_sessions.domain.decision_log import chained
from agent_sessions.domain.records import utc_now
from agent_sessions.logic import decision_log, payment_decisions
from agent_sessions.logic import sessions as service
from tests.integration.test_publish_events import OWNER
from tests.integration.test_window_alerts import Pipeline, open_session, pay


@pytest.fixture
def exported(invoke: Any, dynamodb: Any, session_store: Any, bus_queue: Any) -> list[dict[str, Any]]:
    """A session's whole story, pumped through the outbox twice (a redelivery), then exported."""
    pipeline = Pipeline(invoke, dynamodb, session_store, bus_queue)
    now = utc_now()
    limits = {"max_per_day": 100, "max_per_transaction": 60, "require_approval_above": 30}
    session_id, agent = open_session(session_store, now, limits=limits)
    assert pay(session_store, agent, 20_00, now)  # authorized
    assert pay(session_store, agent, 40_00, now)  # held
    assert pay(session_store, agent, 35_00, now)  # held
    assert not pay(session_store, agent, 61_00, now)  # declined: over max_per_transaction
    held = [p for p in session_store.list_payments(session_id, 10, None).items if p.stored_status == "pending_approval"]
    payment_decisions.approve_payment(session_store, OWNER, held[0].id, now)
    payment_decisions.reject_payment(session_store, OWNER, held[1].id, now)
    service.revoke_session(session_store, OWNER, session_id, now)
    pipeline.pump()
    pipeline.redeliver_everything()
    return decision_log.export(session_store, OWNER, session_id, now)


def kinds(lines: list[dict[str, Any]]) -> list[str]:
    return [line["kind"] for line in lines]


def test_every_decision_is_chained_once_and_the_log_verifies(exported: list[dict[str, Any]]) -> None:
    assert kinds(exported) == [
        "attestation",
        "session_created",
        "payment_authorized",
        "payment_held",
        "payment_held",
        "payment_declined",
        "payment_approved",
        "payment_rejected",
        "revoked",
        "anchor",
    ]
    verdict, counters = decision_log.verify_export(exported)
    assert verdict.ok, verdict.problems
    assert counters == {"d0": 55_00, "w0": 55_00, "m0": 55_00}  # 20 authorized + 35 approved (40 rejected)
    declined = next(line for line in exported if line["kind"] == "payment_declined")
    assert declined["rule"] == "max_per_transaction"


def rechained(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A forger's log: every hash recomputed after the change (and the anchor line dropped)."""
    header, entries = lines[0], [line for line in lines[1:] if line["kind"] != "anchor"]
    out, prev = [header], entries[0]["prev"]
    for seq, entry in enumerate(entries, start=1):
        fields = {name: value for name, value in entry.items() if name not in ("seq", "prev", "hash")}
        out.append(chained(fields, seq, prev))
        prev = out[-1]["hash"]
    return out


def test_the_ended_log_is_anchored_and_a_rewrite_after_the_end_no_longer_matches_it(
    exported: list[dict[str, Any]],
) -> None:
    receipt = exported[-1]
    assert receipt["anchor"] == "local"
    assert receipt["proof"] is None  # the local anchor signs nothing; see infra/anchoring.py
    assert (receipt["statement"]["seq"], receipt["statement"]["head"]) == (exported[-2]["seq"], exported[-2]["hash"])
    rewritten = rechained([line for line in exported if line.get("kind") != "payment_declined"])
    assert "anchor" in failed([*rewritten, receipt])


def failed(lines: list[dict[str, Any]]) -> set[str]:
    verdict, _ = decision_log.verify_export(lines)
    return {name for name, ok in verdict.checks.items() if not ok}


def test_an_edited_removed_reordered_or_inserted_entry_breaks_the_chain(exported: list[dict[str, Any]]) -> None:
    edited = copy.deepcopy(exported)
    edited[3]["amount"] = 1
    removed = exported[:3] + exported[4:]
    reordered = [exported[0], exported[1], exported[3], exported[2], *exported[4:]]
    inserted = [*exported[:3], copy.deepcopy(exported[2]), *exported[3:]]
    for tampered in (edited, removed, reordered, inserted):
        assert "chain" in failed(tampered)


def test_a_payment_over_a_limit_forged_with_a_recomputed_chain_is_caught_by_the_replay(
    exported: list[dict[str, Any]],
) -> None:
    forged = copy.deepcopy(exported)
    authorized = next(i for i, line in enumerate(forged) if line["kind"] == "payment_authorized")
    forged.insert(authorized + 1, {**forged[authorized], "payment_id": "pay_" + "z" * 24, "amount": 90_00})
    problems = failed(rechained(forged))
    assert "chain" not in problems
    assert "limits" in problems


def test_a_log_that_does_not_start_at_the_attestation_is_refused(exported: list[dict[str, Any]]) -> None:
    other = copy.deepcopy(exported)
    other[0]["parameters"]["agent_id"] = "someone-else"
    assert "attestation" in failed(other)
    moved = copy.deepcopy(exported)
    moved[1]["prev"] = "0x" + "00" * 32
    assert {"start", "chain"} & failed(rechained(moved))


def test_a_consent_bound_log_carries_the_owners_signature_and_a_swapped_one_is_caught(
    invoke: Any, dynamodb: Any, session_store: Any, bus_queue: Any
) -> None:
    from agent_sessions.infra.identity import parameters_hash
    from agent_sessions.logic.consent import consent_to_sign, give_consent
    from tests.integration.test_consent import SolanaWallet

    pipeline = Pipeline(invoke, dynamodb, session_store, bus_queue)
    wallet, stranger = SolanaWallet(), SolanaWallet()
    now = utc_now()
    session_id, agent = open_session(session_store, now, user_wallet=wallet.address, require_consent=True)
    assert not pay(session_store, agent, 5_00, now)  # 403 CONSENT_REQUIRED: not in the ledger
    _, request = consent_to_sign(session_store, OWNER, session_id, now)
    give_consent(session_store, OWNER, session_id, wallet.sign(request.message), now)
    assert pay(session_store, agent, 5_00, now)
    pipeline.pump()
    lines = decision_log.export(session_store, OWNER, session_id, now)
    assert kinds(lines) == ["attestation", "session_created", "consented", "payment_authorized"]
    verdict, _ = decision_log.verify_export(lines)
    assert verdict.ok, verdict.problems
    assert verdict.checks["consent"]

    swapped = copy.deepcopy(lines)
    swapped[0]["parameters"]["consent_signature"] = stranger.sign(request.message)
    swapped[0]["parameters_hash"] = "0x" + parameters_hash(swapped[0]["parameters"]).hex()
    assert failed(swapped) == {"consent"}
