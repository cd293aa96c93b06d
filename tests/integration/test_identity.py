"""mint_pkp: a per-session identity whose attestation eth-account verifies; its key is never kept."""

import base64
import json
import logging
from typing import Any

import pytest
from coincurve import PrivateKey
from eth_account import Account
from eth_account.messages import encode_defunct

from agent_sessions.infra import identity
from agent_sessions.infra.identity import Attestation, parameters_hash, verify_attestation
from tests.conftest import TABLE_NAME, Invoke, load_event, with_credential, with_session_id
from tests.integration.test_payment_handlers import open_session


@pytest.fixture
def minted_keys(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The private keys the provider generates, seen as they are made (to look for them later)."""
    seen: list[bytes] = []

    class Watched(PrivateKey):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.secret)

    monkeypatch.setattr(identity, "PrivateKey", Watched)
    return seen


def attestation_of(invoke: Invoke, session_id: str) -> dict[str, Any]:
    response = invoke("get_attestation", with_session_id(load_event("get_attestation"), session_id))
    assert response["statusCode"] == 200, response["body"]
    return dict(response["json"])


def test_eth_account_recovers_the_signer_as_the_sessions_address(invoke: Invoke, minted_keys: list[bytes]) -> None:
    session = open_session(invoke, mint_pkp=True)
    address = session["pkp_address"]
    assert address.startswith("0x")
    assert len(address) == 42
    assert address != address.lower()  # EIP-55 checksum casing

    attestation = attestation_of(invoke, session["id"])
    assert attestation["address"] == address
    parameters = attestation["parameters"]
    assert parameters == {
        "id": session["id"],
        "account_id": "acct_eventsexampleaccount0000",
        "agent_id": session["agent_id"],
        "user_wallet": session["user_wallet"],
        "limits": {
            "max_per_transaction": 5000,
            "max_per_day": 20000,
            "max_per_week": 100000,
            "max_per_month": 300000,
            "require_approval_above": 2500,
        },
        "allowed_merchants": ["merchant_amazon", "merchant_walmart"],
        "created_at": session["created_at"],
        "expires_at": session["expires_at"],
    }
    digest = bytes.fromhex(attestation["parameters_hash"].removeprefix("0x"))
    assert len(digest) == 32
    assert len(bytes.fromhex(attestation["signature"].removeprefix("0x"))) == 65
    signer = Account.recover_message(encode_defunct(primitive=digest), signature=attestation["signature"])
    assert signer == address
    assert Account.from_key(minted_keys[0]).address == address  # the key that signed, seen only by this test


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("id", "sess_aaaaaaaaaaaaaaaaaaaaaaaa"),
        ("account_id", "acct_someoneelse000000000000"),
        ("agent_id", "another-agent"),
        ("user_wallet", "someone-else"),
        ("limits", {"max_per_day": 20001}),
        ("allowed_merchants", None),
        ("created_at", "2026-01-01T00:00:00Z"),
        ("expires_at", "2027-01-01T00:00:00Z"),
    ],
)
def test_changing_any_parameter_breaks_the_attestation(invoke: Invoke, name: str, changed: Any) -> None:
    session = open_session(invoke, mint_pkp=True)
    answer = attestation_of(invoke, session["id"])
    genuine = Attestation(**answer)
    assert verify_attestation(genuine)
    parameters = dict(answer["parameters"])
    parameters[name] = {**parameters["limits"], **changed} if name == "limits" else changed
    forged = Attestation(**{**answer, "parameters": parameters})
    assert not verify_attestation(forged)
    rehashed = Attestation(
        **{**answer, "parameters": parameters, "parameters_hash": "0x" + parameters_hash(parameters).hex()}
    )
    assert not verify_attestation(rehashed)  # a consistent hash of other parameters does not match the signature
    recovered = Account.recover_message(
        encode_defunct(primitive=bytes.fromhex(rehashed.parameters_hash[2:])), signature=answer["signature"]
    )
    assert recovered != session["pkp_address"]


def test_the_private_key_is_in_neither_the_table_nor_the_logs(
    invoke: Invoke,
    dynamodb: Any,
    minted_keys: list[bytes],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    session = open_session(invoke, mint_pkp=True)
    attestation_of(invoke, session["id"])
    (key,) = minted_keys
    forms = {key.hex(), key.hex().upper(), "0x" + key.hex()}
    forms |= {base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()}
    items = dynamodb.scan(TableName=TABLE_NAME)["Items"]
    stored = json.dumps(
        items, default=lambda value: bytes(value).hex() if isinstance(value, bytes | bytearray) else str(value)
    )
    logged = caplog.text + "".join(capsys.readouterr())
    for form in forms:
        assert form not in stored
        assert form not in logged
    assert key not in b"".join(bytes(v["B"]) for item in items for v in item.values() if "B" in v)


def test_without_mint_pkp_there_is_no_identity_but_the_parameters_are_provable(invoke: Invoke) -> None:
    session = open_session(invoke)
    assert session["pkp_address"] is None
    response = invoke("get_attestation", with_session_id(load_event("get_attestation"), session["id"]))
    assert response["statusCode"] == 200
    answer = response["json"]
    assert (answer["address"], answer["signature"]) == (None, None)
    assert answer["parameters"]["id"] == session["id"]
    assert answer["parameters_hash"] == "0x" + parameters_hash(answer["parameters"]).hex()


def test_the_sessions_token_may_read_its_attestation(invoke: Invoke) -> None:
    session = open_session(invoke, mint_pkp=True)
    event = with_credential(
        invoke, with_session_id(load_event("get_attestation"), session["id"]), session["session_token"]
    )
    assert invoke("get_attestation", event)["json"]["address"] == session["pkp_address"]
