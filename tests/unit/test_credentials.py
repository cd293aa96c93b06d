import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_sessions.domain.credentials import (
    hash_secret,
    is_session_id,
    lowercase_base32,
    new_api_key,
    new_session_id,
    new_session_token,
    parse_bearer,
    secret_matches_hash,
)


def test_api_keys_have_the_contract_prefix_and_at_least_32_url_safe_chars() -> None:
    key = new_api_key()
    assert key.startswith("zfi_test_")
    assert len(key) - len("zfi_test_") >= 32
    assert parse_bearer(f"Bearer {key}") is not None


def test_a_session_token_names_its_session() -> None:
    session_id = new_session_id()
    token = new_session_token(session_id)
    assert token.startswith("zai_session_")
    presented = parse_bearer(f"Bearer {token}")
    assert presented is not None
    assert presented.kind == "session_token"
    assert presented.session_id == session_id


def test_ids_are_unique_and_well_formed() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_session_id(session_id) for session_id in ids)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic zfi_test_" + "a" * 40,
        "Bearer zfi_test_short",
        "Bearer zfi_prod_" + "a" * 40,
        "Bearer zai_session_notanid_" + "a" * 43,
        "Bearer zfi_test_" + "a" * 30 + "!" * 10,
        "Bearer " + "x" * 600,
    ],
)
def test_malformed_credentials_are_not_recognised(header: str | None) -> None:
    assert parse_bearer(header) is None


def test_secrets_are_stored_as_sha256_and_compared_by_hash() -> None:
    key = new_api_key()
    stored = hash_secret(key)
    assert key not in stored
    assert len(stored) == 64
    assert secret_matches_hash(key, stored)
    assert not secret_matches_hash(key + "x", stored)


@given(st.integers(0, 6).flatmap(lambda groups: st.binary(min_size=5 * groups, max_size=5 * groups)))
def test_ids_are_base32_exactly_as_base64_writes_it(raw: bytes) -> None:
    """Ids derived from an Idempotency-Key must stay the ids they were: the same text for the same bytes."""
    assert lowercase_base32(raw) == base64.b32encode(raw).decode("ascii").lower()


@given(st.binary(max_size=40).filter(lambda raw: len(raw) % 5))
def test_base32_of_a_length_that_needs_padding_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="multiple of 5 bytes"):
        lowercase_base32(raw)
