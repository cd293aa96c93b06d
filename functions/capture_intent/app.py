"""POST /api/v1/payment-intents/{id}/capture: a manual intent's hold becomes spend (all of it, or part)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses_with_errors,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import intents, sessions
from agent_sessions.wire.answers import IntentOut
from agent_sessions.wire.models import INTENT_ID_PATTERN, CaptureIntentRequest
from agent_sessions.wire.views import intent_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/payment-intents/<intent_id>/capture",
    responses=responses_with_errors(200, IntentOut, "The intent, succeeded.", (409,)),
)
def capture_intent(
    intent_id: Annotated[str, Path(pattern=INTENT_ID_PATTERN)],
    body: CaptureIntentRequest | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
):
    caller = sessions.require_api_key(caller_of(app))
    amount = body.amount_to_capture if body is not None else None
    answer = intents.capture_intent(default_store(), caller, intent_id, amount, utc_now(), idempotency_key)
    metrics.add_metric(name="IntentCaptured", unit=MetricUnit.Count, value=1)
    logger.info("intent captured", extra={"intent_id": intent_id})
    return json_response(200, intent_body(answer.intent, answer.status, answer.payment, None))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
