"""POST /api/v1/webhooks: subscribe an endpoint; its signing secret is shown once, stored sealed."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from agent_sessions.dal.dynamo import default_store
from agent_sessions.domain.idempotency import checked_idempotency_key
from agent_sessions.domain.records import utc_now
from agent_sessions.http.resolver import (
    RESOLVER_OPTIONS,
    IdempotencyKeyHeader,
    answer_errors_per_contract,
    caller_of,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.secret_box import default_secret_box
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import sessions, webhooks
from agent_sessions.wire.answers import WebhookOut
from agent_sessions.wire.models import CreateWebhookRequest
from agent_sessions.wire.views import webhook_body

require_settings("webhook_key_id")  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post("/api/v1/webhooks", responses=responses(201, WebhookOut, "The endpoint, with its secret (shown once)."))
def create_webhook(body: CreateWebhookRequest, idempotency_key: IdempotencyKeyHeader = None):
    caller = sessions.require_api_key(caller_of(app))
    created = webhooks.create_webhook(
        default_store(), default_secret_box(), caller, body, utc_now(), checked_idempotency_key(idempotency_key)
    )
    metrics.add_metric(name="WebhookReplayed" if created.replayed else "WebhookCreated", unit=MetricUnit.Count, value=1)
    logger.info(
        "webhook created",
        extra={"webhook_id": created.webhook.id, "account_id": caller.account_id, "replayed": created.replayed},
    )
    return json_response(201, webhook_body(created.webhook, created.secret))


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
