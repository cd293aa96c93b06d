"""The table's stream -> the contract's events on the custom EventBridge bus (the outbox).

Reports partial batch failures: Lambda retries the batch from the first change not published,
so nothing is skipped; a change that keeps failing goes to the on-failure destination after
the template's bounded retries.
"""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.dal.images import record_from_image
from agent_sessions.infra.event_bus import default_bus
from agent_sessions.infra.observability import logger, metrics, metrics_flushed, tracer
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import analytics, decision_log, outbox, settlement, window_alerts

require_settings("event_bus_name")  # a missing or invalid variable stops the function at init


def change_of(record: dict[str, Any]) -> outbox.Change:
    """One DynamoDB stream record as a Change."""
    stream = record["dynamodb"]
    at = datetime.fromtimestamp(int(float(stream.get("ApproximateCreationDateTime", 0))), UTC)
    return outbox.Change(
        change_id=record["eventID"],
        old=record_from_image(stream.get("OldImage")),
        new=record_from_image(stream.get("NewImage")),
        at=at,
    )


@logger.inject_lambda_context
@metrics_flushed
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    changes = [change_of(record) for record in records]
    try:
        settlement.settle_decisions(default_store(), changes)  # decisions made by a write to the session alone
        payments = default_store().get_payments(outbox.payments_named(changes))
        decision_log.record(default_store(), changes, payments.get)  # each decision, chained, once
        analytics.tally(default_store(), changes, payments.get)  # the per-day counters, each decision once
        for change in changes:  # warnings and resumptions the writes call for (themselves writes, announced later)
            window_alerts.follow_up(default_store(), change)
        done = outbox.publish_changes(changes, default_bus(), payments.get)
    except Exception:
        logger.exception("publishing failed; the whole batch will be retried")
        done = 0
    metrics.add_metric(name="ChangesPublished", unit=MetricUnit.Count, value=done)
    if done < len(records):
        failed = records[done]["dynamodb"]["SequenceNumber"]
        logger.warning("partial batch", extra={"published": done, "of": len(records), "retry_from": failed})
        return {"batchItemFailures": [{"itemIdentifier": failed}]}
    return {"batchItemFailures": []}
