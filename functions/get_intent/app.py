"""GET /api/v1/payment-intents/{id}: an intent and the status its payment gives it now."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    answer_errors_per_contract,
    bearer_secret,
    caller_of,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import intents, sessions
from agent_sessions.wire.answers import IntentOut
from agent_sessions.wire.models import INTENT_ID_PATTERN
from agent_sessions.wire.views import intent_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get("/api/v1/payment-intents/<intent_id>", responses=responses(200, IntentOut, "The intent."))
def get_intent(intent_id: Annotated[str, Path(pattern=INTENT_ID_PATTERN)]):
    caller = sessions.require_api_key(caller_of(app))
    answer = intents.get_intent(default_store(), caller, intent_id, bearer_secret(app), utc_now())
    metrics.add_metric(name="IntentRead", unit=MetricUnit.Count, value=1)
    return json_response(200, intent_body(answer.intent, answer.status, answer.payment, answer.client_secret))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
