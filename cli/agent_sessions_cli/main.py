"""`agent-sessions`: the local runtime and the operator's commands."""

from __future__ import annotations

import argparse
import os
import signal
import sys
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
    from agent_sessions import service
    from agent_sessions.credentials import derived_account_id, hash_secret, parse_bearer
    from agent_sessions.records import utc_now

    if not configured:
        return [service.mint_api_key(store, utc_now(), label="dev").api_key]
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
    """Serve the API on 127.0.0.1 with an embedded (or the given) DynamoDB until interrupted."""
    _local_aws_defaults()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", args.log_level)

    from agent_sessions_cli.embedded_dynamodb import start_embedded_dynamodb_process
    from agent_sessions_cli.local_runtime import function_environment, serve
    from agent_sessions_cli.template import load_template

    embedded = None
    endpoint = args.dynamodb_endpoint
    if not endpoint:
        embedded = start_embedded_dynamodb_process()  # its own process: its own core
        endpoint = embedded.endpoint_url
        # It serves one request at a time: under a burst requests queue, so wait rather than retry.
        os.environ.setdefault("AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT", "120")
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint

    template = load_template()
    for name, value in function_environment(template, args.table).items():
        os.environ.setdefault(name, value)
    os.environ["TABLE_NAME"] = args.table

    import boto3

    from agent_sessions.store import default_store

    ensure_table(boto3.client("dynamodb"), template, args.table)
    keys = mint_dev_keys(default_store(), os.environ.get("AGENT_SESSIONS_DEV_API_KEY"))
    server = serve("127.0.0.1", args.port, template)
    where = "embedded DynamoDB (moto, serialised)" if embedded else endpoint
    print(f"agent-sessions listening on http://127.0.0.1:{server.server_port}  (table {args.table} on {where})")
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
        server.server_close()
        if embedded:
            embedded.stop()
    return 0


def create_key(args: argparse.Namespace) -> int:
    """Mint an API key straight into the table, with the caller's AWS credentials."""
    import boto3

    from agent_sessions import service
    from agent_sessions.records import utc_now
    from agent_sessions.store import DynamoSessionStore

    client = boto3.client("dynamodb", endpoint_url=args.endpoint_url) if args.endpoint_url else boto3.client("dynamodb")
    minted = service.mint_api_key(DynamoSessionStore(client, args.table), utc_now(), args.account, args.label)
    print(f"API key: {minted.api_key}")
    print(f"Account: {minted.account_id}")
    print("Shown once: only its hash is stored.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command tree."""
    parser = argparse.ArgumentParser(prog="agent-sessions", description="Spending sessions for AI agents.")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="serve the API on 127.0.0.1 with an embedded DynamoDB")
    local.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    local.add_argument("--table", default=DEFAULT_TABLE, help="table name (default %(default)s)")
    local.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("AGENT_SESSIONS_DYNAMODB_ENDPOINT"),
        help="use this DynamoDB endpoint (DynamoDB Local, AWS) instead of the embedded one",
    )
    local.add_argument("--log-level", default="WARNING", help="handlers' log level (default %(default)s)")
    local.set_defaults(run=run_local)

    keys = commands.add_parser("keys", help="API keys (operator commands)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="mint an API key into the table")
    create.add_argument("--table", required=True, help="the deployment's table (stack output TableName)")
    create.add_argument("--account", help="add the key to this account instead of a new one")
    create.add_argument("--label", default="", help="a note stored beside the key's hash")
    create.add_argument("--endpoint-url", help="DynamoDB endpoint, for a local table")
    create.set_defaults(run=create_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agent-sessions` command."""
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
