"""The client commands: sessions, payments, webhooks and login, over HTTP against any deployment."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from agent_sessions_cli.client import NOT_THE_API, ApiError, Connection, encode_json, write_config
from agent_sessions_cli.output import dollars, fields, relative, shown, spinner, table
from agent_sessions_cli.prompts import confirmed, fill_required

Command = Callable[[argparse.Namespace, Connection], Any]

# What reading JSON of another shape than expected raises: a field missing or of another type.
ANOTHER_SHAPE = (KeyError, TypeError, AttributeError, IndexError, ValueError)


# A number as JSON writes one, in ASCII digits (`29.99`, `5`, `1e2`; also `.5` and `5.`).
_AMOUNT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def amount(text: str) -> Decimal:
    """An argparse type: a dollar amount, exact (`29.99`).

    Only ASCII digits: Decimal() also reads twelve written in Arabic-Indic or fullwidth digits as 12,
    `1_000` as 1000 and padded text, and money must never be read from anything but a plain number.
    """
    if not _AMOUNT.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in dollars")
    try:
        return Decimal(text)
    except InvalidOperation:  # an exponent past what Decimal holds
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in dollars") from None


def json_object(text: str) -> dict[str, Any]:
    """An argparse type: a JSON object (`--metadata '{"team": "checkout"}'`)."""
    try:
        value = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise argparse.ArgumentTypeError("is not valid JSON") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def needs(value: str | None, what: str) -> str:
    if not value:
        raise ApiError(0, "NO_CREDENTIAL", f"no {what}: {_CREDENTIAL_HINTS[what]}")
    return value


_CREDENTIAL_HINTS = {
    "API key": "pass --api-key, set AGENT_SESSIONS_API_KEY, or run `agent-sessions login`",
    "session token": "pass --token or set AGENT_SESSIONS_SESSION_TOKEN",
}


# ---- sessions ---------------------------------------------------------------------------------


def create_session(args: argparse.Namespace, api: Connection) -> Any:
    from agent_sessions_cli.limit_commands import limit_fields  # it imports this module

    body: dict[str, Any] = {"agent_id": args.agent_id, "user_wallet": args.wallet, "duration_hours": args.duration}
    body.update(limit_fields(args))
    if args.allowed_merchant:
        body["allowed_merchants"] = args.allowed_merchant
    if args.mint_pkp:
        body["mint_pkp"] = True
    if args.agent_name:
        body["agent_name"] = args.agent_name
    if args.metadata is not None:
        body["metadata"] = args.metadata
    return api.request("POST", "/api/v1/ai/sessions", body, needs(api.api_key, "API key"))


def list_sessions(args: argparse.Namespace, api: Connection) -> Any:
    query = {"status": args.status, "limit": args.limit}
    if args.agent_id:
        query["agent_id"] = args.agent_id
    if args.wallet:
        query["user_wallet"] = args.wallet
    if args.cursor:
        query["cursor"] = args.cursor
    return api.request("GET", f"/api/v1/ai/sessions?{urlencode(query)}", None, needs(api.api_key, "API key"))


def get_session(args: argparse.Namespace, api: Connection) -> Any:
    credential = api.session_token if args.token else api.api_key
    return api.request("GET", f"/api/v1/ai/sessions/{args.session_id}", None, needs(credential, _who(args)))


def verify_session(args: argparse.Namespace, api: Connection) -> Any:
    """Fetch a session's attestation and check it here: the signature must recover to its address."""
    try:
        from agent_sessions.infra.identity import Attestation, recover_signer
    except ImportError:
        raise ApiError(
            0, "UNAVAILABLE", "verify needs the secp256k1 code: pip install -e layers/agent_sessions"
        ) from None

    credential = api.session_token if args.token else api.api_key
    path = f"/api/v1/ai/sessions/{args.session_id}/attestation"
    answer = api.request("GET", path, None, needs(credential, _who(args)))
    if answer.get("address") is None:
        raise ApiError(0, "NO_IDENTITY", "this session was created without mint_pkp: no identity signed its parameters")
    attestation = Attestation(
        address=str(answer["address"]),
        parameters=dict(answer["parameters"]),
        parameters_hash=str(answer["parameters_hash"]),
        signature=str(answer["signature"]),
    )
    signer = recover_signer(attestation)
    if signer != attestation.address or attestation.parameters.get("id") != args.session_id:
        raise ApiError(0, "ATTESTATION_INVALID", f"the signature does not recover to {attestation.address}")
    return {**answer, "verified": True}


def revoke_session(args: argparse.Namespace, api: Connection) -> Any:
    if not confirmed(f"Revoke session {args.session_id}? It stops paying at once.", args):
        raise ApiError(0, "NOT_CONFIRMED", "nothing was revoked")
    path = f"/api/v1/ai/sessions/{args.session_id}/revoke"
    return api.request("POST", path, None, needs(api.api_key, "API key"))


def list_session_payments(args: argparse.Namespace, api: Connection) -> Any:
    query = {"limit": args.limit, **({"cursor": args.cursor} if args.cursor else {})}
    path = f"/api/v1/ai/sessions/{args.session_id}/payments?{urlencode(query)}"
    return api.request("GET", path, None, needs(api.api_key, "API key"))


def _who(args: argparse.Namespace) -> str:
    return "session token" if getattr(args, "token", None) else "API key"


# ---- payments ---------------------------------------------------------------------------------


def create_payment(args: argparse.Namespace, api: Connection) -> Any:
    body: dict[str, Any] = {"amount": args.amount, "currency": args.currency}
    for name in ("merchant_id", "description"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    if args.metadata is not None:
        body["metadata"] = args.metadata
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    return api.request("POST", "/api/v1/payments", body, needs(api.session_token, "session token"), headers)


def get_payment(args: argparse.Namespace, api: Connection) -> Any:
    credential = api.session_token if args.token else api.api_key
    return api.request("GET", f"/api/v1/payments/{args.payment_id}", None, needs(credential, _who(args)))


def decide_payment(verb: str) -> Command:
    def decide(args: argparse.Namespace, api: Connection) -> Any:
        path = f"/api/v1/payments/{args.payment_id}/{verb}"
        return api.request("POST", path, None, needs(api.api_key, "API key"))

    return decide


# ---- webhooks ---------------------------------------------------------------------------------


def add_webhook(args: argparse.Namespace, api: Connection) -> Any:
    body: dict[str, Any] = {"url": args.url_to_call}
    if args.event:
        body["events"] = args.event
    return api.request("POST", "/api/v1/webhooks", body, needs(api.api_key, "API key"))


def list_webhooks(args: argparse.Namespace, api: Connection) -> Any:
    return api.request("GET", "/api/v1/webhooks", None, needs(api.api_key, "API key"))


def remove_webhook(args: argparse.Namespace, api: Connection) -> Any:
    return api.request("DELETE", f"/api/v1/webhooks/{args.webhook_id}", None, needs(api.api_key, "API key"))


# ---- login ------------------------------------------------------------------------------------


def login(args: argparse.Namespace, api: Connection) -> Any:
    key = args.api_key or (getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.readline().strip())
    checked = Connection(api_url=api.api_url, api_key=key or None)
    if key:
        checked.request("GET", "/api/v1/ai/sessions?limit=1", None, key)  # proves the key works here
    path = write_config(checked.api_url, checked.api_key)
    return {"api_url": checked.api_url, "config": str(path), "api_key_saved": bool(key)}


# ---- human output -----------------------------------------------------------------------------


def show_session(session: dict[str, Any]) -> None:
    limits = session["limits"]
    fields(
        [
            ("Session", session["id"]),
            ("Agent", session["agent_id"] + (f" ({session['agent_name']})" if session.get("agent_name") else "")),
            ("Wallet", session["user_wallet"]),
            ("Status", session["status"]),
            ("Expires", f"{relative(session['expires_at'])} ({session['expires_at']})"),
            ("Per transaction", dollars(limits["max_per_transaction"])),
            ("Approval above", dollars(limits["require_approval_above"])),
            ("Max payments", _velocity(session)),
            ("Merchants", ", ".join(session["allowed_merchants"]) if session.get("allowed_merchants") else "any"),
            ("PKP address", session.get("pkp_address")),
        ]
    )
    if session.get("revoked_at"):
        fields([("Revoked", f"{relative(session['revoked_at'])} ({session['revoked_at']})")])
    print()
    windows = session["windows"]
    table(
        ["WINDOW", "LIMIT", "SPENT", "HELD", "REMAINING", "RESETS"],
        [
            [
                kind,
                dollars(windows[kind]["limit"]),
                dollars(windows[kind]["spent"]),
                dollars(windows[kind]["held"]),
                dollars(windows[kind]["remaining"]),
                relative(windows[kind]["resets_at"]),
            ]
            for kind in ("day", "week", "month")
        ],
    )
    if session.get("session_token"):
        print(f"\nSession token (shown once, give it to the agent):\n{session['session_token']}")


def _velocity(session: dict[str, Any]) -> str | None:
    """`10/minute, 100/hour, 500/day`, or None without velocity limits."""
    rates = session.get("rate_limits", {}).get("payments", {})
    counts = [(rates.get("per_minute"), "minute"), (rates.get("per_hour"), "hour")]
    counts.append((session["limits"].get("max_payments_per_day"), "day"))
    shown = [f"{n}/{span}" for n, span in counts if n is not None]
    return ", ".join(shown) if shown else None


def show_sessions(page: dict[str, Any]) -> None:
    sessions = page["sessions"]
    if not sessions:
        print("No sessions.")
    else:
        table(
            ["ID", "AGENT", "WALLET", "STATUS", "LEFT TODAY", "EXPIRES"],
            [
                [
                    s["id"],
                    s["agent_id"],
                    s["user_wallet"],
                    s["status"],
                    dollars(s["remaining_today"]),
                    relative(s["expires_at"]),
                ]
                for s in sessions
            ],
        )
    if page.get("next_cursor"):
        print(f"\nMore: --cursor {page['next_cursor']}")


def show_payment(payment: dict[str, Any]) -> None:
    fields(
        [
            ("Payment", payment["id"]),
            ("Session", payment["session_id"]),
            ("Amount", f"{dollars(payment['amount'])} {payment['currency']}"),
            ("Merchant", payment.get("merchant_id")),
            ("Description", payment.get("description")),
            ("Status", payment["status"]),
            ("Created", f"{relative(payment['created_at'])} ({payment['created_at']})"),
            ("Decided", payment.get("decided_at")),
            ("Approve by", relative(payment["approval_expires_at"]) if payment.get("approval_expires_at") else None),
            ("Left today", dollars(payment["remaining_today"])),
            ("Left this week", dollars(payment["remaining_this_week"])),
            ("Left this month", dollars(payment["remaining_this_month"])),
        ]
    )


def show_payments(page: dict[str, Any]) -> None:
    payments = page["payments"]
    if not payments:
        print("No payments.")
    else:
        table(
            ["ID", "AMOUNT", "MERCHANT", "STATUS", "CREATED"],
            [
                [p["id"], dollars(p["amount"]), p.get("merchant_id") or "-", p["status"], relative(p["created_at"])]
                for p in payments
            ],
        )
    if page.get("next_cursor"):
        print(f"\nMore: --cursor {page['next_cursor']}")


def show_webhook(webhook: dict[str, Any]) -> None:
    fields([("Webhook", webhook["id"]), ("URL", webhook["url"]), ("Events", ", ".join(webhook.get("events") or []))])
    if webhook.get("secret"):
        print(f"\nSigning secret (shown once):\n{webhook['secret']}")


def show_webhooks(answer: Any) -> None:
    webhooks = answer.get("webhooks", []) if isinstance(answer, dict) else answer
    if not webhooks:
        print("No webhooks.")
        return
    table(["ID", "URL", "EVENTS"], [[w["id"], w["url"], ", ".join(w.get("events") or [])] for w in webhooks])


def show_verified(answer: dict[str, Any]) -> None:
    parameters = answer["parameters"]
    print(f"Verified: {answer['address']} signed this session's parameters.")
    fields(
        [
            ("Session", parameters["id"]),
            ("Agent", parameters["agent_id"]),
            ("Wallet", parameters["user_wallet"]),
            ("Expires", parameters["expires_at"]),
            ("Parameters hash", answer["parameters_hash"]),
        ]
    )


def show_revoked(answer: dict[str, Any]) -> None:
    session = answer["session"]
    print(f"Revoked {session['id']} (status {session['status']}).")


def show_removed(answer: Any) -> None:
    print("Removed.")


def show_login(answer: dict[str, Any]) -> None:
    saved = "URL and API key" if answer["api_key_saved"] else "URL"
    print(f"Saved the {saved} for {answer['api_url']} in {answer['config']}.")


def show_error(error: ApiError, as_json: bool) -> None:
    """The contract's code and message (and details) on stderr; the error body on stdout with --json."""
    if as_json:
        print(encode_json({"error": {"code": error.code, "message": error.message, "details": error.details}}))
        return
    print(f"error: {shown(error.code)}: {shown(error.message)}", file=sys.stderr)
    for name, value in error.details.items():
        if name == "fields" and isinstance(value, dict):
            for field_name, problem in value.items():  # a field's name can be one the request sent
                print(f"  {shown(field_name)}: {shown(problem)}", file=sys.stderr)
        else:
            money = error.code == "LIMIT_EXCEEDED" and name in {"limit_amount", "remaining", "attempted"}
            print(f"  {shown(name)}: {dollars(value) if money else shown(value)}", file=sys.stderr)


def run_client(
    command: Command, show: Callable[[Any], None], args: argparse.Namespace, parser: argparse.ArgumentParser
) -> int:
    """Run one client command (its required flags asked for first): 0 with its output, 1 with the API's error."""
    fill_required(args, parser)
    api = Connection.resolve(args.url, args.api_key, getattr(args, "token", None))
    try:
        with spinner("waiting for the API…"):
            answer = command(args, api)
        if args.json:
            print(encode_json(answer))
        else:
            show(answer)
    except ApiError as error:
        show_error(error, args.json)
        return 1
    except ANOTHER_SHAPE as unexpected:
        if os.environ.get("AGENT_SESSIONS_DEBUG") == "1":
            raise
        # JSON of another shape than this API's: a field missing or of another type
        show_error(ApiError(0, "NOT_THE_API", f"{NOT_THE_API} ({api.api_url}: {unexpected!r})"), args.json)
        return 1
    return 1 if isinstance(answer, dict) and answer.get("ok") is False else 0  # a verification that failed
