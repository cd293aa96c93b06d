"""What every benchmark shares: the environment (set before anything imports the layer), prices, helpers."""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "TABLE_NAME": "agent-sessions-bench",
        "EVENT_BUS_NAME": "agent-sessions-bench-events",
        "WEBHOOK_KEY_ID": "alias/agent-sessions-bench",
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

TABLE = "agent-sessions-bench"
MEMORY_MB = 512
# AWS on-demand prices, us-east-1 (listed in the README).
PRICE_LAMBDA_ARM_GB_SECOND = Decimal("0.0000133334")
PRICE_LAMBDA_REQUEST = Decimal("0.20") / 1_000_000
PRICE_HTTP_API_REQUEST = Decimal("1.00") / 1_000_000
PRICE_WRU = Decimal("0.625") / 1_000_000
PRICE_RRU = Decimal("0.125") / 1_000_000


# ---- shared helpers ---------------------------------------------------------------------------


@contextmanager
def moto_table(stream: bool = False) -> Iterator[Any]:
    """An in-process moto table shaped by template.yaml (without its stream unless asked)."""
    import boto3
    from moto import mock_aws

    from agent_sessions.dal import dynamo
    from agent_sessions.infra import settings
    from agent_sessions_local.template import load_template, table_definition

    with mock_aws():
        dynamo.default_store.cache_clear()
        settings.load_settings.cache_clear()
        client = boto3.client("dynamodb")
        definition = table_definition(load_template(), TABLE)
        if not stream:
            definition.pop("StreamSpecification", None)
        client.create_table(**definition)
        yield client
    dynamo.default_store.cache_clear()


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class RequestLog:
    """The DynamoDB operations a client sends, with the items each write leaves behind."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", self._record)

    def _record(self, model: Any, **kwargs: Any) -> None:
        self.calls.append(model.name)


def billed_bytes(client: Any, pk: str) -> int:
    from agent_sessions_local.item_size import item_bytes

    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return item_bytes(item) if item else 0


def wru(size: int, transactional: bool = False) -> int:
    from agent_sessions_local.item_size import write_units

    return write_units(size, transactional)


def open_session(store: Any, created_at: datetime, **limits: Any) -> tuple[Any, Any]:
    from agent_sessions.domain.records import Caller
    from agent_sessions.logic import sessions as service
    from agent_sessions.wire.models import CreateSessionRequest

    owner = Caller(kind="api_key", account_id="acct_benchbenchbenchbench0000")
    request = CreateSessionRequest.model_validate(
        {"agent_id": "bench", "user_wallet": "w", "duration_hours": 168, "limits": limits}
    )
    created = service.create_session(store, owner, request, created_at)
    caller = service.authenticate(store, f"Bearer {created.session_token}")
    return created, caller


ROOMY_LIMITS = {"max_per_transaction": 1000, "max_per_day": 10_000_000, "max_per_week": 10_000_000,
                "max_per_month": 10_000_000, "require_approval_above": 1000}  # fmt: skip


@contextmanager
def captured_transactions(client: Any) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every TransactWriteItems `client` sends inside the block (copies, in order).

    The hook that copies them is gone after the block, so nothing timed later pays for the copying.
    """
    import copy

    sent: list[dict[str, Any]] = []
    event = "before-parameter-build.dynamodb.TransactWriteItems"
    client.meta.events.register(
        event, lambda params, **kwargs: sent.append(copy.deepcopy(params)), unique_id="bench-capture"
    )
    try:
        yield sent
    finally:
        client.meta.events.unregister(event, unique_id="bench-capture")


def unpinned(transaction: dict[str, Any]) -> dict[str, Any]:
    """A payment's TransactWriteItems without its version pin (as an unpinned payment sends it)."""
    import copy

    request = copy.deepcopy(transaction)
    update = request["TransactItems"][0]["Update"]
    update["ExpressionAttributeValues"].pop(":version", None)
    update["ConditionExpression"] = update["ConditionExpression"].replace(" AND version = :version", "")
    return request


def payment_handler_on_a_roomy_session(body: dict[str, Any]) -> tuple[Any, dict[str, Any], Any, Any]:
    """create_payment's handler, its events/ file paying `body` on a new roomy session (the authorizer's
    context given, no Idempotency-Key), a Lambda context, and the session made. Inside moto_table()."""
    import json

    from agent_sessions.dal import dynamo
    from agent_sessions.http.caller_context import authorizer_context
    from agent_sessions_local.handlers import load_event, load_handler_module
    from agent_sessions_local.instances import LocalLambdaContext

    created, caller = open_session(dynamo.default_store(), datetime.now(UTC), **ROOMY_LIMITS)
    event = load_event("create_payment")
    event["headers"].pop("idempotency-key")
    event["headers"]["authorization"] = f"Bearer {created.session_token}"
    event["body"] = json.dumps(body)
    event["requestContext"]["authorizer"] = {"lambda": authorizer_context(caller)}
    handler = load_handler_module("create_payment").lambda_handler
    return handler, event, LocalLambdaContext(function_name="CreatePaymentFunction"), created
