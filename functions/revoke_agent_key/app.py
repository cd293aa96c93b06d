"""POST /api/v1/agent-keys/{id}/revoke: the key stops working on its next request, cached or not."""

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
from agent_sessions.logic import agent_keys, sessions
from agent_sessions.wire.answers import AgentKeyRevokedOut
from agent_sessions.wire.models import AGENT_KEY_ID_PATTERN
from agent_sessions.wire.views import agent_key_body

require_settings()  # a missing or invalid variable stops the function at init

app = APIGatewayHttpResolver(**RESOLVER_OPTIONS)
answer_errors_per_contract(app)


@app.post(
    "/api/v1/agent-keys/<key_id>/revoke",
    responses=responses(200, AgentKeyRevokedOut, "The key, revoked (revoking again changes nothing)."),
)
def revoke_agent_key(key_id: Annotated[str, Path(pattern=AGENT_KEY_ID_PATTERN)]):
    caller = sessions.require_api_key(caller_of(app))
    revoked = agent_keys.revoke_agent_key(default_store(), caller, key_id, utc_now())
    metrics.add_metric(name="AgentKeyRevoked", unit=MetricUnit.Count, value=1)
    logger.info("agent key revoked", extra={"key_id": key_id, "account_id": caller.account_id})
    return json_response(200, {"success": True, "key": agent_key_body(revoked)})


@observed_http_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_json(app, event, context)
