"""Per-session identities (`mint_pkp`): a fresh secp256k1 key, its address, one signed attestation.

The key signs the session's parameters once and is then dropped: never stored, never logged.
The address is an identity anchor, not a spending key, so nobody (us included) can later sign
another attestation for it.

- `parameters_hash`: `0x` + keccak-256 of the parameters as RFC 8785 canonical JSON;
- `signature`: EIP-191 personal_sign of the 32 hash bytes (what `eth_account.messages.
  encode_defunct(primitive=hash)` signs), 65 bytes `r || s || v` (v = 27 or 28), 0x-hex;
- the address is EIP-55 (mixed-case checksum) of the last 20 bytes of keccak-256 of the public key.

`IdentityProvider` is the seam for other providers, such as a Lit Protocol PKP minted over the
network (see the README); the local provider is the default and the only one built in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import rfc8785
from coincurve import PrivateKey, PublicKey
from Crypto.Hash import keccak

_PERSONAL_SIGN_PREFIX = b"\x19Ethereum Signed Message:\n32"


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's "sha3"), not NIST SHA3-256."""
    return keccak.new(digest_bits=256, data=data).digest()


def checksum_address(address_bytes: bytes) -> str:
    """EIP-55: `0x` and 40 hex digits, a letter uppercase where the hash of the address says so."""
    lower = address_bytes.hex()
    hashed = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(hashed[i], 16) >= 8 else c for i, c in enumerate(lower))


def address_of(public_key: PublicKey) -> str:
    """The Ethereum address of a secp256k1 public key."""
    return checksum_address(keccak256(public_key.format(compressed=False)[1:])[-20:])


def parameters_hash(parameters: dict[str, Any]) -> bytes:
    """keccak-256 of the RFC 8785 canonical JSON of `parameters`."""
    return keccak256(rfc8785.dumps(parameters))


@dataclass(frozen=True)
class Attestation:
    """What a session's identity signed: its parameters, their hash, and the signature."""

    address: str
    parameters: dict[str, Any]
    parameters_hash: str
    signature: str


class IdentityProvider(Protocol):
    """Mints an identity for a session and has it sign the session's parameters."""

    def mint(self, parameters: dict[str, Any]) -> Attestation:
        """A new identity's attestation of `parameters`."""


class LocalIdentityProvider:
    """A fresh secp256k1 key per session, used for one signature and dropped."""

    def mint(self, parameters: dict[str, Any]) -> Attestation:
        """Generate a key, sign the parameters' hash (EIP-191), keep only the address and signature."""
        digest = parameters_hash(parameters)
        key = PrivateKey()  # 32 bytes from the OS's CSPRNG
        compact = key.sign_recoverable(keccak256(_PERSONAL_SIGN_PREFIX + digest), hasher=None)
        address = address_of(key.public_key)
        del key
        signature = compact[:64] + bytes([compact[64] + 27])
        return Attestation(
            address=address,
            parameters=parameters,
            parameters_hash="0x" + digest.hex(),
            signature="0x" + signature.hex(),
        )


def recover_signer(attestation: Attestation) -> str | None:
    """The address that signed this attestation's parameters, or None if it does not hold together."""
    digest = parameters_hash(attestation.parameters)
    if "0x" + digest.hex() != attestation.parameters_hash:
        return None
    try:
        raw = bytes.fromhex(attestation.signature.removeprefix("0x"))
        if len(raw) != 65 or raw[64] not in (27, 28):
            return None
        public_key = PublicKey.from_signature_and_message(
            raw[:64] + bytes([raw[64] - 27]), keccak256(_PERSONAL_SIGN_PREFIX + digest), hasher=None
        )
    except ValueError:
        return None
    return address_of(public_key)


def verify_attestation(attestation: Attestation) -> bool:
    """True when the attestation's signature recovers to its address over its own parameters."""
    return recover_signer(attestation) == attestation.address


def identity_provider() -> IdentityProvider:
    """The provider AGENT_SESSIONS_IDENTITY_PROVIDER names; `local` (the default) is built in."""
    from agent_sessions.infra.settings import load_settings

    load_settings()  # only "local" passes its validation (see the README)
    return LocalIdentityProvider()
