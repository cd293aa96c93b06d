"""Checking a wallet owner's signature over a consent message: EIP-191 for 0x wallets, ed25519 for Solana.

- An `0x` wallet signs with `personal_sign` (EIP-191: keccak-256 of "\\x19Ethereum Signed Message:\\n"
  + the message's length in bytes + the message); the 65-byte signature `r || s || v` (v 27/28 or
  0/1) as 0x-hex must recover to the wallet's address (compared without case).
- A Solana wallet (its base58 public key) signs the message's UTF-8 bytes with ed25519 (what a
  wallet's `signMessage` does); the 64-byte signature as base58 or 0x-hex must verify under that key.
"""

from __future__ import annotations

import base58
from coincurve import PublicKey
from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey

from agent_sessions.domain.consent import wallet_kind
from agent_sessions.infra.identity import address_of, keccak256


def signature_is_the_wallets(user_wallet: str, message: str, signature: str) -> bool:
    """True when `signature` over `message` was made by `user_wallet`'s key."""
    kind = wallet_kind(user_wallet)
    if kind == "ethereum":
        return _ethereum_signer(message, signature) == user_wallet.lower()
    if kind == "solana":
        return _solana_verifies(user_wallet, message, signature)
    return False


def _ethereum_signer(message: str, signature: str) -> str | None:
    data = message.encode()
    digest = keccak256(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:
            return None
        recovery = raw[64] - 27 if raw[64] >= 27 else raw[64]
        if recovery not in (0, 1):
            return None
        public_key = PublicKey.from_signature_and_message(raw[:64] + bytes([recovery]), digest, hasher=None)
    except ValueError:
        return None
    return address_of(public_key).lower()


def _solana_verifies(user_wallet: str, message: str, signature: str) -> bool:
    try:
        key = base58.b58decode(user_wallet)
        raw = bytes.fromhex(signature[2:]) if signature.startswith("0x") else base58.b58decode(signature)
        if len(key) != 32 or len(raw) != 64:
            return False
        VerifyKey(key).verify(message.encode(), raw)
    except (ValueError, CryptoError):  # a bad key, a bad encoding or a signature that does not verify
        return False
    return True
