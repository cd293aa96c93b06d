"""Anchoring a finished decision log: the seam for a signature by someone other than us.

When a session has ended, the head of its log (`{session_id, seq, head}` as RFC 8785
JSON: the *statement*) is what an external anchor would sign: a Lit PKP, a transaction on a chain,
an entry in a transparency log. The session's own identity cannot sign it: its key is dropped the
moment it signs the attestation, by design. So the statement is signed by the anchor, and proves
that this head existed no later than the anchor's time, which is what makes rewriting the log
afterwards detectable by anyone holding the receipt.

`LocalAnchor`, the one built in, signs nothing: its receipt is the statement with `proof: null`,
kept beside the log and exported as its last line. `AGENT_SESSIONS_ANCHOR` selects another
implementation once one is written; none other ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from agent_sessions.domain.decision_log import canonical


@dataclass(frozen=True)
class AnchorReceipt:
    """What an anchor returns for a statement: who anchored it and its proof (None: nothing signed)."""

    statement: dict[str, Any]
    anchor: str
    proof: str | None

    def line(self) -> dict[str, Any]:
        """The receipt as the export's last line."""
        return {"kind": "anchor", "statement": self.statement, "anchor": self.anchor, "proof": self.proof}


class LogAnchor(Protocol):
    """Signs (or records) the statement that a session's log ended at a head."""

    def anchor(self, statement: dict[str, Any]) -> AnchorReceipt:
        """A receipt for `statement` (its canonical bytes are what is signed)."""


class LocalAnchor:
    """The built-in anchor: records the statement; nothing external signs it (proof is null)."""

    name = "local"

    def anchor(self, statement: dict[str, Any]) -> AnchorReceipt:
        canonical(statement)  # what an external anchor would sign: the statement's RFC 8785 bytes
        return AnchorReceipt(statement=statement, anchor=self.name, proof=None)


def statement(session_id: str, seq: int, head: str) -> dict[str, Any]:
    """What is anchored: this session's log, after it ended, reached `seq` with hash `head`."""
    return {"session_id": session_id, "seq": seq, "head": head}
