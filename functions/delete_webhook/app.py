"""DELETE /api/v1/webhooks/{id}: stop sending events to an endpoint."""

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
    caller_of,
    json_response,
    resolve_json,
    responses,
)
from agent_sessions.infra.observability import logger, metrics, observed_http_handler
from agent_sessions.infra.settings import require_settings
from agent_sessions.logic import sessions, webhooks
from agent_sessions.wire.answers import DeletedOut
from agent_sessions.wire.models import WEBHOOK_ID_PATTERN

require_settings("webhook_key_id")  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.delete("/api/v1/webhooks/<webhook_id>", responses=responses(200, DeletedOut, "The endpoint is gone."))
def delete_webhook(webhook_id: Annotated[str, Path(pattern=WEBHOOK_ID_PATTERN)]):
    caller = sessions.require_api_key(caller_of(app))
    webhooks.delete_webhook(default_store(), caller, webhook_id, utc_now())
    metrics.add_metric(name="WebhookDeleted", unit=MetricUnit.Count, value=1)
    logger.info("webhook deleted", extra={"webhook_id": webhook_id, "account_id": caller.account_id})
    return json_response(200, {"success": True, "id": webhook_id})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
