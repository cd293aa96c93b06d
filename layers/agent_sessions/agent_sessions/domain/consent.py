"""Consent-bound sessions: the exact message the wallet's owner signs, and what a wallet looks like.

The message is plain text a wallet can show a person: who the agent is, which wallet, every
limit, the merchants and the expiry, then the SHA-256 and keccak-256 of the RFC 8785 canonical
parameters it stands for (the same parameters the attestation covers). Signing it is the owner's
consent to exactly those terms; a change of any of them changes the hashes, so an old signature
cannot be carried over.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from agent_sessions.domain.money import cents_to_dollars
from agent_sessions.domain.records import LIMIT_NAMES, SessionRecord

WalletKind = Literal["ethereum", "solana"]
_ETHEREUM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")


def wallet_kind(user_wallet: str) -> WalletKind | None:
    """`ethereum` for a 0x address, `solana` for a base58 key of 32 bytes' length; None for anything else."""
    if _ETHEREUM_ADDRESS.fullmatch(user_wallet):
        return "ethereum"
    if _BASE58.fullmatch(user_wallet):
        return "solana"
    return None


@dataclass(frozen=True)
class ConsentRequest:
    """What GET …/consent answers: the message to sign and the parameters it stands for."""

    message: str
    parameters: dict[str, Any]
    parameters_sha256: str
    parameters_keccak256: str
    wallet_kind: WalletKind | None


def consent_request(session: SessionRecord, keccak256: Any) -> ConsentRequest:
    """The consent message for `session` as it stands (`keccak256`: bytes -> bytes, from infra)."""
    parameters = session.current_parameters()
    message, sha, keccak = consent_message(parameters, keccak256)
    return ConsentRequest(
        message=message,
        parameters=parameters,
        parameters_sha256=sha,
        parameters_keccak256=keccak,
        wallet_kind=wallet_kind(session.user_wallet),
    )


def consent_message(parameters: dict[str, Any], keccak256: Any) -> tuple[str, str, str]:
    """The message for a session's parameters, and their sha256 and keccak-256 (0x-hex).

    Built from the parameters alone, so anyone holding them (the attestation, an exported log) can
    rebuild the exact text the owner signed and check the signature offline.
    """
    import rfc8785

    canonical = rfc8785.dumps(parameters)
    sha = "0x" + hashlib.sha256(canonical).hexdigest()
    keccak = "0x" + keccak256(canonical).hex()
    limits = parameters["limits"]
    velocity = parameters.get("velocity", {})
    merchants = parameters["allowed_merchants"]
    lines = [
        "agent-sessions: consent to a spending session",
        "",
        f"Agent {parameters['agent_id']}",
        f"may spend from wallet {parameters['user_wallet']}",
        "within these limits:",
        *(f"  {name}: ${cents_to_dollars(limits[name]):,.2f}" for name in LIMIT_NAMES),
        *(f"  payments {name.replace('_', ' ')}: {count}" for name, count in sorted(velocity.items())),
        f"paying: {', '.join(merchants) if merchants is not None else 'any merchant'}",
        f"from {parameters['created_at']} until {parameters['expires_at']}.",
        "",
        f"Session: {parameters['id']}",
        f"Parameters (RFC 8785) sha256: {sha}",
        f"Parameters (RFC 8785) keccak256: {keccak}",
    ]
    return "\n".join(lines), sha, keccak


def loosens(before: SessionRecord, after: SessionRecord) -> bool:
    """Whether `after` allows anything `before` did not: a higher limit, a faster or lifted count,
    a merchant added or the list lifted, or a later expiry."""
    higher = any(after.limits_cents[name] > before.limits_cents[name] for name in LIMIT_NAMES)
    counts = any(after.velocity.get(name, 10**12) > count for name, count in before.velocity.items())
    merchants = before.allowed_merchants is not None and (
        after.allowed_merchants is None or not set(after.allowed_merchants) <= set(before.allowed_merchants)
    )
    return higher or counts or merchants or after.expires_at > before.expires_at
