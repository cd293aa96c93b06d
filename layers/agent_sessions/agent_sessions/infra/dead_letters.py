"""How many events wait in the webhook deliveries' dead-letter queue (SQS's approximate count)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agent_sessions.infra.observability import logger


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def dead_letter_count(queue_url: str | None) -> int | None:
    """The approximate number of messages in the queue; None when unknown (no queue, or no answer)."""
    if not queue_url:
        return None
    try:
        attributes = _sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    except Exception:
        logger.warning("could not read the dead-letter queue's count")
        return None
