"""Consent-bound sessions with real wallet signatures: ed25519 (PyNaCl) for Solana, EIP-191 (eth-account) for 0x."""

import json
from datetime import timedelta
from typing import Any

import base58
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from nacl.signing import SigningKey

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import Caller, utc_now
from agent_sessions.infra.identity import Attestation, verify_attestation
from agent_sessions.logic import sessions as service
from agent_sessions.logic.outbox import Change, events_for
from agent_sessions.wire.models import CreateSessionRequest
from tests.conftest import EVENTS_ACCOUNT_ID, Invoke, load_event, with_body, with_credential, with_session_id
from tests.integration.test_payment_handlers import open_session, pay


class SolanaWallet:
    def __init__(self) -> None:
        self.key = SigningKey.generate()
        self.address = base58.b58encode(bytes(self.key.verify_key)).decode()

    def sign(self, message: str) -> str:
        return base58.b58encode(self.key.sign(message.encode()).signature).decode()


class EthereumWallet:
    def __init__(self) -> None:
        self.account = Account.create()
        self.address = self.account.address

    def sign(self, message: str) -> str:
        return "0x" + self.account.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")


def stranger_signature(wallet_type: Any, message: str) -> str:
    return str(wallet_type().sign(message))


def consent_of(invoke: Invoke, session_id: str) -> dict[str, Any]:
    response = invoke("get_consent", with_session_id(load_event("get_consent"), session_id))
    assert response["statusCode"] == 200, response["body"]
    return dict(response["json"])


def consent(invoke: Invoke, session_id: str, signature: str) -> dict[str, Any]:
    event = with_body(with_session_id(load_event("give_consent"), session_id), json.dumps({"signature": signature}))
    return invoke("give_consent", event)


@pytest.mark.parametrize("wallet_type", [SolanaWallet, EthereumWallet])
def test_a_consent_bound_session_pays_only_after_its_owner_signs(invoke: Invoke, wallet_type: Any) -> None:
    wallet = wallet_type()
    session = open_session(invoke, user_wallet=wallet.address, require_consent=True)
    assert session["status"] == "pending_consent"
    assert session["is_active"] is False
    refused = pay(invoke, session, 5)
    assert (refused["statusCode"], refused["json"]["error"]["code"]) == (403, "CONSENT_REQUIRED")

    asked = consent_of(invoke, session["id"])
    message = asked["message"]
    for shown in (session["agent_id"], wallet.address, "$50.00", "merchant_amazon", session["expires_at"]):
        assert shown in message
    assert asked["parameters_sha256"] in message
    assert asked["parameters_keccak256"] in message
    assert asked["wallet_kind"] == ("solana" if wallet_type is SolanaWallet else "ethereum")

    signature = wallet.sign(message)
    given = consent(invoke, session["id"], signature)
    assert given["statusCode"] == 200, given["body"]
    assert given["json"]["status"] == "active"
    assert pay(invoke, session, 5)["statusCode"] == 201
    again = consent(invoke, session["id"], wallet.sign(message))  # a second consent changes nothing
    assert again["statusCode"] == 200
    assert (
        consent_of(invoke, session["id"])["consent_signature"] == wallet.sign(message) or wallet_type is EthereumWallet
    )


@pytest.mark.parametrize("wallet_type", [SolanaWallet, EthereumWallet])
def test_a_signature_by_another_wallet_over_other_terms_or_a_changed_message_is_refused(
    invoke: Invoke, wallet_type: Any
) -> None:
    wallet, stranger = wallet_type(), wallet_type()
    session = open_session(invoke, user_wallet=wallet.address, require_consent=True)
    other_terms = open_session(invoke, user_wallet=wallet.address, require_consent=True, limits={"max_per_day": 999})
    message = consent_of(invoke, session["id"])["message"]
    for signature in (
        stranger.sign(message),
        wallet.sign(consent_of(invoke, other_terms["id"])["message"]),
        wallet.sign(message.replace("$50.00", "$5,000.00")),
        wallet.sign(message + " "),
        "0x" + "00" * 65,
        "1" * 88,
    ):
        refused = consent(invoke, session["id"], signature)
        assert refused["statusCode"] == 422, refused["body"]
        assert list(refused["json"]["error"]["details"]["fields"]) == ["signature"]
    assert consent_of(invoke, session["id"])["status"] == "pending_consent"


def test_consent_that_does_not_arrive_in_time_lapses_the_session(invoke: Invoke, session_store: Any) -> None:
    wallet = SolanaWallet()
    request = CreateSessionRequest.model_validate(
        {"agent_id": "a", "user_wallet": wallet.address, "require_consent": True, "consent_within_minutes": 1}
    )
    owner = Caller(kind="api_key", account_id=EVENTS_ACCOUNT_ID)
    created = service.create_session(session_store, owner, request, utc_now() - timedelta(minutes=2))
    asked = consent_of(invoke, created.session.id)
    assert asked["status"] == "expired"
    late = consent(invoke, created.session.id, wallet.sign(asked["message"]))
    assert (late["statusCode"], late["json"]["error"]["code"]) == (409, "INVALID_STATE")
    swept = invoke("expire_sessions", load_event("expire_sessions"))
    assert swept["sessions_expired"] >= 1
    stored = session_store.get_session(created.session.id)
    assert stored.stored_status == "expired"


def test_a_wallet_that_cannot_sign_is_refused_at_creation(invoke: Invoke) -> None:
    event = load_event("create_session")
    body = {**json.loads(event["body"]), "user_wallet": "Hx7B...abc", "require_consent": True}
    refused = invoke("create_session", with_body(event, json.dumps(body)))
    assert refused["statusCode"] == 422
    assert "user_wallet" in refused["json"]["error"]["details"]["fields"]


def test_with_mint_pkp_the_identity_signs_the_consent_too_and_it_is_announced(invoke: Invoke) -> None:
    wallet = EthereumWallet()
    session = open_session(invoke, user_wallet=wallet.address, require_consent=True, mint_pkp=True)
    assert session["pkp_address"] is None  # minted when consent arrives
    store = default_store()
    before = store.get_session(session["id"])
    signature = wallet.sign(consent_of(invoke, session["id"])["message"])
    assert consent(invoke, session["id"], signature)["statusCode"] == 200
    after = store.get_session(session["id"])
    attested = invoke("get_attestation", with_session_id(load_event("get_attestation"), session["id"]))["json"]
    assert attested["parameters"]["consent_signature"] == signature
    assert verify_attestation(
        Attestation(**{k: attested[k] for k in ("address", "parameters", "parameters_hash", "signature")})
    )
    (event,) = [e for e in events_for(Change("c", before, after, after.created_at), store.get_payment)]
    assert event.name == "agent.session.consented"
    assert event.data["consent_signature"] == signature


def test_the_agents_token_reads_the_consent_message_too(invoke: Invoke) -> None:
    wallet = SolanaWallet()
    session = open_session(invoke, user_wallet=wallet.address, require_consent=True)
    event = with_credential(invoke, with_session_id(load_event("get_consent"), session["id"]), session["session_token"])
    answer = invoke("get_consent", event)
    assert answer["statusCode"] == 200
    assert answer["json"]["session_id"] == session["id"]


def test_raising_a_consented_sessions_terms_needs_its_owner_again_lowering_does_not(invoke: Invoke) -> None:
    wallet = SolanaWallet()
    session = open_session(invoke, user_wallet=wallet.address, require_consent=True)
    assert (
        consent(invoke, session["id"], wallet.sign(consent_of(invoke, session["id"])["message"]))["statusCode"] == 200
    )

    def patch(body: dict[str, Any], version: int) -> dict[str, Any]:
        event = with_body(with_session_id(load_event("update_session"), session["id"]), json.dumps(body))
        event["headers"]["if-match"] = str(version)
        return invoke("update_session", event)

    lowered = patch({"limits": {"max_per_day": 150}}, 0)
    assert lowered["statusCode"] == 200, lowered["body"]
    raise_day = {"limits": {"max_per_day": 300}}
    refused = patch(raise_day, 1)
    assert (refused["statusCode"], refused["json"]["error"]["code"]) == (403, "CONSENT_REQUIRED")
    message = refused["json"]["error"]["details"]["message"]
    assert "$300.00" in message
    forged = patch({**raise_day, "consent_signature": SolanaWallet().sign(message)}, 1)
    assert forged["statusCode"] == 403
    signed = patch({**raise_day, "consent_signature": wallet.sign(message)}, 1)
    assert signed["statusCode"] == 200, signed["body"]
    assert signed["json"]["limits"]["max_per_day"] == 300
    assert consent_of(invoke, session["id"])["consent_signature"] == wallet.sign(message)
    tightened = patch({"rate_limits": {"payments": {"per_minute": 5}}}, 2)  # a new count limit only tightens
    assert tightened["statusCode"] == 200, tightened["body"]
    for loosening in ({"allowed_merchants": None}, {"rate_limits": {"payments": {"per_minute": 6}}}):
        assert patch(loosening, 3)["json"]["error"]["code"] == "CONSENT_REQUIRED"
