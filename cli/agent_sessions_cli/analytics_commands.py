"""Account-wide views: `agent analytics` (payments per day) and `payments list` (every session's payments)."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode

from agent_sessions_cli.client import Connection
from agent_sessions_cli.commands import needs
from agent_sessions_cli.output import dollars, fields, table


def get_analytics(args: argparse.Namespace, api: Connection) -> Any:
    query = {
        name: value for name, value in (("agent_id", args.agent_id), ("from", args.start), ("to", args.end)) if value
    }
    path = "/api/v1/analytics/agents" + (f"?{urlencode(query)}" if query else "")
    return api.request("GET", path, None, needs(api.api_key, "API key"))


def show_analytics(answer: dict[str, Any]) -> None:
    fields(
        [
            ("Payments", str(answer["total_payments"])),
            ("Volume", dollars(answer["total_volume_usd"])),
            ("Average", dollars(answer["average_payment_usd"])),
            ("Success rate", f"{float(answer['success_rate']) * 100:.1f} %"),
            ("Live sessions", str(answer["active_sessions"])),
            ("Live agents", str(answer["active_delegates"])),
        ]
    )
    days = [day for day in answer["payments_by_day"] if day["count"]]
    if days:
        print()
        table(
            ["DAY", "PAYMENTS", "VOLUME"],
            [[day["date"], str(day["count"]), dollars(day["volume_usd"])] for day in days],
        )


def add_analytics_command(agent_tree: Any, make: Any, options: argparse.ArgumentParser) -> None:
    """`agent analytics [--agent-id] [--from] [--to]` (as `zendfi agent analytics`)."""
    command = make(
        agent_tree, "analytics", "payments per day, volume, success rate", get_analytics, show_analytics, options
    )
    command.add_argument("--agent-id")
    command.add_argument("--from", dest="start", metavar="DAY", help="first day, 2026-11-01 (default: 30 days ago)")
    command.add_argument("--to", dest="end", metavar="DAY", help="last day (default: today)")


def list_account_payments(args: argparse.Namespace, api: Connection) -> Any:
    given = {
        "session_id": args.session_id,
        "agent_id": args.agent_id,
        "status": args.status,
        "from": args.start,
        "to": args.end,
        "limit": args.limit,
        "cursor": args.cursor,
    }
    query = {name: value for name, value in given.items() if value is not None}
    return api.request("GET", f"/api/v1/payments?{urlencode(query)}", None, needs(api.api_key, "API key"))


def add_payments_list_command(payment_tree: Any, make: Any, show: Any, options: argparse.ArgumentParser) -> None:
    """`payments list`: the account's payments across its sessions, newest first."""
    command = make(payment_tree, "list", "the account's payments, newest first", list_account_payments, show, options)
    command.add_argument("--session-id")
    command.add_argument("--agent-id")
    command.add_argument("--status", choices=["authorized", "pending_approval", "rejected", "expired"])
    command.add_argument("--from", dest="start", metavar="DAY")
    command.add_argument("--to", dest="end", metavar="DAY")
    command.add_argument("--limit", type=int, default=50)
    command.add_argument("--cursor")
