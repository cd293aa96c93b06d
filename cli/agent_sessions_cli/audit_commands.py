"""`agent sessions audit export|verify`: a session's decision log, and its check (online or from a file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agent_sessions_cli.client import ApiError, Connection, parse_json_lines
from agent_sessions_cli.commands import ANOTHER_SHAPE, needs
from agent_sessions_cli.output import shown


def _lines_from_api(args: argparse.Namespace, api: Connection) -> list[Any]:
    credential = api.session_token if args.token else api.api_key
    who = "session token" if args.token else "API key"
    return list(api.request("GET", f"/api/v1/ai/sessions/{args.session_id}/audit", None, needs(credential, who)))


def export_audit(args: argparse.Namespace, api: Connection) -> Any:
    return _lines_from_api(args, api)


def show_export(lines: list[Any]) -> None:
    for line in lines:
        print(json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


# What checking a file of another shape than an export raises: JSON of another shape, an amount
# past what Decimal holds, nesting past what Python recurses through.
_NOT_AN_EXPORT = (*ANOTHER_SHAPE, ArithmeticError, RecursionError)


def verify_audit(args: argparse.Namespace, api: Connection) -> Any:
    """Recompute the chain, check its start against the attestation, replay the limits."""
    try:
        from agent_sessions.logic.decision_log import verify_export
    except ImportError:
        raise ApiError(
            0, "NEEDS_CORE", "verifying needs the agent-sessions-core package (make run installs it)"
        ) from None
    if not args.file:
        lines = _lines_from_api(args, api)
        verdict, counters = verify_export(lines)  # an answer of another shape: NOT_THE_API (run_client)
    else:
        try:
            lines = parse_json_lines(Path(args.file).read_bytes())
        except (OSError, ValueError, RecursionError) as failure:
            reason = "nested too deeply" if isinstance(failure, RecursionError) else str(failure)
            raise ApiError(0, "INVALID_INPUT", f"cannot read {args.file}: {reason}") from None
        try:
            verdict, counters = verify_export(lines)
        except _NOT_AN_EXPORT as failure:
            raise ApiError(0, "INVALID_INPUT", f"{args.file} is not an audit export: {failure!r}") from None
    return {
        "ok": verdict.ok,
        "entries": sum(1 for line in lines if "seq" in line),
        "checks": verdict.checks,
        "problems": verdict.problems,
        "counters": counters,
    }


_CHECKS = {
    "attestation": "the attestation line hashes to its parameters_hash",
    "start": "the chain starts at the attestation's parameters",
    "consent": "the wallet owner's consent signature is over those parameters",
    "chain": "every entry follows the one before, unedited",
    "limits": "every payment fit every window and max_per_transaction when it was made",
    "holds": "every hold ended once",
    "after_end": "no payment after the session ended",
    "windows": "each entry's windows are what the replay holds",
    "anchor": "the anchored head (once the session ended) is the log's last entry",
}


def show_verdict(answer: dict[str, Any]) -> None:
    for check, meaning in _CHECKS.items():
        if check not in answer["checks"]:
            continue  # no anchor before the session ends
        passed = answer["checks"][check]
        print(f"{'ok    ' if passed else 'BROKEN'}  {check:<11} {meaning}")
    for problem in answer["problems"]:
        print(f"  - {shown(problem)}")
    print(f"\n{answer['entries']} entries: " + ("verified." if answer["ok"] else "NOT verified."))
