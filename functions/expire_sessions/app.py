"""Scheduled every minute: expire sessions, lapse holds past their deadline, resume paused sessions after a reset."""

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.infra.observability import logger, metrics, metrics_flushed, tracer
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import expiry

require_settings()  # a missing or invalid variable stops the function at init


@logger.inject_lambda_context
@metrics_flushed
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = expiry.sweep(default_store(), utc_now())
    metrics.add_metric(name="SessionsExpired", unit=MetricUnit.Count, value=result.sessions_expired)
    metrics.add_metric(name="HoldsLapsed", unit=MetricUnit.Count, value=result.holds_lapsed)
    metrics.add_metric(name="SessionsResumed", unit=MetricUnit.Count, value=result.sessions_resumed)
    metrics.add_metric(name="DecisionsSettled", unit=MetricUnit.Count, value=result.decisions_settled)
    logger.info("sweep done", extra={"schedule_time": event.get("time"), **asdict(result)})
    return {
        "items_due": result.items_due,
        "sessions_expired": result.sessions_expired,
        "holds_lapsed": result.holds_lapsed,
        "sessions_resumed": result.sessions_resumed,
        "decisions_settled": result.decisions_settled,
    }
