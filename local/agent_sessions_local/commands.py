"""The commands this package adds to `agent-sessions`: `local`, `openapi` and `keys create`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
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
    """Create the template's table (and its TTL) unless it exists already (asked by name: a listing
    holds 100 names a page). A DynamoDB without streams (dynalite) cannot run this service: said in one line."""
    from agent_sessions_local.template import table_definition, ttl_attribute

    try:
        table, created = client.describe_table(TableName=table_name)["Table"], False
    except client.exceptions.ResourceNotFoundException:
        table, created = client.create_table(**table_definition(template, table_name))["TableDescription"], True
        client.get_waiter("table_exists").wait(TableName=table_name)
    if "LatestStreamArn" not in table:
        raise SystemExit(
            f"table {table_name} has no stream (events leave through it): this DynamoDB cannot run the service "
            "(dynalite has no streams or transactions); use the embedded one, DynamoDB Local or AWS"
        )
    attribute = ttl_attribute(template)
    if created and attribute:
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )


def mint_dev_keys(store: Any, configured: str | None) -> list[str]:
    """The dev API keys: each configured one, or the project's own (dev_key), each its own account."""
    from agent_sessions.domain.credentials import derived_account_id, hash_secret, parse_bearer
    from agent_sessions.domain.records import utc_now
    from agent_sessions_local.dev_key import stable_dev_key

    keys = [key.strip() for key in (configured or stable_dev_key()).split(",") if key.strip()]
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
    _local_settings(args.log_level)

    import boto3

    from agent_sessions_local import data_dir
    from agent_sessions_local.gateway import serve
    from agent_sessions_local.instances import kill_leftover_instances
    from agent_sessions_local.template import load_template
    from agent_sessions_local.workers import make_workers

    embedded, endpoint = _embedded_aws(args.dynamodb_endpoint)
    template = load_template()
    ensure_table(boto3.client("dynamodb"), template, args.table)
    resources, restored = _resources(template, args)
    if args.data_dir and not args.dynamodb_endpoint:
        embedded.journal_to(args.table, args.data_dir / data_dir.TABLE_FILE)  # every write kept from now on

    from agent_sessions.dal.dynamo import default_store

    keys = mint_dev_keys(default_store(), os.environ.get("AGENT_SESSIONS_DEV_API_KEY"))
    workers = make_workers(template, args.table, resources, args.sweep_seconds, stream_after_existing=bool(restored))
    server, gateway = serve("127.0.0.1", args.port, template)
    warming = time.monotonic()
    gateway.warm()
    logging.getLogger("agent_sessions_local").info("functions warm in %.1f s", time.monotonic() - warming)
    for worker in workers:
        worker.start()
    snapshots = None
    if args.data_dir and args.dynamodb_endpoint:  # a DynamoDB of the user's: its table written whole now and then
        snapshots = data_dir.Snapshots(boto3.client("dynamodb"), args.table, args.data_dir)
    where = endpoint if args.dynamodb_endpoint else "embedded DynamoDB (moto, serialised)"
    _announce(f"http://127.0.0.1:{server.server_port}", where, args, restored, keys)

    def _stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started with SIGINT ignored (a background job)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers:
            worker.stop()
        if snapshots is not None:
            snapshots.stop()  # the last snapshot, before the embedded DynamoDB goes
        server.server_close()
        gateway.stop()
        embedded.stop()
        kill_leftover_instances()
    return 0


def _local_settings(log_level: str) -> None:
    _local_aws_defaults()
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", log_level)
    os.environ.setdefault("AGENT_SESSIONS_ALLOW_LOCAL_WEBHOOKS", "true")  # receivers on 127.0.0.1
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("agent_sessions_local").setLevel(logging.INFO)  # each request and each worker failure


def _embedded_aws(dynamodb_endpoint: str | None) -> tuple[Any, str]:
    """The embedded moto standing in for every AWS service (DynamoDB may be elsewhere), and DynamoDB's endpoint."""
    from agent_sessions_local.embedded_dynamodb import start_embedded_dynamodb_process

    embedded = start_embedded_dynamodb_process()  # its own process: its own core
    os.environ["AWS_ENDPOINT_URL"] = embedded.endpoint_url
    endpoint = dynamodb_endpoint or embedded.endpoint_url
    if not dynamodb_endpoint:
        # It serves one request at a time: under a burst requests queue, so wait rather than retry.
        os.environ.setdefault("AGENT_SESSIONS_DYNAMODB_READ_TIMEOUT", "120")
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = endpoint
    return embedded, endpoint


def _resources(template: dict[str, Any], args: argparse.Namespace) -> tuple[Any, int | None]:
    """The bus, queue and key the functions use (their environment set), and how many items were restored."""
    import boto3

    from agent_sessions_local import data_dir
    from agent_sessions_local.gateway import function_environment
    from agent_sessions_local.workers import provision

    resources = provision(template, args.table)
    refs = {
        "Table": args.table,
        "EventBus": resources.bus_name,
        "WebhookSecretsKey": resources.key_id,
        "DeliveryDeadLetterQueue": resources.dead_letter_queue_url,
    }
    restored = None
    if args.data_dir:
        refs["WebhookSecretsKey"] = data_dir.prepare(args.data_dir)
        restored = data_dir.restore(boto3.client("dynamodb"), args.table, args.data_dir)
    literal, referenced = function_environment(template, refs)
    for name, value in literal.items():
        os.environ.setdefault(name, value)
    os.environ.update(referenced)
    return resources, restored


def _announce(url: str, where: str, args: argparse.Namespace, restored: int | None, keys: list[str]) -> None:
    print(f"agent-sessions listening on {url}  (table {args.table} on {where})")
    print(f"Console: {url}/console  (sign in with the dev key printed below)")
    print(f"API docs: {url}/docs  (the OpenAPI document: {url}/openapi.json)")
    print(f"expiry sweep every {args.sweep_seconds:g} s; webhooks delivered from the local queue")
    if args.data_dir:
        print(f"data kept in {args.data_dir} ({restored} items restored)")
    for key in keys:
        print(f"API key: {key}")
    sys.stdout.flush()


def write_openapi(args: argparse.Namespace) -> int:
    """Write openapi.json and docs/api.md from the handlers, or with --check fail if either is out of date."""
    import json

    from agent_sessions_local.api_reference import API_REFERENCE_PATH, build_api_reference
    from agent_sessions_local.openapi import OPENAPI_PATH, build_openapi

    document = build_openapi()
    wanted = {OPENAPI_PATH: document, API_REFERENCE_PATH: build_api_reference(json.loads(document))}
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.name} is out of date: run `agent-sessions openapi` (or `make openapi`)", file=sys.stderr)
        if not stale:
            print("openapi.json and docs/api.md match the code.")
        return 1 if stale else 0
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    return 0


def create_key(args: argparse.Namespace) -> int:
    """Mint an API key straight into the table, with the caller's AWS credentials."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from agent_sessions.dal.dynamo import DynamoStore
    from agent_sessions.domain.records import utc_now
    from agent_sessions.logic import sessions

    try:
        client = (
            boto3.client("dynamodb", endpoint_url=args.endpoint_url) if args.endpoint_url else boto3.client("dynamodb")
        )
        minted = sessions.mint_api_key(DynamoStore(client, args.table), utc_now(), args.account, args.label)
    except (BotoCoreError, ClientError) as failure:
        print(f"keys create: {_aws_reason(failure)}", file=sys.stderr)
        return 2
    print(f"API key: {minted.api_key}")
    print(f"Account: {minted.account_id}")
    print("Shown once: only its hash is stored.", file=sys.stderr)
    return 0


def _aws_reason(failure: Exception) -> str:
    """One line saying what AWS needs: a region, credentials, an existing table, a reachable endpoint."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    if isinstance(failure, NoRegionError):
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or configure a profile"
    if isinstance(failure, NoCredentialsError):
        return "no AWS credentials: configure a profile or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(failure, ClientError):
        error = failure.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            return "no such table: pass the deployment's TableName (a stack output) with --table"
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return str(failure).splitlines()[0]


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 to 65535 (0: any free one). `--port 99999` served on 34463."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return int(digits)


def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 10**6:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (more than 0)")
    return value


def add_commands(tree: Any) -> None:
    """Add `keys create`, `openapi` and `local` to the command tree."""
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
    local.add_argument("--port", type=port_number, default=os.environ.get("PORT", "3000"), help="0 picks a free one")
    local.add_argument("--table", default=DEFAULT_TABLE, help="table name (default %(default)s)")
    local.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("AGENT_SESSIONS_DYNAMODB_ENDPOINT"),
        help="use this DynamoDB endpoint (DynamoDB Local, AWS) instead of the embedded one",
    )
    local.add_argument("--log-level", default="WARNING", help="handlers' log level (default %(default)s)")
    local.add_argument(
        "--sweep-seconds", type=seconds, default=60.0, help="how often the expiry sweep runs (default %(default)s)"
    )
    local.add_argument(
        "--data-dir",
        type=Path,
        default=os.environ.get("AGENT_SESSIONS_DATA_DIR") or None,
        help="keep the data here across restarts (every answered write, before its answer); default: none",
    )
    local.set_defaults(run=run_local)
