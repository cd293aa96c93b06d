"""Events from the bus, through an SQS queue -> signed POSTs to each subscribed endpoint.

A message whose delivery failed somewhere is reported as a batch item failure and made visible
again after an exponential backoff (30 s doubling, at most 12 h), so 17 attempts span about three
days before the queue's redrive policy moves it to the dead-letter queue. Endpoints already
reached are skipped on a retry; the event keeps its id.
"""

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.infra.observability import logger, metrics, tracer
from agent_sessions.infra.secret_box import default_secret_box
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import webhooks

require_settings("webhook_key_id")  # a missing or invalid variable stops the function at init

FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 12 * 3600  # SQS's longest visibility timeout
_sender = webhooks.HttpSender()


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


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        try:
            webhook_event = json.loads(record["body"])["detail"]
            result = webhooks.deliver_event(default_store(), default_secret_box(), _sender, webhook_event, utc_now())
        except Exception:
            logger.exception("delivery failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=result.delivered)
        if result.disabled:
            metrics.add_metric(name="WebhooksDisabled", unit=MetricUnit.Count, value=result.disabled)
        if result.failing:
            logger.warning("endpoint failing; retrying later", extra={"event_id": webhook_event.get("id")})
            failures.append({"itemIdentifier": record["messageId"]})
            try:
                _retry_later(record)
            except Exception:
                logger.exception("could not set the backoff; the queue's visibility timeout applies")
    return {"batchItemFailures": failures}
