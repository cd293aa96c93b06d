"""GET /api/v1/webhooks: the API key's endpoints, newest first (secrets never shown)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import sessions, webhooks
from agent_sessions.wire.answers import WebhookListOut
from agent_sessions.wire.views import webhook_body

require_settings("webhook_key_id")  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.get("/api/v1/webhooks", responses=responses(200, WebhookListOut, "The account's endpoints."))
def list_webhooks():
    caller = sessions.require_api_key(caller_of(app))
    found = webhooks.list_webhooks(default_store(), caller)
    metrics.add_metric(name="WebhooksListed", unit=MetricUnit.Count, value=1)
    return json_response(200, {"webhooks": [webhook_body(webhook) for webhook in found]})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
