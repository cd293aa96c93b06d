"""`agent keys create|list|revoke`: scoped, rate-limited keys for agents (as `zendfi agent keys`)."""

from __future__ import annotations

import argparse
from typing import Any

from agent_sessions_cli.client import ApiError, Connection
from agent_sessions_cli.commands import json_object, needs
from agent_sessions_cli.output import fields, relative, table
from agent_sessions_cli.prompts import add_required, confirmed

SCOPES = (
    "full", "read_only", "create_payments", "read_analytics", "create_subscriptions", "manage_escrow",
    "manage_installments", "sessions:read", "sessions:write", "payments:create", "payments:read",
    "payments:approve", "webhooks:read", "webhooks:write", "analytics:read",
)  # fmt: skip


def create_key(args: argparse.Namespace, api: Connection) -> Any:
    body: dict[str, Any] = {"name": args.name, "agent_id": args.agent_id}
    optional = {
        "agent_name": args.agent_name,
        "scopes": args.scope,
        "rate_limit_per_hour": args.rate_limit,
        "metadata": args.metadata,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return api.request("POST", "/api/v1/agent-keys", body, needs(api.api_key, "API key"))


def list_keys(args: argparse.Namespace, api: Connection) -> Any:
    return api.request("GET", "/api/v1/agent-keys", None, needs(api.api_key, "API key"))


def revoke_key(args: argparse.Namespace, api: Connection) -> Any:
    if not confirmed(f"Revoke agent key {args.key_id}? Its next request is refused.", args):
        raise ApiError(0, "NOT_CONFIRMED", "nothing was revoked")
    return api.request("POST", f"/api/v1/agent-keys/{args.key_id}/revoke", None, needs(api.api_key, "API key"))


def show_created_key(answer: dict[str, Any]) -> None:
    show_key(answer)
    print()
    print("The full key is shown this once; store it now:")
    print(answer["full_key"])


def show_key(key: dict[str, Any]) -> None:
    fields(
        [
            ("Key", key["id"]),
            ("Prefix", key["key_prefix"]),
            ("Name", key["name"]),
            ("Agent", key["agent_id"]),
            ("Scopes", ", ".join(key["scopes"])),
            ("Per hour", str(key["rate_limit_per_hour"])),
            ("Status", "active" if key["is_active"] else f"revoked {relative(key['revoked_at'])}"),
            ("Created", relative(key["created_at"])),
        ]
    )


def show_keys(answer: dict[str, Any]) -> None:
    keys = answer["keys"]
    if not keys:
        print("No agent keys.")
        return
    table(
        ["KEY", "NAME", "AGENT", "SCOPES", "PER HOUR", "STATUS"],
        [
            [k["id"], k["name"], k["agent_id"], ",".join(k["scopes"]), str(k["rate_limit_per_hour"]),
             "active" if k["is_active"] else "revoked"]
            for k in keys
        ],
    )  # fmt: skip


def show_revoked_key(answer: dict[str, Any]) -> None:
    print(f"Revoked {answer['key']['id']}: its next request is refused.")


def add_key_commands(agent_tree: Any, make: Any, options: argparse.ArgumentParser) -> None:
    """`agent keys create|list|revoke` (the account's API key manages them)."""
    keys = agent_tree.add_parser("keys", help="scoped agent keys (API key)", description="Agent keys.")
    key_tree = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = make(key_tree, "create", "create an agent key; prints it once", create_key, show_created_key, options)
    add_required(create, "--name")
    add_required(create, "--agent-id")
    create.add_argument("--agent-name")
    create.add_argument("--scope", action="append", choices=SCOPES, help="repeat for each (default create_payments)")
    create.add_argument("--rate-limit", type=int, metavar="PER_HOUR", help="requests an hour (default 1000)")
    create.add_argument("--metadata", type=json_object, metavar="JSON")
    make(key_tree, "list", "list the account's agent keys", list_keys, show_keys, options)
    revoke = make(key_tree, "revoke", "revoke an agent key at once", revoke_key, show_revoked_key, options)
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.add_argument("--yes", action="store_true", help="do not ask first (nothing is asked off a terminal)")
