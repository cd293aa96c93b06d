"""`agent-sessions`: the API client's commands (and, when installed, the local runtime's)."""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal
from typing import Any


def _client_options() -> argparse.ArgumentParser:
    """Options every client command takes (after the command: `… sessions list --json`)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument(
        "--url", help="API base URL, /api/v1 or not (else $AGENT_SESSIONS_API_URL, $ZENDFI_API_URL, the login config)"
    )
    group.add_argument("--api-key", help="API key (else $AGENT_SESSIONS_API_KEY, $ZENDFI_API_KEY, the login config)")
    group.add_argument("--json", action="store_true", help="print the API's JSON answer, for scripts")
    return options


def _client_command(
    parent: Any, name: str, help_text: str, command: Any, show: Any, options: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    from agent_sessions_cli.commands import run_client

    parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text, parents=[options])
    parser.set_defaults(run=lambda args: run_client(command, show, args, parser))
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The command tree."""
    from agent_sessions_cli import audit_commands as a
    from agent_sessions_cli import commands as c
    from agent_sessions_cli import limit_commands as limits
    from agent_sessions_cli.analytics_commands import add_analytics_command, add_payments_list_command
    from agent_sessions_cli.intent_commands import add_intent_commands
    from agent_sessions_cli.key_commands import add_key_commands
    from agent_sessions_cli.limit_commands import add_limit_flags
    from agent_sessions_cli.prompts import add_required

    parser = argparse.ArgumentParser(prog="agent-sessions", description="Spending sessions for AI agents.")
    tree = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    options = _client_options()

    agent = tree.add_parser("agent", help="agent sessions (API key)", description="Agent sessions.")
    agent_tree = agent.add_subparsers(dest="agent_command", required=True, metavar="COMMAND")
    add_analytics_command(agent_tree, _client_command, options)
    add_key_commands(agent_tree, _client_command, options)
    sessions = agent_tree.add_parser("sessions", help="create, list, read and revoke sessions", description="Sessions.")
    session_tree = sessions.add_subparsers(dest="sessions_command", required=True, metavar="COMMAND")

    create = _client_command(
        session_tree, "create", "create a session; prints its token once", c.create_session, c.show_session, options
    )
    add_required(create, "--agent-id")
    add_required(create, "--wallet", help="the user's wallet (user_wallet)")
    create.add_argument("--duration", type=c.amount, default=Decimal(24), help="hours, up to 168 (default 24)")
    add_limit_flags(create)
    create.add_argument("--allowed-merchant", action="append", metavar="MERCHANT", help="repeat for each merchant")
    create.add_argument("--mint-pkp", action="store_true", help="give the session its own signed identity")
    create.add_argument("--agent-name")
    create.add_argument("--metadata", type=c.json_object, metavar="JSON")

    listing = _client_command(
        session_tree, "list", "list sessions, newest first", c.list_sessions, c.show_sessions, options
    )
    listing.add_argument("--status", choices=["active", "all"], default="all")
    listing.add_argument("--agent-id")
    listing.add_argument("--wallet")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--cursor")

    get = _client_command(session_tree, "get", "show a session and its windows", c.get_session, c.show_session, options)
    get.add_argument("session_id", metavar="SESSION_ID")
    get.add_argument("--token", help="read with this session token instead of the API key")

    verify = _client_command(
        session_tree,
        "verify",
        "check a session's signed identity (mint_pkp)",
        c.verify_session,
        c.show_verified,
        options,
    )
    verify.add_argument("session_id", metavar="SESSION_ID")
    verify.add_argument("--token", help="read with this session token instead of the API key")

    update = _client_command(
        session_tree,
        "update",
        "change a live session's limits, merchants or expiry (lowering binds at once)",
        limits.update_session,
        c.show_session,
        options,
    )
    update.add_argument("session_id", metavar="SESSION_ID")
    add_limit_flags(update)
    merchants = update.add_mutually_exclusive_group()
    merchants.add_argument("--allowed-merchant", action="append", metavar="MERCHANT", help="the new list (repeat)")
    merchants.add_argument("--any-merchant", action="store_true", help="lift the merchant list")
    update.add_argument("--expires-at", metavar="TIME", help="e.g. 2026-11-24T10:00:00Z (at most 168 h after creation)")
    update.add_argument("--version", type=int, help="the version it applies to (If-Match); else the one read now")

    audit = session_tree.add_parser(
        "audit", help="a session's decision log: export it, verify it", description="Audit."
    )
    audit_tree = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    exported = _client_command(
        audit_tree, "export", "print the decision log (JSON Lines)", a.export_audit, a.show_export, options
    )
    verified = _client_command(
        audit_tree, "verify", "recompute the chain and replay the limits (exit 1 if broken)", a.verify_audit,
        a.show_verdict, options,
    )  # fmt: skip
    for command in (exported, verified):
        command.add_argument("session_id", metavar="SESSION_ID")
        command.add_argument("--token", help="read with this session token instead of the API key")
    verified.add_argument("--file", help="verify an exported log offline instead of asking the API")

    revoke = _client_command(session_tree, "revoke", "end a session at once", c.revoke_session, c.show_revoked, options)
    revoke.add_argument("session_id", metavar="SESSION_ID")
    revoke.add_argument("--yes", action="store_true", help="do not ask first (nothing is asked off a terminal)")

    session_payments = _client_command(
        session_tree,
        "payments",
        "list a session's payments, newest first",
        c.list_session_payments,
        c.show_payments,
        options,
    )
    session_payments.add_argument("session_id", metavar="SESSION_ID")
    session_payments.add_argument("--limit", type=int, default=50)
    session_payments.add_argument("--cursor")

    payments = tree.add_parser("payments", help="pay (session token), read, approve, reject", description="Payments.")
    payment_tree = payments.add_subparsers(dest="payments_command", required=True, metavar="COMMAND")
    pay = _client_command(payment_tree, "create", "pay with a session token", c.create_payment, c.show_payment, options)
    pay.add_argument("--token", help="the session token (else $AGENT_SESSIONS_SESSION_TOKEN)")
    add_required(pay, "--amount", type=c.amount, metavar="DOLLARS")
    pay.add_argument("--currency", default="USD")
    pay.add_argument("--merchant", dest="merchant_id")
    pay.add_argument("--description")
    pay.add_argument("--metadata", type=c.json_object, metavar="JSON")
    pay.add_argument("--idempotency-key", help="retry safely: the same key answers the first result again")
    check = _client_command(
        payment_tree,
        "check",
        "what a payment would get now (writes nothing)",
        limits.check_payment,
        limits.show_check,
        options,
    )
    check.add_argument("--token", help="the session token (else $AGENT_SESSIONS_SESSION_TOKEN)")
    add_required(check, "--amount", type=c.amount, metavar="DOLLARS")
    check.add_argument("--currency", default="USD")
    check.add_argument("--merchant", dest="merchant_id")
    add_payments_list_command(payment_tree, _client_command, c.show_payments, options)
    read = _client_command(payment_tree, "get", "show a payment", c.get_payment, c.show_payment, options)
    read.add_argument("payment_id", metavar="PAYMENT_ID")
    read.add_argument("--token", help="read with the session token instead of the API key")
    for verb, help_text in (
        ("approve", "approve a payment awaiting approval"),
        ("reject", "reject it, releasing its hold"),
    ):
        decide = _client_command(payment_tree, verb, help_text, c.decide_payment(verb), c.show_payment, options)
        decide.add_argument("payment_id", metavar="PAYMENT_ID")

    add_intent_commands(tree, _client_command, options)

    webhooks = tree.add_parser("webhooks", help="webhook endpoints (API key)", description="Webhooks.")
    webhook_tree = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="COMMAND")
    add = _client_command(
        webhook_tree, "add", "subscribe an endpoint; prints its secret once", c.add_webhook, c.show_webhook, options
    )
    add.add_argument("url_to_call", metavar="ENDPOINT_URL")
    add.add_argument("--event", action="append", help="only this event (repeat); all events by default")
    _client_command(webhook_tree, "list", "list endpoints", c.list_webhooks, c.show_webhooks, options)
    remove = _client_command(webhook_tree, "remove", "remove an endpoint", c.remove_webhook, c.show_removed, options)
    remove.add_argument("webhook_id", metavar="WEBHOOK_ID")

    _client_command(tree, "login", "save the API URL and key for later commands", c.login, c.show_login, options)

    _add_local_commands(tree)
    return parser


def _add_local_commands(tree: Any) -> None:
    """`local`, `openapi` and `keys create` come with the local runtime package, when it is installed."""
    try:
        from agent_sessions_local.commands import add_commands
    except ImportError:
        for name in ("local", "openapi", "keys"):
            missing = tree.add_parser(name, help="needs the agent-sessions-local package")
            missing.set_defaults(run=_needs_local_package)
        return
    add_commands(tree)


def _needs_local_package(args: argparse.Namespace) -> int:
    print(
        f"agent-sessions {args.command}: this command comes with the local runtime package; "
        "install it with `pip install -e local` from the repository (or run `make install`).",
        file=sys.stderr,
    )
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agent-sessions` command: an exit code and at most a line, never a traceback.

    0 done; 1 the API answered an error; 2 bad usage or a local failure (a message says which);
    130 interrupted (Ctrl-C). Output cut short by its reader (`| head`) ends quietly with 0.
    AGENT_SESSIONS_DEBUG=1 lets an unexpected error's traceback through.
    """
    _print_what_the_terminal_cannot_escaped()
    try:
        args = build_parser().parse_args(argv)
        result: int = args.run(args)
        sys.stdout.flush()
        return result
    except KeyboardInterrupt:
        print("agent-sessions: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as failure:
        if os.environ.get("AGENT_SESSIONS_DEBUG") == "1":
            raise
        print(f"agent-sessions: {type(failure).__name__}: {failure}".splitlines()[0], file=sys.stderr)
        return 2


def _print_what_the_terminal_cannot_escaped() -> None:
    """An agent id or wallet the output's encoding cannot show (an ASCII locale, say) prints as `\\xe9`
    instead of ending the command halfway through its output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """The reader went away: send what is left of stdout nowhere, so the exit flush cannot fail too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
