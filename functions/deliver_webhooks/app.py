"""Events from the bus, through an SQS queue -> signed POSTs to each subscribed endpoint.

A message whose delivery failed somewhere is reported as a batch item failure and made visible
again after an exponential backoff (30 s doubling, at most 12 h), so 17 attempts span about three
days before the queue's redrive policy moves it to the dead-letter queue. Endpoints already
reached are skipped on a retry; the event keeps its id.
"""

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.infra.http_sender import HttpSender
from agent_sessions.infra.observability import logger, metrics, metrics_flushed, tracer
from agent_sessions.infra.secret_box import default_secret_box
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import webhooks

require_settings("webhook_key_id")  # a missing or invalid variable stops the function at init

FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 12 * 3600  # SQS's longest visibility timeout
_sender = HttpSender()


def backoff_seconds(receive_count: int) -> int:
    """How long a message waits before its next attempt: 30 s, 60 s, 120 s, … up to 12 h."""
    return int(min(FIRST_BACKOFF_SECONDS * 2 ** max(0, receive_count - 1), MAX_BACKOFF_SECONDS))


@lru_cache(maxsize=4)
def _queue(queue_arn: str) -> tuple[Any, str]:
    """The SQS client and URL of a queue, looked up once per instance."""
    import boto3

    _, _, _, region, account, name = queue_arn.split(":", 5)
    sqs = boto3.client("sqs", region_name=region)
    return sqs, sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _retry_later(record: dict[str, Any]) -> None:
    sqs, queue_url = _queue(record["eventSourceARN"])
    receive_count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=backoff_seconds(receive_count)
    )


def _event_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The webhook event a queue message carries (amounts exact, as Decimals); None when unreadable."""
    try:
        event = json.loads(record["body"], parse_float=Decimal)["detail"]
        if isinstance(event, dict) and {"id", "event", "merchant_id"} <= event.keys():
            return event
    except (ValueError, KeyError, TypeError):
        pass
    logger.error("unreadable message", extra={"message_id": record.get("messageId")})
    return None


@logger.inject_lambda_context
@metrics_flushed
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    try:
        failed = _deliver(records)
    except Exception:
        logger.exception("delivery failed; the whole batch will be tried again")
        failed = records
    for record in failed:
        _retry_later_quietly(record)
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in failed]}


def _deliver(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deliver every readable message's event; the messages that must come back (unreadable or failing)."""
    events = [_event_of(record) for record in records]
    readable = [(record, found) for record, found in zip(records, events, strict=True) if found is not None]
    results = webhooks.deliver_events(
        default_store(), default_secret_box(), _sender, [found for _, found in readable], utc_now()
    )
    failing = {id(record) for (record, _), result in zip(readable, results, strict=True) if _reported(result)}
    return [record for record, found in zip(records, events, strict=True) if found is None or id(record) in failing]


def _reported(result: webhooks.DeliveryResult) -> bool:
    """Count and log what happened to one event; True when some endpoint still has to get it."""
    metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=result.delivered)
    if result.disabled:
        metrics.add_metric(name="WebhooksDisabled", unit=MetricUnit.Count, value=result.disabled)
    for webhook_id, reason in result.failures:
        logger.warning("endpoint failing; retrying later", extra={"webhook_id": webhook_id, "reason": reason})
    return result.failing > 0


def _retry_later_quietly(record: dict[str, Any]) -> None:
    try:
        _retry_later(record)
    except Exception:
        logger.exception("could not set the backoff; the queue's visibility timeout applies")
