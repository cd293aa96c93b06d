"""POST /api/v1/payment-intents: an intent to pay an amount later from a session (secret shown to its creator)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    answer_errors_per_contract,
    bearer_secret,
    caller_of,
    idempotent_creation,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import intents, sessions
from agent_sessions.wire.answers import IntentOut
from agent_sessions.wire.models import CreateIntentRequest
from agent_sessions.wire.views import intent_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post("/api/v1/payment-intents", responses=responses(201, IntentOut, "The intent, awaiting payment."))
def create_intent(body: CreateIntentRequest, idempotency_key: IdempotencyKeyHeader = None):
    caller = sessions.require_api_key(caller_of(app))
    idempotency = idempotent_creation(app, idempotency_key)
    answer = intents.create_intent(default_store(), caller, body, bearer_secret(app), utc_now(), idempotency)
    metrics.add_metric(name="IntentReplayed" if answer.replayed else "IntentCreated", unit=MetricUnit.Count, value=1)
    logger.info("intent created", extra={"intent_id": answer.intent.id, "replayed": answer.replayed})
    return json_response(201, intent_body(answer.intent, answer.status, answer.payment, answer.client_secret))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
