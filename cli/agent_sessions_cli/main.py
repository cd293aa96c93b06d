"""`agent-sessions`: the local runtime and the operator's commands."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from decimal import Decimal
from typing import Any

DEFAULT_TABLE = "agent-sessions-local"
DEFAULT_REGION = "us-east-1"


def _local_aws_defaults() -> None:
    """Credentials and region that the embedded DynamoDB accepts, unless the user set their own."""
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def ensure_table(client: Any, template: dict[str, Any], table_name: str) -> None:
    """Create the template's table (and its TTL) unless it exists already."""
    from agent_sessions_cli.template import table_definition, ttl_attribute

    existing = client.list_tables().get("TableNames", [])
    if table_name in existing:
        return
    client.create_table(**table_definition(template, table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    attribute = ttl_attribute(template)
    if attribute:
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )


def mint_dev_keys(store: Any, configured: str | None) -> list[str]:
    """The dev API keys: each configured one (its own account), or one freshly generated."""
    from agent_sessions.domain.credentials import derived_account_id, hash_secret, parse_bearer
    from agent_sessions.domain.records import utc_now
    from agent_sessions.logic import sessions

    if not configured:
        return [sessions.mint_api_key(store, utc_now(), label="dev").api_key]
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    for key in keys:
        presented = parse_bearer(f"Bearer {key}")
        if presented is None or presented.kind != "api_key":
            raise SystemExit(f"AGENT_SESSIONS_DEV_API_KEY: {key[:12]}… is not an API key (zfi_test_<32+ chars>)")
        # A stable account per dev key, so a restart against a kept table finds the same data.
        if store.find_account_for_api_key(hash_secret(key)) is None:
            store.put_api_key(hash_secret(key), derived_account_id(key), "dev", utc_now())
    return keys


def run_local(args: argparse.Namespace) -> int:
    """Serve the API on 127.0.0.1 with an embedded (or the given) DynamoDB until interrupted.

    Beside the API it runs what AWS would: the expiry schedule, the stream into publish_events,
    the bus and the delivery queue into deliver_webhooks, all against the embedded moto.
    """
    _local_aws_defaults()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", args.log_level)
    os.environ.setdefault("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "true")  # receivers on 127.0.0.1
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from agent_sessions_cli.embedded_dynamodb import start_embedded_dynamodb_process
    from agent_sessions_cli.local_runtime import function_environment, serve
    from agent_sessions_cli.local_workers import provision, start_workers
    from agent_sessions_cli.template import load_template

    # The embedded moto stands in for every AWS service; DynamoDB may be elsewhere.
    embedded = start_embedded_dynamodb_process()  # its own process: its own core
    os.environ["AWS_ENDPOINT_URL"] = embedded.endpoint_url
    endpoint = args.dynamodb_endpoint or embedded.endpoint_url
    if not args.dynamodb_endpoint:
        # It serves one request at a time: under a burst requests queue, so wait rather than retry.
        os.environ.setdefault("AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT", "120")
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = endpoint

    import boto3

    template = load_template()
    ensure_table(boto3.client("dynamodb"), template, args.table)
    resources = provision(template, args.table)
    refs = {"Table": args.table, "EventBus": resources.bus_name, "WebhookSecretsKey": resources.key_id}
    literal, referenced = function_environment(template, refs)
    for name, value in literal.items():
        os.environ.setdefault(name, value)
    os.environ.update(referenced)

    from agent_sessions.dal.dynamo import default_store

    keys = mint_dev_keys(default_store(), os.environ.get("AGENT_SESSIONS_DEV_API_KEY"))
    server = serve("127.0.0.1", args.port, template)
    workers = start_workers(template, args.table, resources, args.sweep_seconds)
    where = endpoint if args.dynamodb_endpoint else "embedded DynamoDB (moto, serialised)"
    print(f"agent-sessions listening on http://127.0.0.1:{server.server_port}  (table {args.table} on {where})")
    print(f"expiry sweep every {args.sweep_seconds:g} s; webhooks delivered from the local queue")
    for key in keys:
        print(f"API key: {key}")
    sys.stdout.flush()

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers:
            worker.stop()
        server.server_close()
        embedded.stop()
    return 0


def write_openapi(args: argparse.Namespace) -> int:
    """Write openapi.json from the handlers' routes, or with --check fail if it is out of date."""
    from agent_sessions_cli.openapi import OPENAPI_PATH, build_openapi

    document = build_openapi()
    current = OPENAPI_PATH.read_text() if OPENAPI_PATH.exists() else ""
    if args.check:
        if current != document:
            print("openapi.json is out of date: run `agent-sessions openapi` (or `make openapi`)", file=sys.stderr)
            return 1
        print("openapi.json matches the code.")
        return 0
    OPENAPI_PATH.write_text(document)
    print(f"wrote {OPENAPI_PATH}")
    return 0


def create_key(args: argparse.Namespace) -> int:
    """Mint an API key straight into the table, with the caller's AWS credentials."""
    import boto3

    from agent_sessions.dal.dynamo import DynamoStore
    from agent_sessions.domain.records import utc_now
    from agent_sessions.logic import sessions

    client = boto3.client("dynamodb", endpoint_url=args.endpoint_url) if args.endpoint_url else boto3.client("dynamodb")
    minted = sessions.mint_api_key(DynamoStore(client, args.table), utc_now(), args.account, args.label)
    print(f"API key: {minted.api_key}")
    print(f"Account: {minted.account_id}")
    print("Shown once: only its hash is stored.", file=sys.stderr)
    return 0


def _client_options() -> argparse.ArgumentParser:
    """Options every client command takes (after the command: `… sessions list --json`)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument("--url", help="API base URL (else $AGENT_SESSIONS_API_URL, the login config, or :3000)")
    group.add_argument("--api-key", help="API key (else $AGENT_SESSIONS_API_KEY or the login config)")
    group.add_argument("--json", action="store_true", help="print the API's JSON answer, for scripts")
    return options


def _client_command(
    parent: Any, name: str, help_text: str, command: Any, show: Any, options: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    from agent_sessions_cli.commands import run_client

    parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text, parents=[options])
    parser.set_defaults(run=lambda args: run_client(command, show, args))
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The command tree."""
    from agent_sessions_cli import commands as c

    parser = argparse.ArgumentParser(prog="agent-sessions", description="Spending sessions for AI agents.")
    tree = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    options = _client_options()

    agent = tree.add_parser("agent", help="agent sessions (API key)", description="Agent sessions.")
    agent_tree = agent.add_subparsers(dest="agent_command", required=True, metavar="COMMAND")
    sessions = agent_tree.add_parser("sessions", help="create, list, read and revoke sessions", description="Sessions.")
    session_tree = sessions.add_subparsers(dest="sessions_command", required=True, metavar="COMMAND")

    create = _client_command(
        session_tree, "create", "create a session; prints its token once", c.create_session, c.show_session, options
    )
    create.add_argument("--agent-id", required=True)
    create.add_argument("--wallet", required=True, help="the user's wallet (user_wallet)")
    create.add_argument("--duration", type=c.amount, default=Decimal(24), help="hours, up to 168 (default 24)")
    for limit in ("max-per-transaction", "max-per-day", "max-per-week", "max-per-month", "require-approval-above"):
        create.add_argument(f"--{limit}", type=c.amount, metavar="DOLLARS")
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

    revoke = _client_command(session_tree, "revoke", "end a session at once", c.revoke_session, c.show_revoked, options)
    revoke.add_argument("session_id", metavar="SESSION_ID")

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
    pay.add_argument("--amount", type=c.amount, required=True, metavar="DOLLARS")
    pay.add_argument("--currency", default="USD")
    pay.add_argument("--merchant", dest="merchant_id")
    pay.add_argument("--description")
    pay.add_argument("--metadata", type=c.json_object, metavar="JSON")
    pay.add_argument("--idempotency-key", help="retry safely: the same key answers the first result again")
    read = _client_command(payment_tree, "get", "show a payment", c.get_payment, c.show_payment, options)
    read.add_argument("payment_id", metavar="PAYMENT_ID")
    read.add_argument("--token", help="read with the session token instead of the API key")
    for verb, help_text in (
        ("approve", "approve a payment awaiting approval"),
        ("reject", "reject it, releasing its hold"),
    ):
        decide = _client_command(payment_tree, verb, help_text, c.decide_payment(verb), c.show_payment, options)
        decide.add_argument("payment_id", metavar="PAYMENT_ID")

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

    keys = tree.add_parser("keys", help="API keys (operator commands, with AWS credentials)", description="API keys.")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create_key_parser = key_commands.add_parser(
        "create", help="mint an API key into the table", description="Mint an API key straight into the table."
    )
    create_key_parser.add_argument("--table", required=True, help="the deployment's table (stack output TableName)")
    create_key_parser.add_argument("--account", help="add the key to this account instead of a new one")
    create_key_parser.add_argument("--label", default="", help="a note stored beside the key's hash")
    create_key_parser.add_argument("--endpoint-url", help="DynamoDB endpoint, for a local table")
    create_key_parser.set_defaults(run=create_key)

    openapi = tree.add_parser(
        "openapi", help="write openapi.json from the handlers", description="Generate the OpenAPI 3.1 document."
    )
    openapi.add_argument("--check", action="store_true", help="exit 1 if openapi.json differs from the code")
    openapi.set_defaults(run=write_openapi)

    local = tree.add_parser(
        "local",
        help="serve the API on 127.0.0.1 with an embedded DynamoDB",
        description="The local runtime (what `make run` starts).",
    )
    local.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    local.add_argument("--table", default=DEFAULT_TABLE, help="table name (default %(default)s)")
    local.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("AGENT_SESSIONS_DYNAMODB_ENDPOINT"),
        help="use this DynamoDB endpoint (DynamoDB Local, AWS) instead of the embedded one",
    )
    local.add_argument("--log-level", default="WARNING", help="handlers' log level (default %(default)s)")
    local.add_argument(
        "--sweep-seconds", type=float, default=60.0, help="how often the expiry sweep runs (default %(default)s)"
    )
    local.set_defaults(run=run_local)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agent-sessions` command."""
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
