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


class FileKeySecretBox:
    """SecretBox over a 32-byte key in a file: AES-256-GCM, the context as associated data.

    Only the local runtime's `--data-dir` uses it (`WEBHOOK_KEY_ID=file:<path>`), so sealed secrets
    open again after a restart; a deployment uses KMS.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, secret: str, context: dict[str, str]) -> bytes:
        from Crypto.Cipher import AES

        cipher = AES.new(self._key, AES.MODE_GCM)
        cipher.update(_associated(context))
        sealed, tag = cipher.encrypt_and_digest(secret.encode("utf-8"))
        return bytes(cipher.nonce) + tag + sealed

    def open(self, sealed: bytes, context: dict[str, str]) -> str:
        from Crypto.Cipher import AES

        cipher = AES.new(self._key, AES.MODE_GCM, nonce=sealed[:16])
        cipher.update(_associated(context))
        return cipher.decrypt_and_verify(sealed[32:], sealed[16:32]).decode("utf-8")


def _associated(context: dict[str, str]) -> bytes:
    return "\n".join(f"{name}={value}" for name, value in sorted(context.items())).encode()


@lru_cache(maxsize=1)
def default_secret_box() -> SecretBox:
    """The box over the key named by WEBHOOK_KEY_ID (a KMS key; `file:<path>` locally), built on first use."""
    from agent_sessions.infra.settings import load_settings

    key_id = load_settings().required("webhook_key_id")
    if key_id.startswith("file:"):
        with open(key_id.removeprefix("file:"), "rb") as key_file:
            return FileKeySecretBox(key_file.read())
    import boto3

    return KmsSecretBox(boto3.client("kms"), key_id)
