"""An owner's consent racing the agent's first payments and its own repeats, through the handlers.

A consent-bound session spends nothing before its owner's signature is recorded. Once any consent
has answered, every payment that starts after it may spend; the repeats all agree on the session.
"""

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.concurrency.test_concurrent_payments import (
    ROUNDS,
    assert_counters_match_ledger,
    authorized_event,
    pool,
    timed_invoke,
)
from tests.conftest import load_event, with_body, with_session_id
from tests.integration.test_consent import EthereumWallet, SolanaWallet

pytestmark = pytest.mark.concurrency

Call = tuple[str, dict[str, Any]]


@pytest.mark.parametrize("wallet_type", [SolanaWallet, EthereumWallet])
def test_nothing_is_spent_before_consent_and_everything_after_it_may_be(
    fresh_table: Callable[[], Any], wallet_type: Any
) -> None:
    draw = random.Random(7)
    for _ in range(max(2, ROUNDS // 10)):
        client = fresh_table()
        wallet = wallet_type()
        request = {**json.loads(load_event("create_session")["body"]), "user_wallet": wallet.address}
        request["require_consent"] = True
        created = pool("CreateSessionFunction").invoke(with_body(load_event("create_session"), json.dumps(request)))
        session = json.loads(created["body"])
        asked = pool("GetConsentFunction").invoke(with_session_id(load_event("get_consent"), session["id"]))
        signature = wallet.sign(json.loads(asked["body"])["message"])
        consent = with_body(
            with_session_id(load_event("give_consent"), session["id"]), json.dumps({"signature": signature})
        )
        payment = authorized_event(session["session_token"], {"amount": 1, "merchant_id": "merchant_amazon"})
        with ThreadPoolExecutor(max_workers=10) as executor:  # before any consent: a burst, all refused
            early = [
                answer for _, _, answer in executor.map(timed_invoke, ["CreatePaymentFunction"] * 10, [payment] * 10)
            ]
        assert {json.loads(answer["body"])["error"]["code"] for answer in early} == {"CONSENT_REQUIRED"}
        calls: list[Call] = [("GiveConsentFunction", consent)] * 8 + [("CreatePaymentFunction", payment)] * 40
        draw.shuffle(calls)
        with ThreadPoolExecutor(max_workers=24) as executor:
            results = list(executor.map(lambda call: timed_invoke(*call), calls))

        consents = [result for call, result in zip(calls, results, strict=True) if call[0] == "GiveConsentFunction"]
        assert {answer["statusCode"] for _, _, answer in consents} == {200}, consents[0][2]["body"][:300]
        assert {json.loads(answer["body"])["status"] for _, _, answer in consents} == {"active"}
        first_consent = min(ended for _, ended, _ in consents)
        for (function, _), (started, _, answer) in zip(calls, results, strict=True):
            if function != "CreatePaymentFunction":
                continue
            if answer["statusCode"] != 201:
                assert answer["statusCode"] == 403, answer["body"][:300]
                assert json.loads(answer["body"])["error"]["code"] == "CONSENT_REQUIRED"
                assert started < first_consent, "a payment that started after a consent answered was refused"
        assert_counters_match_ledger(client, session["id"])
