"""`intents create|list|get|confirm|capture|cancel`: payment intents (as `zendfi intents`)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode

from agent_sessions_cli.client import ApiError, Connection
from agent_sessions_cli.commands import amount, json_object, needs
from agent_sessions_cli.output import dollars, fields, relative, table
from agent_sessions_cli.prompts import add_required, confirmed


def create_intent(args: argparse.Namespace, api: Connection) -> Any:
    given = {
        "amount": args.amount,
        "description": args.description,
        "capture_method": args.capture,
        "agent_id": args.agent_id,
        "metadata": args.metadata,
        "expires_in_seconds": args.expires_in,
    }
    body = {name: value for name, value in given.items() if value is not None}
    return api.request("POST", "/api/v1/payment-intents", body, needs(api.api_key, "API key"))


def list_intents(args: argparse.Namespace, api: Connection) -> Any:
    given = {"status": args.status, "limit": args.limit, "offset": args.offset, "cursor": args.cursor}
    query = urlencode({name: value for name, value in given.items() if value is not None})
    return api.request("GET", f"/api/v1/payment-intents?{query}", None, needs(api.api_key, "API key"))


def get_intent(args: argparse.Namespace, api: Connection) -> Any:
    return api.request("GET", f"/api/v1/payment-intents/{args.intent_id}", None, needs(api.api_key, "API key"))


def confirm_intent(args: argparse.Namespace, api: Connection) -> Any:
    body = {"client_secret": args.client_secret, "customer_wallet": args.wallet}
    token = needs(args.token or api.session_token, "session token")
    path = f"/api/v1/payment-intents/{args.intent_id}/confirm"
    return api.request("POST", path, body, needs(api.api_key, "API key"), {"X-Session-Token": token})


def capture_intent(args: argparse.Namespace, api: Connection) -> Any:
    body = {"amount_to_capture": args.amount} if args.amount is not None else {}
    path = f"/api/v1/payment-intents/{args.intent_id}/capture"
    return api.request("POST", path, body, needs(api.api_key, "API key"))


def cancel_intent(args: argparse.Namespace, api: Connection) -> Any:
    if not confirmed(f"Cancel payment intent {args.intent_id}? A hold on it is released.", args):
        raise ApiError(0, "NOT_CONFIRMED", "nothing was canceled")
    path = f"/api/v1/payment-intents/{args.intent_id}/cancel"
    return api.request("POST", path, None, needs(api.api_key, "API key"))


def show_intent(intent: dict[str, Any]) -> None:
    fields(
        [
            ("Intent", intent["id"]),
            ("Status", intent["status"]),
            ("Amount", dollars(intent["amount"])),
            ("Captured", dollars(intent["amount_captured"])),
            ("Capture", intent["capture_method"]),
            ("Payment", intent["payment_id"]),
            ("Session", intent["session_id"]),
            ("Expires", relative(intent["expires_at"])),
        ]
    )
    if intent.get("client_secret"):
        print()
        print("Client secret (confirm with it):")
        print(intent["client_secret"])


def show_intents(answer: dict[str, Any]) -> None:
    intents = answer["intents"]
    if not intents:
        print("No payment intents.")
        return
    table(
        ["INTENT", "STATUS", "AMOUNT", "CAPTURE", "PAYMENT", "CREATED"],
        [[i["id"], i["status"], dollars(i["amount"]), i["capture_method"], i["payment_id"] or "-",
          relative(i["created_at"])] for i in intents],
    )  # fmt: skip
    if answer.get("next_cursor"):
        print(f"\nMore: --cursor {answer['next_cursor']}")


def add_intent_commands(tree: Any, make: Any, options: argparse.ArgumentParser) -> None:
    intents = tree.add_parser("intents", help="two-phase payments from a session", description="Payment intents.")
    intent_tree = intents.add_subparsers(dest="intents_command", required=True, metavar="COMMAND")
    create = make(intent_tree, "create", "create an intent; prints its client secret", create_intent, show_intent,
                  options)  # fmt: skip
    add_required(create, "--amount", type=amount, metavar="DOLLARS")
    create.add_argument("--description")
    create.add_argument("--capture", choices=["automatic", "manual"], help="manual: hold until captured")
    create.add_argument("--agent-id")
    create.add_argument("--metadata", type=json_object, metavar="JSON", help='e.g. {"merchant_id": "merchant_amazon"}')
    create.add_argument("--expires-in", type=int, metavar="SECONDS", help="default 86400")
    listing = make(intent_tree, "list", "list intents, newest first", list_intents, show_intents, options)
    listing.add_argument("--status", choices=["requires_payment", "processing", "succeeded", "canceled"])
    listing.add_argument("--limit", type=int)
    listing.add_argument("--offset", type=int)
    listing.add_argument("--cursor")
    get = make(intent_tree, "get", "show an intent", get_intent, show_intent, options)
    get.add_argument("intent_id", metavar="INTENT_ID")
    confirm = make(intent_tree, "confirm", "pay an intent from a session", confirm_intent, show_intent, options)
    confirm.add_argument("intent_id", metavar="INTENT_ID")
    add_required(confirm, "--client-secret")
    add_required(confirm, "--wallet", help="the customer's wallet")
    confirm.add_argument("--token", help="the paying session's token (else $AGENT_SESSIONS_SESSION_TOKEN)")
    capture = make(intent_tree, "capture", "spend a manual intent's hold", capture_intent, show_intent, options)
    capture.add_argument("intent_id", metavar="INTENT_ID")
    capture.add_argument("--amount", type=amount, metavar="DOLLARS", help="at most the hold (default: all of it)")
    cancel = make(intent_tree, "cancel", "cancel an intent, releasing a hold", cancel_intent, show_intent, options)
    cancel.add_argument("intent_id", metavar="INTENT_ID")
    cancel.add_argument("--yes", action="store_true", help="do not ask first (nothing is asked off a terminal)")
