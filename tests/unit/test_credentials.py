import pytest

from agent_sessions.domain.credentials import (
    hash_secret,
    is_session_id,
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
