"""Idempotency-Key: keys name ids, replays derive the same secrets, fingerprints are of meaning."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.credentials import (
    hash_secret,
    new_api_key,
    new_payment_id,
    parse_bearer,
    payment_id_for,
    payment_id_for_key,
    secret_matches_hash,
    session_id_for_key,
    session_id_of_payment,
    session_token_for_key,
    webhook_id_for_key,
)
from agent_sessions.domain.errors import ValidationFailed
from agent_sessions.domain.idempotency import checked_idempotency_key, is_valid_idempotency_key, request_fingerprint
from agent_sessions.wire.models import PAYMENT_ID_PATTERN

KEYS = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=255)


def test_the_fingerprint_is_of_the_meaning_not_the_key_order() -> None:
    one = request_fingerprint({"amount_cents": 100, "metadata": {"a": 1, "b": [1, 2]}})
    same = request_fingerprint({"metadata": {"b": [1, 2], "a": 1}, "amount_cents": 100})
    other = request_fingerprint({"amount_cents": 101, "metadata": {"a": 1, "b": [1, 2]}})
    assert one == same != other


def test_a_key_names_one_payment_per_session() -> None:
    first = payment_id_for_key("sess_" + "a" * 24, "order-1")
    assert first == payment_id_for_key("sess_" + "a" * 24, "order-1")
    assert first != payment_id_for_key("sess_" + "b" * 24, "order-1")
    assert first != payment_id_for_key("sess_" + "a" * 24, "order-2")
    assert first.startswith("pay_" + "a" * 24)  # it names its session
    assert len(first) == 44
    assert session_id_of_payment(first) == "sess_" + "a" * 24


@given(session_part=st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=24, max_size=24), key=KEYS)
def test_every_new_payment_id_names_its_session_and_an_older_id_names_none(session_part: str, key: str) -> None:
    session_id = "sess_" + session_part
    for payment_id in (
        new_payment_id(session_id),
        payment_id_for_key(session_id, key),
        payment_id_for(session_id, key),
    ):
        assert re.fullmatch(PAYMENT_ID_PATTERN, payment_id)
        assert session_id_of_payment(payment_id) == session_id
    assert session_id_of_payment("pay_" + session_part) is None  # an id from before ids named their session
    assert re.fullmatch(PAYMENT_ID_PATTERN, "pay_" + session_part)
    for not_a_payment in ("sess_" + session_part * 2, "pay_", "pay_" + session_part + "x", session_part * 2):
        assert session_id_of_payment(not_a_payment) is None


@pytest.mark.parametrize("not_a_session", ["sess_", "sess_short", "pay_" + "a" * 24, "a" * 29])
def test_a_payment_id_is_made_only_for_a_session_id(not_a_session: str) -> None:
    with pytest.raises(ValueError, match="not a session id"):
        new_payment_id(not_a_session)


@given(key=KEYS, other_key=KEYS)
def test_a_key_names_one_session_and_one_endpoint_per_account(key: str, other_key: str) -> None:
    session_id = session_id_for_key("acct_a", key)
    assert session_id == session_id_for_key("acct_a", key)
    assert session_id != session_id_for_key("acct_b", key)
    assert (session_id == session_id_for_key("acct_a", other_key)) == (key == other_key)
    assert webhook_id_for_key("acct_a", key) != webhook_id_for_key("acct_b", key)
    assert session_id.startswith("sess_")
    assert len(session_id) == 29
    assert webhook_id_for_key("acct_a", key).startswith("wh_")


@given(key=KEYS)
def test_a_derived_session_token_is_well_formed_names_its_session_and_needs_the_api_key(key: str) -> None:
    api_key, other_api_key = new_api_key(), new_api_key()
    session_id = session_id_for_key("acct_a", key)
    token = session_token_for_key(api_key, session_id)
    presented = parse_bearer(f"Bearer {token}")
    assert presented is not None
    assert presented.kind == "session_token"
    assert presented.session_id == session_id
    assert secret_matches_hash(session_token_for_key(api_key, session_id), hash_secret(token))
    assert not secret_matches_hash(session_token_for_key(other_api_key, session_id), hash_secret(token))
    assert api_key not in token


def test_idempotency_keys_are_1_to_255_printable_characters() -> None:
    assert is_valid_idempotency_key("a")
    assert is_valid_idempotency_key("k" * 255)
    assert is_valid_idempotency_key("zfi_idem_1764123456789_k3j4h5")
    assert not is_valid_idempotency_key("")
    assert not is_valid_idempotency_key("k" * 256)
    assert not is_valid_idempotency_key("tab\there")
    assert not is_valid_idempotency_key("é")


def test_an_invalid_key_is_a_validation_error_naming_the_header() -> None:
    assert checked_idempotency_key(None) is None
    assert checked_idempotency_key("k") == "k"
    with pytest.raises(ValidationFailed) as refused:
        checked_idempotency_key("k" * 256)
    assert "Idempotency-Key" in refused.value.details["fields"]
