"""Requests racing for one object, through the handlers: retries overlapping their original, one intent
confirmed from two sessions, PATCHes on one version.

The ZendFi SDK retries a POST with the same key when an answer is slow or lost, so a retry can
arrive while the first attempt is still in flight. However they interleave, one key makes one
object and debits once, and every attempt with the same body gets the same answer; an intent is
paid once; one version of the terms is changed once.
"""

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.logic import payments as payment_service
from agent_sessions.wire.models import CreatePaymentRequest
from tests.concurrency.test_concurrent_payments import (
    ROUNDS,
    assert_counters_match_ledger,
    authorized_event,
    counters,
    ledger,
    open_session,
    pool,
    rounds,
)
from tests.conftest import TABLE_NAME, load_event, with_body, with_payment_id
from tests.integration.test_decision_retries import without_remaining

pytestmark = pytest.mark.concurrency

ATTEMPTS = 24
RETRY_ROUNDS = max(4, ROUNDS // 5)


def at_once(function: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=ATTEMPTS) as executor:
        return list(executor.map(pool(function).invoke, events))


def test_one_key_sent_many_times_at_once_pays_once_with_one_answer(fresh_table: Callable[[], Any]) -> None:
    for seed, draw in rounds(RETRY_ROUNDS):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=100, require_approval_above=Decimal(50))  # type: ignore[arg-type]
        assert caller.session_id is not None
        amount = Decimal(draw.randint(1, 9000)) / 100  # held above $50, authorized below
        event = with_body(
            authorized_event(token, {}), f'{{"amount": {amount}, "merchant_id": "m", "description": "retried"}}'
        )
        event["headers"]["idempotency-key"] = f"retry-{seed}"
        other = with_body(event, f'{{"amount": {amount + 1}}}')  # the same key, another payment
        events = [event] * ATTEMPTS + [other] * 4
        draw.shuffle(events)
        answers = at_once("CreatePaymentFunction", events)

        same = [answer for sent, answer in zip(events, answers, strict=True) if sent is event]
        reused = [answer for sent, answer in zip(events, answers, strict=True) if sent is other]
        # The first body served wins the key (usually the one sent 24 times, not always): every copy
        # of it gets one answer, every copy of the other body is refused.
        won, lost, won_amount = (same, reused, amount) if same[0]["statusCode"] != 422 else (reused, same, amount + 1)
        assert {answer["statusCode"] for answer in won} == {202 if won_amount > 50 else 201}, (
            seed,
            won[0]["body"][:300],
        )
        assert len({answer["body"] for answer in won}) == 1, seed  # byte for byte the first answer
        assert all(answer["statusCode"] == 422 for answer in lost), (seed, lost[0]["body"][:300])
        assert {json.loads(answer["body"])["error"]["code"] for answer in lost} == {"IDEMPOTENCY_KEY_REUSED"}

        payments = [item for item in ledger(client) if item["status"]["S"] != "declined"]
        assert len(payments) == 1, seed
        assert payments[0]["id"]["S"] == json.loads(won[0]["body"])["id"], seed
        committed, _ = counters(client, caller.session_id)
        assert committed["d0"] == int(won_amount * 100), seed
        assert_counters_match_ledger(client, caller.session_id)


def test_one_decision_sent_many_times_at_once_with_one_key_decides_once(fresh_table: Callable[[], Any]) -> None:
    """An approve or reject retried with its key while the first is in flight, racing the other decision
    sent without a key: one decision wins; if it is the keyed one, each of its copies is answered 200
    with the payment, else each is a 409 (its key decided nothing); the counters are the ledger's."""
    for seed, draw in rounds(RETRY_ROUNDS):
        client = fresh_table()
        token, caller = open_session(utc_now(), max_per_day=100, require_approval_above=Decimal("1.5"))  # type: ignore[arg-type]
        amount = Decimal(draw.randint(151, 5000)) / 100
        request = CreatePaymentRequest.model_validate({"amount": amount})
        payment_id = payment_service.create_payment(default_store(), caller, request, None, utc_now()).answer.payment.id
        verb, other_verb = draw.choice([("approve", "reject"), ("reject", "approve")])
        keyed = with_payment_id(load_event(f"{verb}_payment"), payment_id)
        keyed["headers"]["idempotency-key"] = f"decide-{seed}"
        other = with_payment_id(load_event(f"{other_verb}_payment"), payment_id)
        small = authorized_event(token, {"amount": 1})
        calls = [(f"{verb.capitalize()}PaymentFunction", keyed)] * ATTEMPTS
        calls += [(f"{other_verb.capitalize()}PaymentFunction", other)] * 4 + [("CreatePaymentFunction", small)] * 8
        draw.shuffle(calls)
        with ThreadPoolExecutor(max_workers=ATTEMPTS) as executor:
            answers = list(executor.map(lambda call: pool(call[0]).invoke(call[1]), calls))

        keyed_codes = [answer["statusCode"] for (_, sent), answer in zip(calls, answers, strict=True) if sent is keyed]
        other_codes = [answer["statusCode"] for (_, sent), answer in zip(calls, answers, strict=True) if sent is other]
        if 200 in keyed_codes:  # the keyed decision won: every copy of it gets its answer
            assert set(keyed_codes) == {200}, seed
            assert set(other_codes) == {409}, seed
            keyed_answers = [answer for (_, sent), answer in zip(calls, answers, strict=True) if sent is keyed]
            assert len({_without_remaining(answer) for answer in keyed_answers}) == 1, seed
        else:
            assert set(keyed_codes) == {409}, seed
            assert sorted(other_codes) == [200, 409, 409, 409], seed
        decided = [item for item in ledger(client) if item["id"]["S"] == payment_id]
        assert decided[0]["status"]["S"] != "pending_approval", seed
        assert_counters_match_ledger(client, caller.session_id)  # type: ignore[arg-type]


def _without_remaining(answer: dict[str, Any]) -> str:
    """The answer's payment, its remaining amounts left out (they are the session's now), as JSON."""
    return json.dumps(without_remaining(json.loads(answer["body"])), sort_keys=True)


def test_one_key_creating_a_session_many_times_at_once_makes_one_session(fresh_table: Callable[[], Any]) -> None:
    for round_number in range(max(4, ROUNDS // 5)):
        client = fresh_table()
        event = load_event("create_session")
        event["headers"]["idempotency-key"] = f"session-retry-{round_number}"
        answers = at_once("CreateSessionFunction", [event] * ATTEMPTS)
        assert {answer["statusCode"] for answer in answers} == {201}, answers[0]["body"][:300]
        assert len({json.loads(answer["body"])["id"] for answer in answers}) == 1
        assert len({json.loads(answer["body"])["session_token"] for answer in answers}) == 1
        sessions = client.scan(
            TableName=TABLE_NAME,
            FilterExpression="#type = :session",
            ExpressionAttributeNames={"#type": "type"},
            ExpressionAttributeValues={":session": {"S": "session"}},
        )["Items"]
        assert len(sessions) == 1


def confirm_event(intent: dict[str, Any], session: dict[str, Any]) -> dict[str, Any]:
    """confirm_intent's events/ file for `intent`, paying from `session`."""
    placeholder = load_event("confirm_intent")["pathParameters"]["id"]
    event = json.loads(json.dumps(load_event("confirm_intent")).replace(placeholder, intent["id"]))
    body = {"client_secret": intent["client_secret"], "customer_wallet": "w", "session_token": session["session_token"]}
    return with_body(event, json.dumps(body))


def test_one_intent_confirmed_many_times_at_once_from_two_sessions_is_paid_once(
    fresh_table: Callable[[], Any],
) -> None:
    for round_number in range(max(4, ROUNDS // 5)):
        client = fresh_table()
        sessions = [
            json.loads(pool("CreateSessionFunction").invoke(load_event("create_session"))["body"]) for _ in "ab"
        ]
        intent_event = load_event("create_intent")
        intent_event["headers"]["idempotency-key"] = f"intent-{round_number}"
        body = {**json.loads(intent_event["body"]), "amount": 12.34, "metadata": {"merchant_id": "merchant_amazon"}}
        intent = json.loads(pool("CreateIntentFunction").invoke(with_body(intent_event, json.dumps(body)))["body"])

        events = [confirm_event(intent, sessions[0])] * 12 + [confirm_event(intent, sessions[1])] * 12
        random.Random(round_number).shuffle(events)
        answers = at_once("ConfirmIntentFunction", events)
        assert all(answer["statusCode"] < 500 for answer in answers), [a["body"][:200] for a in answers]

        paid = [item for item in ledger(client) if item["status"]["S"] == "authorized"]
        assert len(paid) == 1, [item["session_id"]["S"] for item in paid]
        winner = paid[0]["session_id"]["S"]
        for sent, answer in zip(events, answers, strict=True):
            token = json.loads(sent["body"])["session_token"]
            from_winner = token == next(s["session_token"] for s in sessions if s["id"] == winner)
            if from_winner:
                assert answer["statusCode"] == 200, answer["body"][:300]
                assert json.loads(answer["body"])["payment_id"] == paid[0]["id"]["S"]
            else:
                assert answer["statusCode"] == 409, answer["body"][:300]
        for session in sessions:
            committed, _ = counters(client, session["id"])
            assert committed.get("d0", 0) == (1234 if session["id"] == winner else 0)
        assert_counters_match_ledger(client, winner)  # the ledger's one payment is the winner's


def test_patches_racing_on_one_version_change_the_terms_once(fresh_table: Callable[[], Any]) -> None:
    for _ in range(max(4, ROUNDS // 5)):
        fresh_table()
        session = json.loads(pool("CreateSessionFunction").invoke(load_event("create_session"))["body"])
        placeholder = load_event("update_session")["pathParameters"]["id"]
        template = json.loads(json.dumps(load_event("update_session")).replace(placeholder, session["id"]))
        template["headers"]["if-match"] = '"0"'
        events = [with_body(template, json.dumps({"limits": {"max_per_day": 100 + n}})) for n in range(ATTEMPTS)]
        answers = at_once("UpdateSessionFunction", events)
        won = [(sent, answer) for sent, answer in zip(events, answers, strict=True) if answer["statusCode"] == 200]
        assert len(won) == 1, [answer["statusCode"] for answer in answers]
        for answer in answers:
            if answer["statusCode"] != 200:
                assert answer["statusCode"] == 412, answer["body"][:300]
                assert json.loads(answer["body"])["error"]["details"]["version"] == 1
        asked = json.loads(won[0][0]["body"])["limits"]["max_per_day"]
        shown = pool("GetSessionFunction").invoke(
            json.loads(
                json.dumps(load_event("get_session")).replace(
                    load_event("get_session")["pathParameters"]["id"], session["id"]
                )
            )
        )
        assert json.loads(shown["body"], parse_float=Decimal)["limits"]["max_per_day"] == asked
        assert json.loads(shown["body"])["version"] == 1
