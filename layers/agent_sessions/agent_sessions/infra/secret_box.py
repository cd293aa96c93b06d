"""Sealing secrets that must be recovered later (webhook signing secrets) with a KMS key.

An encryption context binds each ciphertext to its owner and object, so a sealed secret copied
to another item does not open there.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol


class SecretBox(Protocol):
    """Encrypts and decrypts small secrets."""

    def seal(self, secret: str, context: dict[str, str]) -> bytes:
        """The ciphertext of `secret`, bound to `context`."""

    def open(self, sealed: bytes, context: dict[str, str]) -> str:
        """The secret `sealed` holds, if `context` matches."""


class KmsSecretBox:
    """SecretBox over one KMS key."""

    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def seal(self, secret: str, context: dict[str, str]) -> bytes:
        """KMS Encrypt with an encryption context."""
        response = self._client.encrypt(KeyId=self._key_id, Plaintext=secret.encode("utf-8"), EncryptionContext=context)
        return bytes(response["CiphertextBlob"])

    def open(self, sealed: bytes, context: dict[str, str]) -> str:
        """KMS Decrypt with the same encryption context."""
        response = self._client.decrypt(CiphertextBlob=sealed, EncryptionContext=context, KeyId=self._key_id)
        return bytes(response["Plaintext"]).decode("utf-8")


@lru_cache(maxsize=1)
def default_secret_box() -> KmsSecretBox:
    """The box over the key named by WEBHOOK_KEY_ID, built on first use."""
    import boto3

    from agent_sessions.infra.settings import load_settings

    return KmsSecretBox(boto3.client("kms"), load_settings().required("webhook_key_id"))
