"""The commands for limits beyond amounts: velocity flags, `agent sessions update`, `payments check`."""

from __future__ import annotations

import argparse
from typing import Any

from agent_sessions_cli.client import Connection
from agent_sessions_cli.commands import amount, needs
from agent_sessions_cli.output import dollars, fields

AMOUNT_LIMITS = ("max_per_transaction", "max_per_day", "max_per_week", "max_per_month", "require_approval_above")


def count(text: str) -> int:
    """An argparse type: a count of payments, at least 1."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:  # `٣` is a digit to str.isdigit
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of payments (1 or more)")
    return int(text)


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """--max-per-day and the other amounts, and the velocity limits, as create and update take them."""
    for limit in AMOUNT_LIMITS:
        parser.add_argument(f"--{limit.replace('_', '-')}", type=amount, metavar="DOLLARS")
    parser.add_argument("--max-payments-per-day", type=count, metavar="N", help="at most N payments a day")
    parser.add_argument("--per-minute", type=count, metavar="N", help="at most N payments a minute")
    parser.add_argument("--per-hour", type=count, metavar="N", help="at most N payments an hour")


def limit_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The body's `limits` and `rate_limits` from the flags given (none given: nothing)."""
    limits: dict[str, Any] = {name: getattr(args, name) for name in AMOUNT_LIMITS if getattr(args, name) is not None}
    if args.max_payments_per_day is not None:
        limits["max_payments_per_day"] = args.max_payments_per_day
    rates = {name: getattr(args, name) for name in ("per_minute", "per_hour") if getattr(args, name) is not None}
    body: dict[str, Any] = {}
    if limits:
        body["limits"] = limits
    if rates:
        body["rate_limits"] = {"payments": rates}
    return body


def update_session(args: argparse.Namespace, api: Connection) -> Any:
    """PATCH the session with If-Match: the --version given, else the version read just before."""
    key = needs(api.api_key, "API key")
    path = f"/api/v1/ai/sessions/{args.session_id}"
    body = limit_fields(args)
    if args.any_merchant:
        body["allowed_merchants"] = None
    elif args.allowed_merchant:
        body["allowed_merchants"] = args.allowed_merchant
    if args.expires_at:
        body["expires_at"] = args.expires_at
    version = args.version if args.version is not None else api.request("GET", path, None, key)["version"]
    return api.request("PATCH", path, body, key, {"If-Match": f'"{version}"'})


def check_payment(args: argparse.Namespace, api: Connection) -> Any:
    body: dict[str, Any] = {"amount": args.amount, "currency": args.currency}
    if args.merchant_id is not None:
        body["merchant_id"] = args.merchant_id
    return api.request("POST", "/api/v1/payments/check", body, needs(api.session_token, "session token"))


def show_check(answer: dict[str, Any]) -> None:
    left = answer["remaining_after"]
    fields(
        [
            ("Would", answer["would"].replace("_", " ")),
            ("Rule", answer.get("rule")),
            ("Why", answer.get("message")),
            ("Resets", answer.get("resets_at")),
            ("Left today after", dollars(left["remaining_today"])),
            ("Left this week after", dollars(left["remaining_this_week"])),
            ("Left this month after", dollars(left["remaining_this_month"])),
        ]
    )
